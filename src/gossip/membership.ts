// The membership service (v2): wires the pure membership core (core/membership-core.ts) to the p2p
// host. Probes and anti-entropy travel as frames on long-lived channels to the few peers the core
// names (its active view: subjects and observers); events travel on the gossip topic; the clock
// drives the core's tick. It keeps connections to the active view, closes idle ones outside it,
// and remembers a few live members in the data dir so a restarted node finds the cluster again
// without a bootstrap address. Every record is signed by the node it describes and verified here.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import type { FrameChannelLimits, GossipVerdict, P2PHost } from '../p2p/host.js'
import { RecordSigner, verifiedBy } from '../p2p/record-signer.js'
import { peerIdOf } from '../p2p/addresses.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import type { Clock, TimerHandle } from '../util/clock.js'
import { writeFileAtomic } from '../util/atomic-file.js'
import type { DecodeResult } from '../wire/json-codec.js'
import { MembershipCore, type Member } from './core/membership-core.js'
import type {
  CoreOutput,
  DirectMessage,
  MemberInfo,
  MemberRecord,
  MemberSnapshot,
  MembershipEvent,
} from './core/types.js'
import { MEMBERSHIP_LIMITS, type MembershipConfig } from './config.js'
import { MEMBER_STATES, type MemberState } from './member-state.js'
import type { MemberDirectory } from './member-directory.js'
import {
  decodeDirect,
  decodeEvent,
  encodeDirect,
  encodeEvent,
  isOtherVersion,
  MEMBERSHIP_PROTOCOL,
  MEMBERSHIP_TOPIC,
  signedBytes,
} from './wire.js'

export { MEMBERSHIP_PROTOCOL, MEMBERSHIP_TOPIC }

const CHANNEL_LIMITS: FrameChannelLimits = {
  maxFrameBytes: MEMBERSHIP_LIMITS.frameBytes,
  /** A sync page or two; probes are tiny. Beyond that the peer is not reading: drop, the next
   * round retries. */
  maxQueuedBytes: 2 * MEMBERSHIP_LIMITS.frameBytes,
  dialTimeoutMs: 2000,
  /** A dead peer costs a dial per second at most, not one per probe. */
  redialBackoffMs: 1000,
}

/** The label sets of the frame and event counters, made once: a message counts without allocating. */
const FRAME_LABELS = { protocol: MEMBERSHIP_PROTOCOL } as const
const EVENT_LABELS = { protocol: MEMBERSHIP_TOPIC } as const

/** Live members remembered in the data dir, to find the cluster again after a restart. */
const PEERS_FILE = 'members.json'
const PEERS_REMEMBERED = 16

export interface MembershipInit {
  host: P2PHost
  signer: RecordSigner
  /** This node's info, incarnation (persisted: above anything a previous life announced). */
  info: MemberInfo
  incarnation: number
  dataDir: string
  config: MembershipConfig
  /** Multiaddrs of bootstrap peers (each ending in /p2p/<id>). */
  bootstrap: string[]
  clock: Clock
  random: () => number
  logger: Logger
  metrics: NodeMetrics
  /** Called when this node's incarnation changes, so it can be persisted (a restart must exceed it). */
  onIncarnation: (incarnation: number) => void
  /** Peers this node needs a connection to for other reasons (Raft, the leader): never pruned. */
  inUse: (peerId: string) => boolean
}

export type MemberListener = (change: {
  nodeId: string
  from: MemberState | null
  to: MemberState
  reason: string
}) => void

export class Membership implements MemberDirectory {
  private readonly core: MembershipCore
  private readonly host: P2PHost
  private readonly cfg: MembershipConfig
  private readonly log: Logger
  private readonly timers: TimerHandle[] = []
  private stopped = false
  /** The record whose addresses were last handed to the peer store, per peer. */
  private readonly addrsKnown = new Map<string, MemberRecord>()
  /** Decoded gossip by payload, so the validator's parse is reused by the handler. */
  private readonly decoded = new WeakMap<Uint8Array, MembershipEvent>()
  private readonly listeners: MemberListener[] = []
  private savedPeers = ''

  constructor(private readonly init: MembershipInit) {
    this.host = init.host
    this.cfg = init.config
    this.log = init.logger.child({ component: 'membership' })
    const unsigned = { info: init.info, incarnation: init.incarnation, seq: 0 }
    this.core = new MembershipCore({
      self: { ...unsigned, signature: this.sign(unsigned) },
      config: init.config,
      nowMs: init.clock.nowMs(),
      random: init.random,
      sign: record => this.sign(record),
    })
    this.updateGauges()
  }

