// The pure Raft core (in the style of etcd-io/raft's raft.go + rawnode.go).
//
// No I/O, no clock, no randomness of its own: the adapter drives it with
// tick() (one logical clock step) and step(message), and collects the work it
// produces with ready() -> persist, send, apply -> advance().
//
// Membership changes are single-server changes (Raft thesis §4.1): each change
// adds or removes at most one voter, and a configuration takes effect on a node
// as soon as its entry is APPENDED to that node's log (committed or not). If
// the entry is later truncated, the node falls back to the previous config. A
// leader may only propose a change once it has committed an entry of its own
// term and the previous change is committed. A leader that removes itself keeps
// leading (without counting itself) until the change commits, then steps down
// and asks the most up-to-date remaining voter to campaign (timeoutNow).

import { messageProblem } from './message-checks.js'
import { committedIndex, quorumActive, voteResult } from './quorum.js'
import { checkConfigChange, cloneConfig, normalizeConfig } from './raft-config.js'
import { NotLeaderError } from './raft-errors.js'
import { RaftLog } from './raft-log.js'
import { Progress } from './raft-progress.js'
import { ReadyTracker } from './raft-ready.js'
import type {
  AppendMessage,
  AppendResponse,
  CommitMessage,
  ClusterConfig,
  Entry,
  EntryType,
  HardState,
  HeartbeatMessage,
  HeartbeatResponse,
  NodeId,
  PeerProgress,
  PersistedState,
  PreVoteMessage,
  RaftMessage,
  RaftRole,
  Ready,
  Snapshot,
  SnapshotMessage,
  SoftState,
  VoteMessage,
} from './types.js'

export interface RaftOptions {
  id: NodeId
  /**
   * Ticks without hearing from a leader before a follower campaigns; the
   * actual timeout is randomized in [electionTicks, 2*electionTicks) so that
   * candidates rarely split the vote. Also the leader's check-quorum period
   * and the length of a follower's leader lease. Required, as in etcd's Config:
   * the agent's value and its reason live in election/config.ts.
   */
  electionTicks: number
  /** Ticks between leader heartbeats; must be well below electionTicks. */
  heartbeatTicks: number
  /** Campaign with a pre-vote round first, so a partitioned node cannot inflate terms. Default true. */
  preVote?: boolean
  /**
   * A leader steps down if a majority was silent for electionTicks, and
   * followers that heard from a leader within electionTicks ignore vote
   * requests (leader lease). Default true.
   */
  checkQuorum?: boolean
  /** Uniform in [0, 1); injected so simulations are reproducible. */
  random: () => number
  /** Cap on entries per append message, bounding message size. Default 64. */
  maxEntriesPerAppend?: number
  /**
   * Cap on the JSON size of the entries in one append (at least one entry always goes). Default
   * 16 MiB: 64 large entries (a task batch can be several MiB) would otherwise make a message
   * past the transport's frame limit, which a lagging follower could then never receive.
   */
  maxAppendBytes?: number
}

const DEFAULTS = {
  preVote: true,
  checkQuorum: true,
  maxEntriesPerAppend: 64,
  maxAppendBytes: 16 * 1024 * 1024,
} as const

/** Ticks between the campaigns of two survivors that lost the leader's connection: room for the
 * first one's pre-vote and vote rounds, even when followers that never spoke to each other must
 * open a stream first (a split vote there measured ~90 ms apart on a loaded machine, 50 ms ticks). */
const RANK_SPACING_TICKS = 4

/** JSON size of an entry, computed once per entry object (entries are never mutated). */
const entryBytesCache = new WeakMap<Entry, number>()
function entryBytes(entry: Entry): number {
  let bytes = entryBytesCache.get(entry)
  if (bytes === undefined) {
    bytes = JSON.stringify(entry).length
    entryBytesCache.set(entry, bytes)
  }
  return bytes
}

type State = 'leader' | 'follower' | 'candidate' | 'precandidate'

/** Why leadership cannot be handed to a voter now (RaftCore.transferTarget). */
export type TransferProblem = 'not_leader' | 'not_voter' | 'no_other_voter' | 'not_caught_up'

