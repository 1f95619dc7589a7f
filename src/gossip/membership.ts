// The membership service: wires the pure member table to the p2p host. It publishes heartbeats,
// feeds received ones (and connection events and the clock) to the table, answers and performs
// joins, and keeps this node connected to every live member it knows.
import type { Logger } from 'pino'
import type { P2PHost } from '../p2p/host.js'
import { MEMBERSHIP_LIMITS, type JoinConfig, type MembershipConfig } from './config.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import { MemberTable, type MemberEvent } from './member-table.js'
import { MEMBER_STATES, type MemberState } from './member-state.js'
import {
  decodeGossip,
  decodeJoinRequest,
  decodeJoinResponse,
  encodeGossip,
  encodeJoinRequest,
  encodeJoinResponse,
  MEMBERSHIP_WIRE_VERSION,
  type GossipMessage,
  type NodeInfo,
} from './heartbeat.js'
import type { DecodeResult } from '../wire/json-codec.js'
import type { GossipVerdict } from '../p2p/host.js'
import { peerIdOf } from '../p2p/addresses.js'

export const MEMBERSHIP_TOPIC = 'meshos/membership/1'
export const JOIN_PROTOCOL = '/meshos/join/1.0.0'
/** A leave told directly: one frame each way (the leave message, an empty acknowledgement). */
export const LEAVE_PROTOCOL = '/meshos/leave/1.0.0'

export interface MembershipInit {
  host: P2PHost
  self: NodeInfo
  membership: MembershipConfig
  join: JoinConfig
  bootstrap: string[]
  logger: Logger
  metrics: NodeMetrics
  /** Called when our incarnation changes, so it can be persisted (a restart must exceed it). */
  onIncarnation?: (incarnation: number) => void
  /** What this node reports about its own load, sampled before each heartbeat. */
  sampleSelf?: () => Partial<Pick<NodeInfo, 'allocated' | 'running' | 'load'>>
}

/** True when the payload is JSON of a wire version other than ours. */
function isOtherVersion(data: Uint8Array): boolean {
  try {
    const v = (JSON.parse(new TextDecoder().decode(data)) as { v?: unknown }).v
    return typeof v === 'number' && v !== MEMBERSHIP_WIRE_VERSION
  } catch {
    return false
  }
}

export class Membership {
  readonly table: MemberTable
  private readonly host: P2PHost
  private readonly cfg: MembershipConfig
  private readonly log: Logger
  private readonly nowMs: () => number
  private readonly timers: NodeJS.Timeout[] = []
  private joinTimer: NodeJS.Timeout | undefined
  private soonTimer: NodeJS.Timeout | undefined
  private readonly lastDialMs = new Map<string, number>()
  private stopped = false
  /** Decoded gossip by payload, so the validator's parse is reused by the handler. */
  private readonly decoded = new WeakMap<Uint8Array, GossipMessage>()

  constructor(private readonly init: MembershipInit) {
    this.host = init.host
    this.cfg = init.membership
    this.log = init.logger.child({ component: 'membership' })
    this.nowMs = Date.now
    this.table = new MemberTable(init.self, init.membership, this.nowMs())
    this.updateMemberGauge()
  }