  // ------------------------------------------------------------- directory

  get selfInfo(): MemberInfo {
    return this.core.selfRecord.info
  }

  /** This node's own signed record (its current incarnation). */
  get selfRecord(): MemberRecord {
    return this.core.selfRecord
  }

  get(nodeId: string): Member | undefined {
    return this.core.get(nodeId)
  }

  others(): Member[] {
    return [...this.core.others()]
  }

  nameOf(nodeId: string): string | null {
    if (nodeId === this.core.selfId) return this.selfInfo.name
    return this.core.get(nodeId)?.record.info.name ?? null
  }

  /** Alive or suspect here (this node included): a member that may write and read logs. */
  isLiveMember(nodeId: string): boolean {
    if (nodeId === this.core.selfId) return true
    const state = this.core.get(nodeId)?.state
    return state === 'alive' || state === 'suspect'
  }

  liveCount(): number {
    return this.core.liveCount()
  }

  /** The peers this node keeps membership connections to. */
  activePeers(): string[] {
    return this.core.activePeers()
  }

  /** What `nodeId` keeps membership connections to, as this node's table implies. */
  activePeersOf(nodeId: string): string[] {
    return this.core.activePeersOf(nodeId)
  }

  onChange(listener: MemberListener): void {
    this.listeners.push(listener)
  }