/** Why step() dropped a message without acting on it (the node's state is unchanged). */
export type StepRejection =
  /** Breaks a rule any message must satisfy (message-checks.ts). */
  | 'invalid_message'
  /** A heartbeat whose commit index is past this node's log: committing there would be a lie,
   * and capping it at our last index could commit entries that differ from the leader's. */
  | 'commit_beyond_log'
  /** An acknowledgement of entries past the leader's own log. */
  | 'index_beyond_log'

/** Message fields the core fills in itself when sending. */
type Outgoing<M> = M extends RaftMessage ? Omit<M, 'from' | 'term'> & { term?: number } : never

export class RaftCore {
  readonly id: NodeId
  private readonly electionTicks: number
  private readonly heartbeatTicks: number
  private readonly preVoteEnabled: boolean
  private readonly checkQuorumEnabled: boolean
  private readonly random: () => number
  private readonly maxEntriesPerAppend: number
  private readonly maxAppendBytes: number

  private readonly log: RaftLog
  private currentTerm: number
  private votedFor: NodeId | null
  private state: State = 'follower'
  private leaderId: NodeId | null = null
  private currentConfig: ClusterConfig = { voters: [], learners: [] }
  /** Index of the entry (or snapshot) that set currentConfig. */
  private configIndex = 0

  private ticks = 0
  private electionElapsed = 0
  private heartbeatElapsed = 0
  private randomizedElectionTimeout = 0
  private readonly votes = new Map<NodeId, boolean>()
  private readonly peers = new Map<NodeId, Progress>()
  /** Index of the no-op this node appended on becoming leader. */
  private leaderStartIndex = 0

  private outbox: RaftMessage[] = []
  private readonly readyTracker: ReadyTracker

  /** Persisted state for the first node of a new cluster (or every node of a static one). */
  static bootstrapState(config: ClusterConfig): PersistedState {
    return {
      hardState: { term: 0, vote: null, commit: 0 },
      snapshot: { index: 0, term: 0, config: normalizeConfig(config), data: null },
      entries: [],
    }
  }