  async start(): Promise<void> {
    await this.host.handle(
      JOIN_PROTOCOL,
      { maxRequestBytes: MEMBERSHIP_LIMITS.joinRequestBytes, timeoutMs: this.init.join.requestTimeoutMs },
      async (from, bytes) => this.answerJoin(from, bytes),
    )
    await this.host.handle(
      LEAVE_PROTOCOL,
      { maxRequestBytes: MEMBERSHIP_LIMITS.joinRequestBytes, timeoutMs: this.init.join.requestTimeoutMs },
      async (from, bytes) => this.answerLeave(from, bytes),
    )
    this.host.subscribe(
      MEMBERSHIP_TOPIC,
      (from, data) => this.validateGossip(from, data),
      (from, data) => {
        this.onGossip(from, data)
      },
    )
    this.host.onPeerDisconnect(peerId => {
      // Our own shutdown closes every connection: that is no reason to suspect anyone.
      if (!this.stopped) this.apply(this.table.onDisconnect(peerId, this.nowMs()))
    })
    // A peer that just subscribed has never heard from us: tell it now rather than up to a
    // heartbeat interval later, so a joining node is visible everywhere in tens of ms.
    this.host.onTopicPeer(MEMBERSHIP_TOPIC, () => {
      this.heartbeatSoon()
    })
    this.timers.push(
      setInterval(() => {
        this.heartbeat()
      }, this.cfg.heartbeatIntervalMs),
    )
    this.timers.push(
      setInterval(() => {
        this.apply(this.table.tick(this.nowMs()))
      }, this.cfg.tickIntervalMs),
    )
    this.heartbeat()
    const bootstrap = this.init.bootstrap.filter(addr => peerIdOf(addr) !== this.host.peerId)
    if (bootstrap.length > 0) this.joinLoop(bootstrap, 1)
  }

  /** Announces `left` (when graceful) so peers need not wait for a timeout, then goes quiet. */
  async stop(announceLeave: boolean): Promise<void> {
    this.stopped = true
    for (const t of this.timers) clearInterval(t)
    clearTimeout(this.joinTimer)
    clearTimeout(this.soonTimer)
    if (announceLeave) {
      const leave = encodeGossip(this.table.leaveMessage())
      await Promise.all([
        // publish() returns once the message is queued on each peer's stream, not once it is on
        // the wire; closing connections right away can drop it and turn a clean leave into a
        // suspicion. A short grace lets the queues flush.
        this.host.publish(MEMBERSHIP_TOPIC, leave).then(async () => {
          await new Promise(resolve => setTimeout(resolve, this.cfg.leaveFlushMs))
        }),
        // Gossip reaches a member through the topic mesh, which a member that joined moments ago
        // may not be part of yet (seen: a node stopped right after a join was marked dead by one
        // of its peers): every connected member is also told directly.
        ...this.host.connectedPeers().map(async peer => {
          await this.host
            .request(peer, LEAVE_PROTOCOL, leave, { timeoutMs: this.cfg.leaveFlushMs, maxResponseBytes: 16 })
            .catch((err: Error) => {
              this.log.debug({ peer, err: err.message }, 'could not tell a member of the leave directly')
            })
        }),
      ])
    }
  }