  // ------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    await this.host.handleFrames(MEMBERSHIP_PROTOCOL, MEMBERSHIP_LIMITS.frameBytes, (from, frame) => {
      this.onFrame(from, frame)
    })
    this.host.subscribe(
      MEMBERSHIP_TOPIC,
      (author, data) => this.validateEvent(author, data),
      (author, data) => {
        this.onEvent(author, data)
      },
    )
    this.host.onChannelClosed((peerId, protocol, opened) => {
      // Never opened: the peer could not be reached at all; its probe round need not wait.
      if (protocol === MEMBERSHIP_PROTOCOL && !opened && !this.stopped)
        this.apply(this.core.unreachable(peerId, this.now()))
    })
    this.host.onPeerDisconnect(peerId => {
      // Our own shutdown closes every connection: that is no reason to suspect anyone.
      if (!this.stopped && this.core.subjects().includes(peerId)) this.apply(this.core.unreachable(peerId, this.now()))
    })
    const clock = this.init.clock
    this.timers.push(
      clock.setInterval(() => {
        this.apply(this.core.tick(this.now()))
      }, this.cfg.tickIntervalMs),
    )
    this.timers.push(
      clock.setInterval(() => {
        void this.prune()
      }, this.cfg.pruneIntervalMs),
    )
    this.timers.push(
      clock.setInterval(() => {
        void this.savePeers()
      }, this.cfg.pruneIntervalMs),
    )
    const targets = await this.joinTargets()
    if (targets.length > 0) this.apply(this.core.startJoin(targets, this.now()))
  }

  /** Announces `left` (when graceful) so peers need not wait for a timeout, then goes quiet. */
  async stop(announceLeave: boolean): Promise<void> {
    if (announceLeave && !this.stopped) {
      this.apply(this.core.leave())
      // publish() returns once the message is queued on each peer's stream, not once it is on the
      // wire; closing connections right away can drop it and turn a clean leave into a suspicion.
      await new Promise<void>(resolve => {
        this.init.clock.setTimeout(resolve, this.cfg.leaveFlushMs)
      })
    }
    this.stopped = true
    for (const t of this.timers) this.init.clock.clear(t)
    await this.savePeers()
  }

  // ---------------------------------------------------------------- inputs

  private onFrame(from: string, bytes: Uint8Array): void {
    const decoded = this.counted(MEMBERSHIP_PROTOCOL, from, decodeDirect(bytes))
    if (decoded === null || this.stopped) return
    const message = this.checkedDirect(from, decoded)
    if (message === null) return
    this.init.metrics.wireAccepted.inc(FRAME_LABELS)
    this.apply(this.core.receive(from, message, this.now()))
  }

  /** Only members described by their own valid signature reach the core; a join must carry the
   * joiner itself. */
  private checkedDirect(from: string, message: DirectMessage): DirectMessage | null {
    if (message.type === 'left') return message
    if (message.type === 'syncHello' && message.joining !== undefined) {
      if (message.joining.record.info.nodeId !== from || !this.trusted(message.joining.record, from)) return null
    }
    if (message.type === 'syncPull' || message.type === 'syncPush') {
      const members = message.members.filter(m => this.trusted(m.record, from))
      return { ...message, members }
    }
    return message
  }

  private validateEvent(author: string, data: Uint8Array): GossipVerdict {
    const result = decodeEvent(data)
    if (!result.ok) {
      this.counted(MEMBERSHIP_TOPIC, author, result)
      return isOtherVersion(data) ? 'ignore' : 'reject'
    }
    const event = result.value
    // Suspicions and deaths are signed by their author through gossipsub; a leave only by the
    // node leaving; an alive record by its own signature (so anyone may relay it).
    const speaksFor =
      event.kind === 'suspect' || event.kind === 'dead' ? event.by : event.kind === 'left' ? event.nodeId : null
    if (speaksFor !== null && speaksFor !== author) {
      this.rejected(MEMBERSHIP_TOPIC, author, 'wrong_sender', `${author} spoke for ${speaksFor}`)
      return 'reject'
    }
    if (event.kind === 'alive') {
      if (
        !verifiedBy(event.record.info.nodeId, signedBytes(event.record), Buffer.from(event.record.signature, 'base64'))
      ) {
        this.rejected(
          MEMBERSHIP_TOPIC,
          author,
          'bad_signature',
          `record of ${event.record.info.nodeId} relayed by ${author}`,
        )
        return 'reject'
      }
      // Depends on this node's clock, so an honest relay is not penalised for it: ignored, counted.
      const problem = this.implausible(event.record.info)
      if (problem !== null) {
        this.rejected(MEMBERSHIP_TOPIC, author, 'time_in_future', problem)
        return 'ignore'
      }
    }
    this.decoded.set(data, event)
    return 'accept'
  }

  private onEvent(author: string, data: Uint8Array): void {
    const event = this.decoded.get(data)
    if (event === undefined || this.stopped) return
    this.init.metrics.wireAccepted.inc(EVENT_LABELS)
    this.apply(this.core.gossip(author, event, this.now()))
  }

  /** A record passes when it is signed by the node it describes and its start time is plausible. */
  private trusted(record: MemberRecord, from: string): boolean {
    if (!verifiedBy(record.info.nodeId, signedBytes(record), Buffer.from(record.signature, 'base64'))) {
      this.rejected(MEMBERSHIP_PROTOCOL, from, 'bad_signature', `record of ${record.info.nodeId}`)
      return false
    }
    const problem = this.implausible(record.info)
    if (problem !== null) {
      this.rejected(MEMBERSHIP_PROTOCOL, from, 'time_in_future', problem)
      return false
    }
    return true
  }

  /** Null when the record's times are believable by this node's clock. */
  private implausible(info: MemberInfo): string | null {
    const limitMs = this.now() + MEMBERSHIP_LIMITS.maxClockAheadMs
    return info.startedAt > limitMs
      ? `${info.nodeId} says it started at ${info.startedAt}, more than ${MEMBERSHIP_LIMITS.maxClockAheadMs} ms ahead of this node's clock`
      : null
  }

  // --------------------------------------------------------------- outputs

  private apply(out: CoreOutput): void {
    for (const { to, message } of out.sends) this.sendTo(to, message)
    for (const event of out.publishes) {
      void this.host.publish(MEMBERSHIP_TOPIC, encodeEvent(event))
      this.init.metrics.wireSent.inc(EVENT_LABELS)
    }
    for (const t of out.transitions) {
      this.init.metrics.memberTransitions.inc({ to: t.to })
      this.log.info({ peer: t.nodeId, from: t.from, to: t.to, reason: t.reason }, 'member state changed')
      for (const listener of this.listeners) listener(t)
    }
    for (const id of out.forgotten) this.addrsKnown.delete(id)
    if (out.activeViewChanged) this.connectActiveView()
    if (out.selfChanged) {
      this.log.info({ incarnation: this.core.selfRecord.incarnation }, 'announcing a new incarnation of this node')
      this.init.onIncarnation(this.core.selfRecord.incarnation)
    }
    if (out.transitions.length > 0) this.updateGauges()
  }

  private sendTo(peerId: string, message: DirectMessage): void {
    if (this.stopped && message.type !== 'left') return
    this.knowAddrs(peerId)
    const queued = this.host.sendFrame(peerId, MEMBERSHIP_PROTOCOL, encodeDirect(message), CHANNEL_LIMITS)
    ;(queued ? this.init.metrics.wireSent : this.init.metrics.wireSendDropped).inc(FRAME_LABELS)
    if (!queued && !this.stopped && message.type === 'probe') this.apply(this.core.unreachable(peerId, this.now()))
  }

  /** Hands a member's addresses to the peer store once per record, so frames can dial it by id. */
  private knowAddrs(peerId: string): void {
    const record = this.core.get(peerId)?.record
    if (record === undefined || this.addrsKnown.get(peerId) === record) return
    this.addrsKnown.set(peerId, record)
    void this.host.rememberAddrs(peerId, record.info.addrs).catch((err: Error) => {
      this.log.debug({ peer: peerId, err: err.message }, 'could not record the addresses of a member')
    })
  }

  private connectActiveView(): void {
    const connected = new Set(this.host.connectedPeers())
    for (const peer of this.core.activePeers()) {
      if (connected.has(peer)) continue
      const addrs = this.core.get(peer)?.record.info.addrs ?? []
      if (addrs.length === 0) continue
      this.knowAddrs(peer)
      this.host.dial(addrs, this.cfg.dialTimeoutMs).catch((err: Error) => {
        this.log.debug({ peer, err: err.message }, 'could not connect to a neighbour')
      })
    }
  }

  /** Closes connections outside the active view that nothing else needs, once they are old
   * enough not to cut a request in flight: the connections a node holds stay bounded. */
  private async prune(): Promise<void> {
    if (this.stopped) return
    const keep = new Set(this.core.activePeers())
    const nowMs = this.now()
    for (const peer of this.host.connectedPeers()) {
      if (keep.has(peer) || this.init.inUse(peer)) continue
      const since = this.host.connectedSinceMs(peer)
      if (since === null || nowMs - since < this.cfg.pruneGraceMs) continue
      await this.host.hangUp(peer).catch(() => {})
    }
  }

  // ------------------------------------------------------------ peers file

  /** Bootstrap peers first, then members remembered from this node's previous life. */
  private async joinTargets(): Promise<string[]> {
    const targets: string[] = []
    for (const addr of this.init.bootstrap) {
      const id = peerIdOf(addr)
      if (id === null || id === this.core.selfId) continue
      await this.host.rememberAddrs(id, [addr])
      targets.push(id)
    }
    try {
      const saved = JSON.parse(await readFile(path.join(this.init.dataDir, PEERS_FILE), 'utf8')) as unknown
      for (const p of Array.isArray(saved) ? saved : []) {
        const id = (p as { nodeId?: unknown }).nodeId
        const addrs = (p as { addrs?: unknown }).addrs
        if (typeof id !== 'string' || id === this.core.selfId || targets.includes(id) || !Array.isArray(addrs)) continue
        await this.host.rememberAddrs(
          id,
          addrs.filter((a): a is string => typeof a === 'string').slice(0, MEMBERSHIP_LIMITS.maxAddrs),
        )
        targets.push(id)
      }
    } catch {
      // No file yet (a first start), or an unreadable one: the bootstrap peers are all we have.
    }
    return targets
  }

  private async savePeers(): Promise<void> {
    const live = this.others().filter(m => m.state === 'alive')
    const chosen = live
      .slice(0, PEERS_REMEMBERED)
      .map(m => ({ nodeId: m.record.info.nodeId, addrs: m.record.info.addrs }))
    const text = JSON.stringify(chosen)
    if (text === this.savedPeers || chosen.length === 0) return
    try {
      await writeFileAtomic(path.join(this.init.dataDir, PEERS_FILE), text)
      this.savedPeers = text
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not remember live members in the data dir')
    }
  }

  // --------------------------------------------------------------- helpers

  private sign(record: Omit<MemberRecord, 'signature'>): string {
    return Buffer.from(this.init.signer.sign(signedBytes(record))).toString('base64')
  }

  private now(): number {
    return this.init.clock.nowMs()
  }

  private counted<T>(protocol: string, from: string, result: DecodeResult<T>): T | null {
    if (result.ok) return result.value
    this.rejected(protocol, from, result.reason, result.detail)
    return null
  }

  private rejected(protocol: string, from: string, reason: string, detail: string): void {
    this.init.metrics.wireRejected.inc({ protocol, reason })
    this.log.debug({ protocol, peer: from, reason, detail }, 'dropped invalid membership message')
  }

  private updateGauges(): void {
    const counts = Object.fromEntries(MEMBER_STATES.map(state => [state, 0])) as Record<MemberState, number>
    counts.alive = 1 // this node
    for (const m of this.core.others()) counts[m.state]++
    for (const [state, n] of Object.entries(counts)) this.init.metrics.members.set({ state }, n)
  }
}

export type { MemberSnapshot }