  /** Persisted state of a node joining an existing cluster: passive until a leader adds it. */
  static emptyState(): PersistedState {
    return { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] }
  }

  constructor(options: RaftOptions, persisted: PersistedState) {
    this.id = options.id
    this.electionTicks = options.electionTicks
    this.heartbeatTicks = options.heartbeatTicks
    this.preVoteEnabled = options.preVote ?? DEFAULTS.preVote
    this.checkQuorumEnabled = options.checkQuorum ?? DEFAULTS.checkQuorum
    this.random = options.random
    this.maxEntriesPerAppend = options.maxEntriesPerAppend ?? DEFAULTS.maxEntriesPerAppend
    this.maxAppendBytes = options.maxAppendBytes ?? DEFAULTS.maxAppendBytes
    if (!(this.heartbeatTicks >= 1 && this.electionTicks > this.heartbeatTicks)) {
      throw new Error('need 1 <= heartbeatTicks < electionTicks')
    }
    if (!(this.maxEntriesPerAppend >= 1)) throw new Error('maxEntriesPerAppend must be >= 1')

    const { hardState, snapshot, entries } = persisted
    this.log = new RaftLog(snapshot, entries, hardState.commit)
    this.currentTerm = hardState.term
    this.votedFor = hardState.vote
    this.refreshConfig()
    this.becomeFollower(this.currentTerm, null)
    this.readyTracker = new ReadyTracker(this.hardState(), this.softState())
  }

  // ---------------------------------------------------------------- accessors

  get role(): RaftRole {
    if (this.state === 'follower' && this.currentConfig.learners.includes(this.id)) return 'learner'
    return this.state
  }
  get term(): number {
    return this.currentTerm
  }
  get vote(): NodeId | null {
    return this.votedFor
  }
  get leader(): NodeId | null {
    return this.leaderId
  }
  get commitIndex(): number {
    return this.log.committed
  }
  get appliedIndex(): number {
    return this.log.applied
  }
  get firstIndex(): number {
    return this.log.firstIndex()
  }
  /** Term of the entry at `index`; undefined when compacted away (before the snapshot) or beyond the log. */
  termAt(index: number): number | undefined {
    return this.log.term(index)
  }
  get lastIndex(): number {
    return this.log.lastIndex()
  }
  /** Logical time: number of tick() calls since construction. */
  get tickCount(): number {
    return this.ticks
  }
  /** The config in effect (the latest one in the log, committed or not). */
  get config(): ClusterConfig {
    return cloneConfig(this.currentConfig)
  }
  /** True while a config entry is in the log but not yet committed. */
  get configChangePending(): boolean {
    return this.configIndex > this.log.committed
  }
  /** The latest snapshot (persisted or received), or null. */
  get snapshot(): Snapshot | null {
    return this.log.snapshot
  }
  /** The log entry at `index`, or undefined if compacted or not present. */
  entry(index: number): Entry | undefined {
    return this.log.entry(index)
  }
  /** Per-peer replication state; null unless this node is the leader. */
  progress(): PeerProgress[] | null {
    if (this.state !== 'leader') return null
    return [...this.peers.values()].map(pr => pr.view())
  }

  // ------------------------------------------------------------------ driving

  tick(): void {
    this.ticks++
    if (this.state === 'leader') this.tickLeader()
    else this.tickElection()
  }

  /**
   * Feeds one message to the core. Returns null when it was acted on (or ignored as stale, as Raft
   * ignores old terms), or why it was dropped: a message that no correct node sends changes
   * nothing, neither term nor leader nor log. It never throws for any message.
   */
  step(m: RaftMessage): StepRejection | null {
    if (m.to !== this.id) return null
    if (messageProblem(m) !== null) return 'invalid_message'
    if (m.term >= this.currentTerm) {
      if (m.type === 'heartbeat' && m.commit > this.log.lastIndex()) return 'commit_beyond_log'
      if (m.type === 'appendResp' && !m.reject && m.index > this.log.lastIndex()) return 'index_beyond_log'
    }
    this.stepChecked(m)
    return null
  }

  private stepChecked(m: RaftMessage): void {
    if (m.term > this.currentTerm) {
      if (m.type === 'preVote' || m.type === 'vote') {
        const forced = m.type === 'vote' && m.transfer
        const inLease = this.checkQuorumEnabled && this.leaderId !== null && this.electionElapsed < this.electionTicks
        // Leader lease: we heard from a live leader recently, so this candidate
        // is partitioned or slow; granting would only disrupt the cluster.
        if (!forced && inLease) return
      }
      if (m.type === 'preVote') {
        // A pre-vote never changes our term: that is its whole point.
      } else if (m.type === 'preVoteResp' && m.granted) {
        // Granted pre-votes carry the term we are about to campaign for.
      } else {
        const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot' || m.type === 'commit'
        this.becomeFollower(m.term, fromLeader ? m.from : null)
      }
    } else if (m.term < this.currentTerm) {
      if ((this.checkQuorumEnabled || this.preVoteEnabled) && (m.type === 'append' || m.type === 'heartbeat')) {
        // We may have raised our term while partitioned, and the lease makes
        // everyone ignore our vote requests: tell the stale leader our term so
        // it steps down and a fresh election lets us back in.
        this.send({ type: 'appendResp', to: m.from, reject: true, index: 0, hintIndex: 0, hintTerm: 0 })
      } else if (m.type === 'preVote') {
        // Tell the pre-candidate about the higher term so it stops campaigning.
        this.send({ type: 'preVoteResp', to: m.from, granted: false })
      }
      return
    }

    if (m.type === 'preVote' || m.type === 'vote') {
      this.handleVoteRequest(m)
      return
    }
    switch (this.state) {
      case 'leader':
        this.stepLeader(m)
        break
      case 'candidate':
      case 'precandidate':
        this.stepCandidate(m)
        break
      case 'follower':
        this.stepFollower(m)
        break
    }
  }

  /** Append a normal entry. Throws NotLeaderError unless this node is the leader. */
  propose(data: unknown): { index: number; term: number } {
    if (this.state !== 'leader') throw new NotLeaderError(this.leaderId)
    const entry = this.appendLocal('normal', data)
    this.broadcastAppend()
    return { index: entry.index, term: entry.term }
  }

  /**
   * Propose a new membership. Throws NotLeaderError or ConfigChangeError. The
   * new config takes effect on each node when appended to its log (see top).
   */
  proposeConfig(next: ClusterConfig): { index: number; term: number } {
    if (this.state !== 'leader') throw new NotLeaderError(this.leaderId)
    const config = normalizeConfig(next)
    checkConfigChange(config, {
      current: this.currentConfig,
      currentIndex: this.configIndex,
      commitIndex: this.log.committed,
      leaderStartIndex: this.leaderStartIndex,
    })
    const entry = this.appendLocal('config', config)
    this.broadcastAppend()
    return { index: entry.index, term: entry.term }
  }

  /**
   * The application saved its state machine as of applied index `index`
   * (data = that state). Drops log entries up to it; followers that need them
   * later get this snapshot instead. The adapter persists the returned
   * snapshot and may then delete its entries <= index.
   */
  compact(index: number, data: unknown): Snapshot {
    if (index > this.log.applied) throw new Error(`cannot compact at ${index}: applied only ${this.log.applied}`)
    if (index < this.log.firstIndex()) throw new Error(`already compacted through ${this.log.firstIndex() - 1}`)
    const snapshot: Snapshot = {
      index,
      term: this.log.term(index)!,
      config: cloneConfig(this.log.configAt(index).config),
      data,
    }
    this.log.compact(snapshot)
    return snapshot
  }

  hasReady(): boolean {
    return this.readyTracker.hasReady(this.log, this.outbox.length, this.hardState(), this.softState())
  }

  /**
   * Hand out pending work. The adapter must, in this order: persist
   * `snapshot` (replacing its whole log) and `entries` (first deleting its
   * entries with index >= entries[0].index) and `hardState` durably; only then
   * send `messages` (they promise votes and acknowledge entries that must
   * survive a crash); apply `committedEntries` (after restoring the state
   * machine from `snapshot`, if any); and call advance(). tick/step/propose
   * may be called between ready() and advance(); ready() may not. The Ready
   * shares objects with the core's log: serialize or copy, never mutate.
   */
  ready(): Ready {
    const rd = this.readyTracker.build(this.log, this.outbox, this.hardState(), this.softState())
    this.outbox = []
    return rd
  }

  /** The adapter persisted, sent and applied everything in the last ready(). */
  advance(): void {
    this.readyTracker.acknowledge(this.log)
    // The leader counts its own copy only once durable, so this may commit.
    if (this.state === 'leader' && this.maybeCommit()) this.onCommitAdvanced()
  }

  // ------------------------------------------------------------ role changes

  private becomeFollower(term: number, leader: NodeId | null): void {
    if (term > this.currentTerm) {
      this.currentTerm = term
      this.votedFor = null
    }
    this.state = 'follower'
    this.leaderId = leader
    this.votes.clear()
    this.peers.clear()
    this.resetTimers()
  }

  private campaign(kind: 'pre' | 'real', transfer = false): void {
    if (kind === 'pre') {
      this.state = 'precandidate'
    } else {
      this.state = 'candidate'
      this.currentTerm++
      this.votedFor = this.id
    }
    this.leaderId = null
    this.resetTimers()
    this.votes.clear()
    this.votes.set(this.id, true)
    if (this.tallyVotes()) return
    const requestTerm = kind === 'pre' ? this.currentTerm + 1 : this.currentTerm
    for (const voter of this.currentConfig.voters) {
      if (voter === this.id) continue
      const base = {
        to: voter,
        term: requestTerm,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
      }
      if (kind === 'pre') this.send({ type: 'preVote', ...base })
      else this.send({ type: 'vote', ...base, transfer })
    }
  }

  /** Acts on the election outcome; returns true if the election is over. */
  private tallyVotes(): boolean {
    const result = voteResult(this.currentConfig.voters, this.votes)
    if (result === 'won') {
      if (this.state === 'precandidate') this.campaign('real')
      else this.becomeLeader()
      return true
    }
    if (result === 'lost') {
      this.becomeFollower(this.currentTerm, null)
      return true
    }
    return false
  }

  private becomeLeader(): void {
    this.state = 'leader'
    this.leaderId = this.id
    this.votes.clear()
    this.resetTimers()
    this.peers.clear()
    this.syncPeers()
    // A leader may only count replicas of entries from its own term (§5.4.2,
    // Figure 8), so it appends one right away to commit earlier entries.
    this.leaderStartIndex = this.appendLocal('normal', null).index
    this.broadcastAppend()
  }

  /** After the config that removed this leader committed: hand over and step down. */
  private stepDownAfterRemoval(): void {
    const successor = this.mostUpToDateVoter()
    if (successor) this.send({ type: 'timeoutNow', to: successor.id })
    this.becomeFollower(this.currentTerm, null)
  }

  private mostUpToDateVoter(): Progress | null {
    let successor: Progress | null = null
    for (const pr of this.peers.values()) {
      if (!pr.isLearner && (successor === null || pr.matchIndex > successor.matchIndex)) successor = pr
    }
    return successor
  }

  /**
   * Whom transferLeadership(to) would hand over to now, or why it would not: `to` must be another
   * voter (without it, the most up-to-date one is taken) holding the leader's whole log, so its
   * campaign cannot fail for want of entries.
   */
  transferTarget(to?: NodeId): { ok: true; target: NodeId } | { ok: false; problem: TransferProblem } {
    if (this.state !== 'leader') return { ok: false, problem: 'not_leader' }
    const successor = to === undefined ? this.mostUpToDateVoter() : this.peers.get(to)
    if (successor === undefined || successor === null)
      return { ok: false, problem: to === undefined ? 'no_other_voter' : 'not_voter' }
    if (successor.isLearner) return { ok: false, problem: 'not_voter' }
    if (successor.matchIndex < this.log.lastIndex()) return { ok: false, problem: 'not_caught_up' }
    return { ok: true, target: successor.id }
  }

  /**
   * Hands leadership over: the voter holding the whole log (`to`, or the most up-to-date one) is
   * told to campaign at once (timeoutNow, which its peers honour without waiting out a leader
   * lease), and this node steps down so it accepts nothing more. The cluster then has a leader
   * within a round trip instead of an election timeout. Used before a graceful stop and by an
   * operator's transfer. Returns the successor, or null when transferTarget(to) names a problem.
   */
  transferLeadership(to?: NodeId): NodeId | null {
    const target = this.transferTarget(to)
    if (!target.ok) return null
    this.send({ type: 'timeoutNow', to: target.target })
    this.becomeFollower(this.currentTerm, null)
    return target.target
  }

  /**
   * An outside failure detector saw the connection to `peer` close (a killed process closes its
   * sockets at once). A follower whose leader that is forgets it (so it grants pre-votes without
   * waiting out the leader lease, as etcd's ForgetLeader) and campaigns after
   * 1 + r * RANK_SPACING_TICKS ticks, r its rank among the other voters, instead of an election
   * timeout. Pre-vote keeps this safe: voters
   * still hearing from a live leader refuse, so a connection lost on one side only disturbs nobody.
   * Returns whether it acted.
   */
  leaderUnreachable(peer: NodeId): boolean {
    if (this.state !== 'follower' || this.leaderId !== peer) return false
    this.leaderId = null
    // Survivors that all saw the close would split the vote if they campaigned together: by rank,
    // the first campaigns alone and the others grant it its votes.
    const rank = Math.max(
      0,
      this.currentConfig.voters
        .filter(v => v !== peer)
        .sort()
        .indexOf(this.id),
    )
    const ticksLeft = 1 + rank * RANK_SPACING_TICKS
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - ticksLeft)
    return true
  }

  // ------------------------------------------------------------------ ticking

  private tickElection(): void {
    this.electionElapsed++
    if (this.isPromotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.campaign(this.preVoteEnabled ? 'pre' : 'real')
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0
      if (this.checkQuorumEnabled) {
        const active = quorumActive(
          this.currentConfig.voters,
          id => id === this.id || this.peers.get(id)?.recentActive === true,
        )
        if (!active) {
          this.becomeFollower(this.currentTerm, null)
          return
        }
        for (const pr of this.peers.values()) pr.recentActive = false
      }
    }
    for (const pr of this.peers.values()) {
      // A snapshot message may have been dropped: try again from probing.
      if (pr.state === 'snapshot' && this.ticks - pr.snapshotSentTick >= this.electionTicks) pr.becomeProbe()
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0
      for (const pr of this.peers.values()) {
        const commit = Math.min(pr.matchIndex, this.log.committed)
        if (this.heartbeatRedundant(pr, commit)) continue
        this.send({ type: 'heartbeat', to: pr.id, commit })
        pr.commitSent = Math.max(pr.commitSent, commit)
      }
    }
  }

  /**
   * While entries flow, a heartbeat tells a follower nothing the replication traffic did not: it
   * got an append or commit message since the last heartbeat (resetting its election timer), it
   * answered within that time (so check-quorum counts it), and it was sent the commit index a
   * heartbeat would carry. Under load heartbeats were ~15% of a leader's raft messages. A peer that
   * goes quiet, lags or is probed gets heartbeats again at once.
   */
  private heartbeatRedundant(pr: Progress, commit: number): boolean {
    // Skipping one round lets up to two heartbeat intervals pass without a message: only when
    // that stays well inside the election timeout.
    if (2 * this.heartbeatTicks >= this.electionTicks) return false
    const recent = (tick: number | null): boolean => tick !== null && this.ticks - tick <= this.heartbeatTicks
    return pr.state === 'replicate' && recent(pr.lastSentTick) && recent(pr.lastContactTick) && pr.commitSent >= commit
  }

  // ------------------------------------------------------------ step by role

  private handleVoteRequest(m: PreVoteMessage | VoteMessage): void {
    const canVote =
      this.votedFor === m.from ||
      (this.votedFor === null && this.leaderId === null) ||
      (m.type === 'preVote' && m.term > this.currentTerm)
    const responseType = m.type === 'preVote' ? 'preVoteResp' : 'voteResp'
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      this.send({ type: responseType, to: m.from, term: m.term, granted: true })
      if (m.type === 'vote') {
        this.electionElapsed = 0
        this.votedFor = m.from
      }
    } else {
      this.send({ type: responseType, to: m.from, granted: false })
    }
  }

  private stepFollower(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
      case 'commit':
        this.electionElapsed = 0
        this.leaderId = m.from
        if (m.type === 'append') this.handleAppend(m)
        else if (m.type === 'heartbeat') this.handleHeartbeat(m)
        else if (m.type === 'commit') this.handleCommit(m)
        else this.handleSnapshot(m)
        break
      case 'timeoutNow':
        if (this.isPromotable()) this.campaign('real', true)
        break
      default:
        break // stale responses to a role we no longer have
    }
  }

  private stepCandidate(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
      case 'commit':
        // A leader exists for our term: it won, we lost.
        this.becomeFollower(m.term, m.from)
        this.stepFollower(m)
        break
      case 'preVoteResp':
        if (this.state !== 'precandidate') break
        // Ignore grants left over from a pre-campaign at another term.
        if (m.granted && m.term !== this.currentTerm + 1) break
        this.votes.set(m.from, m.granted)
        this.tallyVotes()
        break
      case 'voteResp':
        if (this.state !== 'candidate') break
        this.votes.set(m.from, m.granted)
        this.tallyVotes()
        break
      default:
        break
    }
  }

  private stepLeader(m: RaftMessage): void {
    if (m.type === 'appendResp') this.handleAppendResponse(m)
    else if (m.type === 'heartbeatResp') this.handleHeartbeatResponse(m)
  }

  // --------------------------------------------------------- follower handlers

  private handleAppend(m: AppendMessage): void {
    if (m.prevLogIndex < this.log.committed) {
      // Stale or duplicated: everything up to our commit already matches.
      this.sendAppendResponse(m.from, false, this.log.committed)
      return
    }
    const configMayChange = this.configIndex > m.prevLogIndex || m.entries.some(e => e.type === 'config')
    const lastNewIndex = this.log.maybeAppend(m.prevLogIndex, m.prevLogTerm, m.commit, m.entries)
    if (lastNewIndex !== null) {
      if (configMayChange) this.refreshConfig()
      this.sendAppendResponse(m.from, false, lastNewIndex)
      return
    }
    const hintIndex = this.log.findConflictByTerm(Math.min(m.prevLogIndex, this.log.lastIndex()), m.prevLogTerm)
    this.send({
      type: 'appendResp',
      to: m.from,
      reject: true,
      index: m.prevLogIndex,
      hintIndex,
      hintTerm: this.log.term(hintIndex) ?? 0,
    })
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(m.commit)
    this.send({ type: 'heartbeatResp', to: m.from })
  }

  private handleCommit(m: CommitMessage): void {
    if (this.log.matchTerm(m.commit, m.logTerm)) this.log.commitTo(m.commit)
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const snapshot = m.snapshot
    if (snapshot.index <= this.log.committed) {
      this.sendAppendResponse(m.from, false, this.log.committed)
    } else if (this.log.matchTerm(snapshot.index, snapshot.term)) {
      // We already hold the snapshot's last entry, so just learn the commit.
      this.log.commitTo(snapshot.index)
      this.sendAppendResponse(m.from, false, snapshot.index)
    } else {
      this.log.restore(snapshot)
      this.refreshConfig()
      this.sendAppendResponse(m.from, false, snapshot.index)
    }
  }

  private sendAppendResponse(to: NodeId, reject: boolean, index: number): void {
    this.send({ type: 'appendResp', to, reject, index, hintIndex: 0, hintTerm: 0 })
  }

  // ----------------------------------------------------------- leader handlers

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.peers.get(m.from)
    if (!pr) return
    pr.contact(this.ticks)
    if (m.reject) {
      const hint = this.log.findConflictByTerm(m.hintIndex, m.hintTerm)
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe()
        this.sendAppend(pr)
      }
      return
    }
    const updated = pr.maybeUpdate(m.index)
    if (pr.state === 'probe') pr.becomeReplicate()
    else if (pr.state === 'snapshot' && pr.matchIndex >= pr.pendingSnapshotIndex) pr.becomeReplicate()
    if (updated && this.maybeCommit()) {
      this.onCommitAdvanced()
      if (this.state !== 'leader') return // stepped down after its own removal
    }
    // Stream whatever the follower is still missing, one bounded batch per message; if it has
    // everything, it may still not know that what it just wrote committed.
    let sent = false
    while (this.sendAppend(pr, false)) {
      sent = true
      if (pr.state !== 'replicate') break
    }
    if (!sent) this.maybeSendCommit(pr)
  }

  /** Tells `pr` the commit index if it was sent entries it does not know are committed. */
  private maybeSendCommit(pr: Progress): boolean {
    if (pr.state !== 'replicate') return false
    // In replicate state everything below nextIndex was sent, in order, on one stream. What did
    // not arrive makes the follower ignore this (its term check), and the next append or
    // heartbeat tells it the commit again.
    const commit = Math.min(pr.nextIndex - 1, this.log.committed)
    const logTerm = this.log.term(commit)
    if (commit <= pr.commitSent || logTerm === undefined) return false
    this.send({ type: 'commit', to: pr.id, commit, logTerm })
    pr.lastSentTick = this.ticks
    pr.commitSent = commit
    return true
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.peers.get(m.from)
    if (!pr) return
    pr.contact(this.ticks)
    pr.probeSent = false
    // Also re-sends entries whose append was lost: an empty append at our last
    // index is rejected by a follower missing entries, which restarts probing.
    if (pr.matchIndex < this.log.lastIndex()) this.sendAppend(pr)
  }

  /** Returns true if a message was sent. */
  private sendAppend(pr: Progress, sendIfEmpty = true): boolean {
    if (pr.isPaused()) return false
    const prevLogIndex = pr.nextIndex - 1
    const prevLogTerm = this.log.term(prevLogIndex)
    const candidates = this.log.slice(pr.nextIndex, this.log.lastIndex() + 1, this.maxEntriesPerAppend)
    if (prevLogTerm === undefined || candidates === undefined) return this.sendSnapshot(pr)
    const entries = this.withinAppendBytes(candidates)
    if (entries.length === 0 && !sendIfEmpty) return false
    this.send({ type: 'append', to: pr.id, prevLogIndex, prevLogTerm, entries, commit: this.log.committed })
    pr.lastSentTick = this.ticks
    pr.sentEntries(prevLogIndex + entries.length)
    // The follower caps the commit at the last entry of this append (if it accepts it).
    pr.commitSent = Math.max(pr.commitSent, Math.min(this.log.committed, prevLogIndex + entries.length))
    return true
  }

  /** The longest prefix of `entries` within maxAppendBytes, and never empty if `entries` is not. */
  private withinAppendBytes(entries: Entry[]): Entry[] {
    let bytes = 0
    for (let n = 0; n < entries.length; n++) {
      bytes += entryBytes(entries[n]!)
      if (n > 0 && bytes > this.maxAppendBytes) return entries.slice(0, n)
    }
    return entries
  }

  private sendSnapshot(pr: Progress): boolean {
    const snapshot = this.log.snapshot
    if (!snapshot) throw new Error(`entries for ${pr.id} compacted but no snapshot`)
    this.send({ type: 'snapshot', to: pr.id, snapshot })
    pr.becomeSnapshot(snapshot.index, this.ticks)
    return true
  }

  private broadcastAppend(): void {
    for (const pr of this.peers.values()) this.sendAppend(pr)
  }

  private maybeCommit(): boolean {
    const index = committedIndex(this.currentConfig.voters, id =>
      id === this.id ? this.log.stableIndex : (this.peers.get(id)?.matchIndex ?? 0),
    )
    if (index <= this.log.committed || this.log.term(index) !== this.currentTerm) return false
    this.log.commitTo(index)
    return true
  }

  private onCommitAdvanced(): void {
    // Tell followers the new commit index now rather than at the next heartbeat: with entries
    // they still lack; alone, unanswered, if they were sent what committed (even if still
    // writing it); else (probing) in an empty append, whose log check makes it safe to use.
    for (const pr of this.peers.values()) {
      if (this.sendAppend(pr, false) || this.maybeSendCommit(pr)) continue
      if (pr.commitSent < this.log.committed) this.sendAppend(pr)
    }
    if (!this.isPromotable() && this.log.committed >= this.configIndex) this.stepDownAfterRemoval()
  }

  // ------------------------------------------------------------------ helpers

  private appendLocal(type: EntryType, data: unknown): Entry {
    const entry: Entry = { term: this.currentTerm, index: this.log.lastIndex() + 1, type, data }
    this.log.append([entry])
    if (type === 'config') this.refreshConfig()
    return entry
  }

  /** Recompute the config from the log (it changes on append and truncation). */
  private refreshConfig(): void {
    const { config, index } = this.log.configAt(this.log.lastIndex())
    this.currentConfig = config
    this.configIndex = index
    if (this.state === 'leader') this.syncPeers()
  }

  /** Make the leader's progress map match the config: one entry per peer. */
  private syncPeers(): void {
    const learners = new Set(this.currentConfig.learners)
    const members = new Set([...this.currentConfig.voters, ...this.currentConfig.learners])
    for (const id of this.peers.keys()) if (!members.has(id)) this.peers.delete(id)
    for (const id of members) {
      if (id === this.id) continue
      const existing = this.peers.get(id)
      if (existing) {
        existing.isLearner = learners.has(id)
      } else {
        const pr = new Progress(id, learners.has(id), this.log.lastIndex() + 1)
        // Give a new peer a full check-quorum period before it counts as silent.
        pr.recentActive = true
        this.peers.set(id, pr)
      }
    }
  }

  private isPromotable(): boolean {
    return this.currentConfig.voters.includes(this.id)
  }

  private resetTimers(): void {
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    const jitter = Math.min(Math.floor(this.random() * this.electionTicks), this.electionTicks - 1)
    this.randomizedElectionTimeout = this.electionTicks + Math.max(0, jitter)
  }

  private hardState(): HardState {
    return { term: this.currentTerm, vote: this.votedFor, commit: this.log.committed }
  }

  private softState(): SoftState {
    return { role: this.role, leader: this.leaderId, term: this.currentTerm }
  }

  private send(m: Outgoing<RaftMessage>): void {
    this.outbox.push({ ...m, from: this.id, term: m.term ?? this.currentTerm } as RaftMessage)
  }
}