  /** Coalesces bursts of new subscribers (a cluster starting at once) into one heartbeat. */
  private heartbeatSoon(): void {
    if (this.soonTimer != null || this.stopped) return
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined
      this.heartbeat()
    }, this.cfg.extraHeartbeatCoalesceMs)
  }

  private heartbeat(): void {
    if (this.stopped) return
    if (this.init.sampleSelf != null) this.table.updateSelf(this.init.sampleSelf())
    void this.host.publish(MEMBERSHIP_TOPIC, encodeGossip(this.table.nextHeartbeat()))
    this.reconnect()
  }

  /** Dials members we have no connection to: live ones at most once per suspicion period, dead
   * and departed ones (until forgotten) once per reconnectDeadIntervalMs. The cluster stays
   * connected when the node everyone bootstrapped from is gone, and heals when a node without
   * a bootstrap address (the first one) restarts or a partition ends. */
  private reconnect(): void {
    const connected = new Set(this.host.connectedPeers())
    const nowMs = this.nowMs()
    for (const m of this.table.others()) {
      if (connected.has(m.info.nodeId)) continue
      const live = m.state === 'alive' || m.state === 'suspect'
      const intervalMs = live ? this.cfg.suspectAfterMs : this.cfg.reconnectDeadIntervalMs
      if (nowMs - (this.lastDialMs.get(m.info.nodeId) ?? 0) < intervalMs) continue
      this.dial(m.info.nodeId, m.info.addrs)
    }
  }

  private dial(nodeId: string, addrs: string[]): void {
    if (this.stopped || addrs.length === 0) return
    this.lastDialMs.set(nodeId, this.nowMs())
    this.host.dial(addrs, this.init.join.requestTimeoutMs).catch(err => {
      this.log.debug({ nodeId, err: (err as Error).message }, 'dial failed')
    })
  }

  private decodeCounted<T>(protocol: string, from: string, result: DecodeResult<T>): T | null {
    if (result.ok) return result.value
    this.rejected(protocol, from, result.reason, result.detail)
    return null
  }

  private rejected(protocol: string, from: string, reason: string, detail: string): void {
    this.init.metrics.wireRejected.inc({ protocol, reason })
    this.log.debug({ protocol, from, reason, detail }, 'dropped invalid wire message')
  }

  /** What the wire schema cannot check without a clock: a node that says it started far in the
   * future (its heartbeat would otherwise sit in every table, and its times in every answer).
   * Null when the description is believable. */
  private implausible(info: NodeInfo): string | null {
    const limitMs = this.nowMs() + MEMBERSHIP_LIMITS.maxClockAheadMs
    return info.startedAt > limitMs
      ? `${info.nodeId} says it started at ${info.startedAt}, more than ${MEMBERSHIP_LIMITS.maxClockAheadMs} ms ahead of this node's clock`
      : null
  }

  /** Gossip validator: only well-formed messages about their own author are accepted, so a peer
   * cannot speak for another (gossipsub signs messages; the author is the verified signer). A
   * message of another wire version is ignored rather than rejected, so peers relaying it during
   * a rolling upgrade are not penalised. */
  private validateGossip(author: string, data: Uint8Array): GossipVerdict {
    const result = decodeGossip(data)
    if (!result.ok) {
      this.decodeCounted(MEMBERSHIP_TOPIC, author, result)
      return isOtherVersion(data) ? 'ignore' : 'reject'
    }
    const subject = result.value.type === 'heartbeat' ? result.value.node.nodeId : result.value.nodeId
    if (subject !== author) {
      this.rejected(MEMBERSHIP_TOPIC, author, 'wrong_sender', `${author} spoke for ${subject}`)
      return 'reject'
    }
    const problem = result.value.type === 'heartbeat' ? this.implausible(result.value.node) : null
    if (problem !== null) {
      this.rejected(MEMBERSHIP_TOPIC, author, 'time_in_future', problem)
      return 'reject'
    }
    this.decoded.set(data, result.value)
    return 'accept'
  }

  private onGossip(author: string, data: Uint8Array): void {
    const msg = this.decoded.get(data) ?? this.decodeCounted(MEMBERSHIP_TOPIC, author, decodeGossip(data))
    if (msg == null) return
    this.init.metrics.wireAccepted.inc({ protocol: MEMBERSHIP_TOPIC })
    const nowMs = this.nowMs()
    this.apply(msg.type === 'heartbeat' ? this.table.onHeartbeat(msg, nowMs) : this.table.onLeave(msg, nowMs))
  }

  private async answerJoin(from: string, bytes: Uint8Array): Promise<Uint8Array> {
    const req = this.decodeCounted(JOIN_PROTOCOL, from, decodeJoinRequest(bytes))
    if (req == null) throw new Error('invalid join request')
    if (req.node.nodeId !== from) {
      this.rejected(JOIN_PROTOCOL, from, 'wrong_sender', `${from} asked to join as ${req.node.nodeId}`)
      throw new Error('join request for another node')
    }
    const problem = this.implausible(req.node)
    if (problem !== null) {
      this.rejected(JOIN_PROTOCOL, from, 'time_in_future', problem)
      throw new Error('join request with a start time in the future')
    }
    this.init.metrics.wireAccepted.inc({ protocol: JOIN_PROTOCOL })
    const nowMs = this.nowMs()
    this.apply(this.table.onHeartbeat({ node: req.node }, nowMs))
    return encodeJoinResponse({ v: MEMBERSHIP_WIRE_VERSION, members: this.table.records(nowMs) })
  }

  /** A leave told directly by the leaving node itself (the connection authenticates it). */
  private async answerLeave(from: string, bytes: Uint8Array): Promise<Uint8Array> {
    const msg = this.decodeCounted(LEAVE_PROTOCOL, from, decodeGossip(bytes))
    if (msg == null) throw new Error('invalid leave message')
    if (msg.type !== 'leave' || msg.nodeId !== from) {
      this.rejected(
        LEAVE_PROTOCOL,
        from,
        'wrong_sender',
        `${from} sent a ${msg.type} for ${msg.type === 'leave' ? msg.nodeId : msg.node.nodeId}`,
      )
      throw new Error('leave message for another node')
    }
    this.init.metrics.wireAccepted.inc({ protocol: LEAVE_PROTOCOL })
    this.apply(this.table.onLeave(msg, this.nowMs()))
    return new Uint8Array(0)
  }

  /** Asks the bootstrap peers, in turn, for the member table until one answers; backs off
   * exponentially while none does. The node serves its API meanwhile. */
  private joinLoop(bootstrap: string[], attempt: number): void {
    void (async () => {
      for (const addr of bootstrap) {
        if (this.stopped) return
        try {
          const request = encodeJoinRequest({ v: MEMBERSHIP_WIRE_VERSION, node: this.table.selfInfo })
          const bytes = await this.host.request(addr, JOIN_PROTOCOL, request, {
            timeoutMs: this.init.join.requestTimeoutMs,
            maxResponseBytes: MEMBERSHIP_LIMITS.joinResponseBytes,
          })
          const res = this.decodeCounted(JOIN_PROTOCOL, addr, decodeJoinResponse(bytes))
          if (res == null) throw new Error('invalid join response')
          this.init.metrics.wireAccepted.inc({ protocol: JOIN_PROTOCOL })
          // A row the bootstrap peer should not have believed is left out; the rest still counts.
          const members = res.members.filter(r => {
            const problem = this.implausible(r.node)
            if (problem !== null) this.rejected(JOIN_PROTOCOL, addr, 'time_in_future', problem)
            return problem === null
          })
          this.apply(this.table.onJoinRecords(members, this.nowMs()))
          this.log.info({ via: addr, members: res.members.length }, 'joined cluster')
          return
        } catch (err) {
          this.log.debug({ via: addr, err: (err as Error).message }, 'join attempt failed')
        }
      }
      if (this.stopped) return
      // Jittered (50-100% of the step) so nodes started together do not retry in lockstep.
      const stepMs = Math.min(this.init.join.retryMaxMs, this.init.join.retryInitialMs * 2 ** (attempt - 1))
      const delayMs = Math.round(stepMs * (0.5 + Math.random() / 2))
      this.log.warn({ attempt, retryInMs: delayMs, bootstrap }, 'no bootstrap peer reachable yet; retrying')
      this.joinTimer = setTimeout(() => {
        this.joinLoop(bootstrap, attempt + 1)
      }, delayMs)
    })()
  }

  private apply(events: MemberEvent[]): void {
    if (events.length === 0 || this.stopped) return
    for (const e of events) {
      switch (e.type) {
        case 'state':
          this.init.metrics.memberTransitions.inc({ to: e.to })
          this.log.info({ nodeId: e.nodeId, from: e.from, to: e.to, reason: e.reason }, 'member state changed')
          break
        case 'discovered':
          this.dial(e.nodeId, e.addrs)
          break
        case 'forgotten':
          this.lastDialMs.delete(e.nodeId)
          break
        case 'refuted':
          this.log.info({ incarnation: e.incarnation }, 'refuting suspicion of this node')
          this.init.onIncarnation?.(e.incarnation)
          this.heartbeat()
          break
      }
    }
    this.updateMemberGauge()
  }

  private updateMemberGauge(): void {
    const counts = Object.fromEntries(MEMBER_STATES.map(state => [state, 0])) as Record<MemberState, number>
    counts.alive = 1 // this node
    for (const m of this.table.others()) counts[m.state]++
    for (const [state, n] of Object.entries(counts)) this.init.metrics.members.set({ state }, n)
  }
}
