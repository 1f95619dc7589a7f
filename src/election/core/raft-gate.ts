// The gate in front of RaftCore.step: authorize() against the node's own view, plus the trust
// anchor that keeps a node with an empty or outdated configuration from being locked out.
//
// A node that has never seen a configuration (it just joined), or whose configuration is stale
// (voters were replaced while it was away), refuses the real leader as 'not_voter'. It then asks
// its vouchers which voters they know: the voters of its own configuration, the voters it learned
// of otherwise (a worker asks them who leads), and the bootstrap peers the operator gave it. The
// ids a voucher names count as voters for vouchTicks, long enough for the leader's next append or
// snapshot to bring the node's configuration up to date.
//
// A voucher adds no power an attacker would not already need: a voter of this node's config
// could lead it directly (at a higher term), and a bootstrap peer is the address the operator told
// the node to join through, whose id is part of that address. A voucher answers only members of
// its own configuration, at most once per tick each.
//
// No randomness and no clock: time is the core's tick count, so the simulation drives it too.

import { authorize, type AuthorizationFailure, type AuthorizationView, type MessageEnvelope } from './authorize.js'
import type { RaftCore } from './raft.js'
import type { NodeId, RaftMessage } from './types.js'

/** What a voucher knows: its term, the leader it follows (or null), and its voters. */
export interface ConfigAnswerView {
  term: number
  leader: NodeId | null
  voters: NodeId[]
}
export type ConfigRefusal = 'not_member' | 'rate_limited'
export type ConfigAnswer = ({ status: 'ok' } & ConfigAnswerView) | { status: 'refused'; reason: ConfigRefusal }

export interface RaftGateOptions {
  /** Bootstrap peers (ids or addresses), asked besides the voters of the known config. */
  vouchers: readonly string[]
  /** Voters learned of outside Raft, also asked: a worker made a learner holds no config yet, and
   * its bootstrap peers may be gone (a dead voter the operator removed). */
  knownVoters?: () => readonly string[]
  /** Ticks between two rounds of questions: a stranger's flood costs at most one round per period. */
  askEveryTicks: number
  /** Ticks a vouch lasts. */
  vouchTicks: number
  /** Ticks without a leader after which a learner ahead of this node may have its vote
   * (authorize.ts says why the wait). */
  learnerVoteAfterTicks: number
}

/** A round asks at most this many nodes: a config's voters plus a few bootstrap peers. */
const MAX_TARGETS_PER_ROUND = 16
const NO_VOUCHES: ReadonlySet<NodeId> = new Set()

export class RaftGate {
  /** Vouched id → tick after which the vouch has expired. */
  private readonly vouches = new Map<NodeId, number>()
  private lastRoundTick: number | null = null
  /** Member → tick of the last answer to it. */
  private readonly answeredAt = new Map<NodeId, number>()
  /** The last tick at which this node was seen to have a leader. Seen on each message: a node
   * that has a leader hears from it every heartbeat. */
  private ledAtTick: number

  constructor(
    private readonly core: RaftCore,
    private readonly options: RaftGateOptions,
  ) {
    this.ledAtTick = core.tickCount
  }

  /** The node as authorize() sees it now. */
  view(): AuthorizationView {
    const core = this.core
    if (core.leader !== null) this.ledAtTick = core.tickCount
    return {
      self: core.id,
      term: core.term,
      leader: core.leader,
      vote: core.vote,
      config: core.config,
      lastLogIndex: core.lastIndex,
      lastLogTerm: core.termAt(core.lastIndex) ?? 0,
      vouched: this.currentVouches(),
      leaderlessTicks: core.tickCount - this.ledAtTick,
      learnerVoteAfterTicks: this.options.learnerVoteAfterTicks,
    }
  }

  check(m: MessageEnvelope | RaftMessage): 'ok' | AuthorizationFailure {
    return authorize(m, this.view())
  }

  /**
   * After a 'not_voter' refusal: whom to ask which voters they know, or [] when a round ran less
   * than askEveryTicks ago. The caller asks each and passes the answers to vouch().
   */
  targetsToAsk(): string[] {
    const now = this.core.tickCount
    if (this.lastRoundTick !== null && now - this.lastRoundTick < this.options.askEveryTicks) return []
    const known = this.options.knownVoters?.() ?? []
    const targets = [...new Set([...this.core.config.voters, ...known, ...this.options.vouchers])]
      .filter(target => target !== this.core.id)
      .slice(0, MAX_TARGETS_PER_ROUND)
    if (targets.length > 0) this.lastRoundTick = now
    return targets
  }

  /** A voucher's answer: the voters it names count as voters here for vouchTicks. */
  vouch(answer: ConfigAnswer): void {
    if (answer.status !== 'ok') return
    const until = this.core.tickCount + this.options.vouchTicks
    for (const id of answer.voters) if (id !== this.core.id) this.vouches.set(id, until)
  }

  /** What to tell `from`, which asks which voters this node knows. */
  answer(from: NodeId): ConfigAnswer {
    const { voters, learners } = this.core.config
    if (!voters.includes(from) && !learners.includes(from)) return { status: 'refused', reason: 'not_member' }
    const now = this.core.tickCount
    if (this.answeredAt.get(from) === now) return { status: 'refused', reason: 'rate_limited' }
    this.answeredAt.set(from, now)
    if (this.answeredAt.size > voters.length + learners.length) {
      for (const id of this.answeredAt.keys())
        if (!voters.includes(id) && !learners.includes(id)) this.answeredAt.delete(id)
    }
    return { status: 'ok', term: this.core.term, leader: this.core.leader, voters }
  }

  private currentVouches(): ReadonlySet<NodeId> {
    if (this.vouches.size === 0) return NO_VOUCHES
    const now = this.core.tickCount
    for (const [id, until] of this.vouches) if (until < now) this.vouches.delete(id)
    return new Set(this.vouches.keys())
  }
}
