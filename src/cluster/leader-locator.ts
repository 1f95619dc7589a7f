// Who leads, as this node knows it. A node that holds the Raft log (a voter or a standby learner)
// knows from Raft. A worker holds no log and hears no Raft message, so it asks: every
// queryIntervalMs, and at once when told its leader is gone, it asks the voters it last learned of
// (and its bootstrap peers, the operator's choice, when it knows none) over /meshos/leader/1.0.0,
// and believes the answer with the highest term. The same service answers such questions for the
// workers when this node holds the log.
import type { Logger } from 'pino'
import type { P2PHost } from '../p2p/host.js'
import { peerIdOf } from '../p2p/addresses.js'
import type { MemberDirectory } from '../gossip/member-directory.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import type { Clock, TimerHandle } from '../util/clock.js'
import type { Replica } from './replica.js'
import {
  LEADER_ANSWER_MAX_BYTES,
  LEADER_PROTOCOL,
  LEADER_REQUEST_MAX_BYTES,
  LEADER_WIRE_VERSION,
  decodeLeaderAnswer,
  decodeLeaderRequest,
  encodeLeaderAnswer,
  encodeLeaderRequest,
  type LeaderAnswer,
} from './leader-wire.js'

export interface LeaderLocatorInit {
  host: P2PHost
  replica: Replica
  members: MemberDirectory
  /** Multiaddrs of the bootstrap peers (each ending in /p2p/<id>). */
  bootstrap: string[]
  /** How often a worker asks again while nothing tells it the leader changed. */
  queryIntervalMs: number
  requestTimeoutMs: number
  clock: Clock
  metrics: NodeMetrics
  logger: Logger
}

interface Known {
  term: number
  leader: string | null
  voters: string[]
}

export class LeaderLocator {
  private known: Known = { term: 0, leader: null, voters: [] }
  private timer: TimerHandle | undefined
  private asking: Promise<void> | null = null
  private readonly answeredAt = new Map<string, number>()
  private readonly listeners: Array<(leader: string | null) => void> = []
  private readonly log: Logger

  constructor(private readonly init: LeaderLocatorInit) {
    this.log = init.logger.child({ component: 'leader-locator' })
  }

  async start(): Promise<void> {
    await this.init.host.handle(
      LEADER_PROTOCOL,
      { maxRequestBytes: LEADER_REQUEST_MAX_BYTES, timeoutMs: this.init.requestTimeoutMs },
      async (from, bytes) => this.answer(from, bytes),
    )
    this.timer = this.init.clock.setInterval(() => {
      this.refreshIfWorker()
    }, this.init.queryIntervalMs)
    this.refreshIfWorker()
  }

  stop(): void {
    this.init.clock.clear(this.timer)
  }

  /** The leader this node knows of, or null. */
  leader(): string | null {
    return this.init.replica.holdsLog() ? this.init.replica.leader : this.known.leader
  }

  /** The term of that leader (Raft's own on a node that holds the log). */
  term(): number | null {
    return this.init.replica.holdsLog() ? this.init.replica.term : this.known.term === 0 ? null : this.known.term
  }

  /** The voters as this node last learned them. */
  voters(): string[] {
    const raft = this.init.replica.raftNode
    return this.init.replica.holdsLog() && raft !== null ? raft.config.voters : this.known.voters
  }

  /** Called when a worker learns of another leader (not for Raft members: they follow Raft). */
  onChange(listener: (leader: string | null) => void): void {
    this.listeners.push(listener)
  }

  /** The leader this node knew stopped answering: ask again now rather than at the next period. */
  leaderLost(): void {
    if (this.init.replica.holdsLog()) return
    this.refreshIfWorker()
  }

  private refreshIfWorker(): void {
    if (this.init.replica.holdsLog() || this.asking !== null) return
    this.asking = this.ask().finally(() => {
      this.asking = null
    })
  }

  /** Asks the known voters (or, knowing none that answers, the bootstrap peers) in turn. */
  private async ask(): Promise<void> {
    const bootstrap = this.init.bootstrap.flatMap(a => {
      const id = peerIdOf(a)
      return id === null ? [] : [{ id, target: a }]
    })
    const voters = this.known.voters.map(id => ({ id, target: id }))
    const candidates = voters.length > 0 ? [...voters, ...bootstrap] : bootstrap
    let best: Known | null = null
    for (const c of candidates) {
      if (c.id === this.init.host.peerId) continue
      const answer = await this.request(c.target)
      if (answer?.status !== 'ok') continue
      if (best === null || answer.term > best.term)
        best = { term: answer.term, leader: answer.leader, voters: answer.voters }
      // A leader known from a voter is all a worker needs; a leaderless answer may be an election.
      if (best.leader !== null) break
    }
    if (best === null || best.term < this.known.term) return
    const changed = best.leader !== this.known.leader
    this.known = best
    if (changed) {
      this.log.info({ leader: best.leader, term: best.term }, 'learned the leader')
      for (const listener of this.listeners) listener(best.leader)
    }
  }

  private async request(target: string): Promise<LeaderAnswer | null> {
    try {
      const bytes = await this.init.host.request(target, LEADER_PROTOCOL, encodeLeaderRequest(), {
        timeoutMs: this.init.requestTimeoutMs,
        maxResponseBytes: LEADER_ANSWER_MAX_BYTES,
      })
      const answer = decodeLeaderAnswer(bytes)
      if (!answer.ok) {
        this.init.metrics.wireRejected.inc({ protocol: LEADER_PROTOCOL, reason: answer.reason })
        return null
      }
      return answer.value
    } catch (err) {
      this.log.debug({ target, err: (err as Error).message }, 'no answer to who leads')
      return null
    }
  }

  /** Members only, at most once a second each: a worker asks every few seconds. */
  private async answer(from: string, bytes: Uint8Array): Promise<Uint8Array> {
    const v = LEADER_WIRE_VERSION
    const request = decodeLeaderRequest(bytes)
    if (!request.ok) {
      this.init.metrics.wireRejected.inc({ protocol: LEADER_PROTOCOL, reason: request.reason })
      return encodeLeaderAnswer({ v, status: 'refused' })
    }
    const nowMs = this.init.clock.nowMs()
    if (!this.init.members.isLiveMember(from) || nowMs - (this.answeredAt.get(from) ?? -Infinity) < 1000) {
      this.init.metrics.wireRejected.inc({ protocol: LEADER_PROTOCOL, reason: 'refused' })
      return encodeLeaderAnswer({ v, status: 'refused' })
    }
    this.answeredAt.set(from, nowMs)
    if (this.answeredAt.size > 10_000) this.answeredAt.clear()
    this.init.metrics.wireAccepted.inc({ protocol: LEADER_PROTOCOL })
    const raft = this.init.replica.raftNode
    if (!this.init.replica.holdsLog() || raft === null) return encodeLeaderAnswer({ v, status: 'unknown' })
    return encodeLeaderAnswer({ v, status: 'ok', term: raft.term, leader: raft.leader, voters: raft.config.voters })
  }
}
