// RaftNode: the thin shell that drives the pure RaftCore with a clock, a disk
// (LogStore) and a network (RaftTransport), and applies committed entries to
// a state machine.
//
// One serialized ready loop does all I/O, in the order raft.ts demands:
// persist (snapshot, entries, hard state; one fdatasync) -> send -> apply ->
// advance() -> maybe compact. Only one cycle runs at a time; ticks, incoming
// messages and proposals may touch the core meanwhile (raft.ts allows that
// between ready() and advance()) and just re-arm the loop.
//
// Restart: the core rebuilt from the store re-delivers every committed entry
// after the stored snapshot (its applied index starts at the snapshot), so
// open() only restores the state machine from that snapshot; the ready loop
// replays the rest. Applying them here as well would apply them twice.
//
// Failure is fail-stop: a store error or a throwing state machine stops the
// node (pending proposals reject), because carrying on could acknowledge
// writes that are not on disk or let this replica diverge.

import { LogStore } from '../storage/log-store.js'
import { RaftCore } from '../core/raft.js'
import { RaftGate } from '../core/raft-gate.js'
import type { MessageEnvelope } from '../core/authorize.js'
import { ProposalDroppedError } from './raft-node-errors.js'
import { ProposalTracker, type ProposalResult } from './raft-node-proposals.js'
import type {
  RaftNodeLogger,
  RaftNodeOptions,
  TransferOutcome,
  RaftNodeStats,
  RaftRejectionReason,
  RaftStateMachine,
} from './raft-node-types.js'
import type { RaftTransport } from '../transport/transport.js'
import { cloneConfig } from '../core/raft-config.js'
import type {
  ClusterConfig,
  Entry,
  HardState,
  NodeId,
  PeerProgress,
  PersistedState,
  RaftMessage,
  RaftMessageType,
  RaftRole,
  Ready,
  Snapshot,
  SoftState,
} from '../core/types.js'

export type { ProposalResult } from './raft-node-proposals.js'

const SILENT: RaftNodeLogger = { debug() {}, info() {}, warn() {}, error() {} }
/** A vouch lasts this many election timeouts: the leader retries its append every heartbeat and
 * its snapshot every election timeout, so this leaves room for several tries. */
const VOUCH_ELECTION_TIMEOUTS = 10
/** A learner's vote request is heard after this many election timeouts without a leader (6 s at
 * the defaults): a failover with a majority of voters alive is over long before (authorize.ts). */
const LEARNER_VOTE_ELECTION_TIMEOUTS = 20
/** A node waking from sleep catches up at most this many election timeouts of ticks: by then
 * every vouch and rate limit of the gate has run out, so more would change nothing. */
const CATCH_UP_ELECTION_TIMEOUTS = Math.max(VOUCH_ELECTION_TIMEOUTS, LEARNER_VOTE_ELECTION_TIMEOUTS) + 1

export class RaftNode {
  private readonly proposals = new ProposalTracker()
  /** The hard state last written to disk, and the newest one the core produced. */
  private durableHardState: HardState
  private newestHardState: HardState | null = null
  private readonly logger: RaftNodeLogger
  private timer: NodeJS.Timeout | null = null
  private readonly tickMs: number
  private readonly electionTicks: number
  /** When the tick timer stopped because this node is outside the configuration; null while ticking. */
  private asleepSince: number | null = null
  /** The running ready loop, if any: never two at once. */
  private loop: Promise<void> | null = null
  private stopping: Promise<void> | null = null
  private lastSoft: SoftState
  private readonly counters: RaftNodeStats
  /** What the state machine has applied. The core's appliedIndex runs ahead of it while a
   * snapshot from the leader is restored in the core but not yet on disk and in the machine, and
   * behind it while committed entries, applied, wait for the write of newer ones (advance()). */
  private stateMachineIndex: number
  private readonly gate: RaftGate
  private readonly onRejected: NonNullable<RaftNodeOptions['onRejected']>
  private readonly onLeaderChange: RaftNodeOptions['onLeaderChange']
  private readonly onCommitted: RaftNodeOptions['onCommitted']
  /** The leader last reported to onLeaderChange, and its term. */
  private knownLeader: { id: NodeId; term: number } | null = null
  private readonly observers: Pick<RaftNodeOptions, 'onSoftState' | 'onConfigCommitted'>
  /** The configuration last reported as committed. */
  private committedConfig: ClusterConfig
  /** The commit index the node opened with: entries up to it are replayed history. */
  readonly openedCommitIndex: number
  /** An operator's transfer is under way: one at a time. */
  private transferring = false

  private constructor(
    readonly id: NodeId,
    private readonly core: RaftCore,
    private readonly store: LogStore,
    private readonly transport: RaftTransport,
    private readonly stateMachine: RaftStateMachine,
    private readonly compactEvery: number,
    loadedSnapshotIndex: number,
    logger: RaftNodeLogger,
    options: RaftNodeOptions,
  ) {
    this.logger = logger
    this.tickMs = options.tickMs
    this.electionTicks = options.electionTicks
    this.lastSoft = { role: core.role, leader: core.leader, term: core.term }
    this.counters = {
      loadedSnapshotIndex,
      compactions: 0,
      snapshotsInstalled: 0,
      readyCycles: 0,
      messagesRejected: 0,
    }
    this.durableHardState = store.loaded().hardState
    this.stateMachineIndex = core.appliedIndex
    this.gate = new RaftGate(core, {
      vouchers: (options.vouchers ?? []).filter(v => v !== id),
      ...(options.knownVoters === undefined ? {} : { knownVoters: options.knownVoters }),
      askEveryTicks: options.electionTicks,
      vouchTicks: VOUCH_ELECTION_TIMEOUTS * options.electionTicks,
      learnerVoteAfterTicks: LEARNER_VOTE_ELECTION_TIMEOUTS * options.electionTicks,
    })
    this.onRejected = options.onRejected ?? (() => {})
    this.onLeaderChange = options.onLeaderChange
    this.onCommitted = options.onCommitted
    this.observers = { onSoftState: options.onSoftState, onConfigCommitted: options.onConfigCommitted }
    this.committedConfig = cloneConfig(core.config)
    this.openedCommitIndex = core.commitIndex
  }

  /** Opens the store, rebuilds the core and the state machine, and starts ticking. */
  static async open(options: RaftNodeOptions): Promise<RaftNode> {
    checkOptions(options)
    const store = await LogStore.open(options.dataDir)
    try {
      const persisted = await loadOrBootstrap(store, options)
      const core = new RaftCore(
        {
          id: options.id,
          electionTicks: options.electionTicks,
          heartbeatTicks: options.heartbeatTicks,
          random: options.random ?? Math.random,
        },
        persisted,
      )
      if (persisted.snapshot) {
        // Checked first, so a snapshot stored before it was checked on arrival fails the start
        // with the file to look at, not with whatever restore() trips over.
        const problem = options.stateMachine.validateSnapshot(persisted.snapshot.data)
        if (problem !== null) {
          throw new Error(
            `${store.snapshotPath}: the stored snapshot (index ${persisted.snapshot.index}) cannot be restored: ${problem}`,
          )
        }
        options.stateMachine.restore(persisted.snapshot.data)
      }
      const node = new RaftNode(
        options.id,
        core,
        store,
        options.transport,
        options.stateMachine,
        options.compactEvery,
        persisted.snapshot?.index ?? 0,
        options.logger ?? SILENT,
        options,
      )
      node.start()
      return node
    } catch (err) {
      await store.close().catch(() => {})
      throw err
    }
  }

  // ---------------------------------------------------------------- status

  get role(): RaftRole {
    return this.core.role
  }
  get term(): number {
    return this.core.term
  }
  get leader(): NodeId | null {
    return this.core.leader
  }
  get commitIndex(): number {
    return this.core.commitIndex
  }
  /** What the state machine has applied (it may run ahead of the core while this node writes). */
  get appliedIndex(): number {
    return this.stateMachineIndex
  }
  get lastIndex(): number {
    return this.core.lastIndex
  }
  /** The membership in effect (latest in the log, committed or not). */
  get config(): ClusterConfig {
    return this.core.config
  }
  /** Logical clock of the core; PeerProgress.lastContactTick is measured on it. */
  get tickCount(): number {
    return this.core.tickCount
  }
  /** A configuration change is appended but not yet committed. */
  get configChangePending(): boolean {
    return this.core.configChangePending
  }
  /** Per-peer replication state; null unless leader. */
  progress(): PeerProgress[] | null {
    return this.core.progress()
  }
  /** Entries in the log after the latest snapshot. */
  get logEntries(): number {
    return this.core.lastIndex - (this.core.snapshot?.index ?? 0)
  }
  /** Size of the latest snapshot on disk; 0 before the first. */
  get snapshotBytes(): number {
    return this.store.snapshotBytes
  }
  get stats(): RaftNodeStats {
    return { ...this.counters }
  }
  get stopped(): boolean {
    return this.stopping !== null
  }

  // ------------------------------------------------------------- proposals

  /**
   * Appends `command` (a JSON value, not null: null is the leader's no-op)
   * and resolves once that exact entry (index and term) has been applied
   * locally. Rejects with NotLeaderError (naming the known leader), with
   * ProposalDroppedError when another entry took its index, when a snapshot
   * hides the outcome, or when the node stops first.
   */
  async propose(command: unknown): Promise<ProposalResult> {
    return await this.append(command).applied
  }

  /**
   * propose(), but the entry's place in the log is known at once (it is appended, not yet
   * committed): a leader answering a forwarded write tells the forwarding node where to look,
   * and that node waits for the entry itself (awaitApplied) instead of for a second answer.
   */
  append(command: unknown): ProposalResult & { applied: Promise<ProposalResult> } {
    this.assertRunning()
    const data = toJson(command)
    if (data === null) throw new TypeError('a command cannot be null: null is reserved for the leader no-op')
    const proposed = this.core.propose(data)
    const applied = this.track(proposed)
    const onCommitted = this.onCommitted
    if (onCommitted !== undefined) {
      const appendedMs = performance.now()
      applied.then(
        () => {
          onCommitted(performance.now() - appendedMs)
        },
        () => {},
      )
    }
    return { ...proposed, applied }
  }

  /**
   * Resolves once the entry (index, term) has been applied on this node, whichever node proposed
   * it: applying it here proves it committed. Rejects with ProposalDroppedError 'overwritten' when
   * another entry was applied at that index (it never committed, so resending is safe), 'unknown'
   * when a snapshot hides which entry it was, 'stopped' when the node stops first. A waiter for an
   * index this node never reaches stays until the node stops.
   */
  async awaitApplied(index: number, term: number): Promise<ProposalResult> {
    this.assertRunning()
    if (index > this.stateMachineIndex) return await this.proposals.add(index, term)
    const appliedTerm = this.core.termAt(index)
    if (appliedTerm === term) return { index, term }
    if (appliedTerm === undefined) {
      throw new ProposalDroppedError(
        'unknown',
        index,
        term,
        `entry ${index} (term ${term}) is covered by a snapshot; outcome unknown`,
      )
    }
    throw new ProposalDroppedError('overwritten', index, term, `entry ${index} has term ${appliedTerm}, not ${term}`)
  }

  /** Proposes a membership change (one voter at a time) and resolves once it is applied. */
  async proposeConfig(config: ClusterConfig): Promise<ProposalResult> {
    this.assertRunning()
    return await this.track(this.core.proposeConfig(toJson(config) as ClusterConfig))
  }

  // -------------------------------------------------------------- lifecycle

  /**
   * Before a graceful stop: a leader hands leadership to its most up-to-date voter and waits
   * (at most `timeoutMs`) until the hand-over message has been sent. Proposals pending here
   * are then answered by the next leader's log (they may still commit).
   */
  async handOver(timeoutMs: number): Promise<NodeId | null> {
    if (this.stopping) return null
    const successor = this.core.transferLeadership()
    if (successor === null) return null
    this.logger.info({ peer: successor }, 'handing leadership over before stopping')
    this.schedule()
    const deadline = Date.now() + timeoutMs
    while ((this.loop || this.core.hasReady()) && Date.now() < deadline) {
      await (this.loop ?? new Promise(resolve => setTimeout(resolve, 5)))
    }
    return successor
  }

  /**
   * An operator's hand-over: leadership moves to voter `to` (null: the most up-to-date voter).
   * Waits up to `catchUpMs` for the target to hold the whole log (the leader keeps replicating
   * meanwhile), tells it to campaign at once, and resolves once this node has heard of a leader
   * of a later term, or after `electMs` without one. The leader that answers is usually the
   * target, but an ordinary election may pick another voter if its campaign failed.
   */
  async transferLeadership(to: NodeId | null, opts: { catchUpMs: number; electMs: number }): Promise<TransferOutcome> {
    this.assertRunning()
    if (this.transferring) return { ok: false, problem: 'busy' }
    this.transferring = true
    try {
      const fromTerm = this.core.term
      const catchUpUntil = Date.now() + opts.catchUpMs
      for (;;) {
        const target = this.core.transferTarget(to ?? undefined)
        if (target.ok) break
        if (target.problem !== 'not_caught_up' || Date.now() >= catchUpUntil || this.stopping)
          return { ok: false, problem: target.problem }
        await sleep(this.tickMs)
      }
      const successor = this.core.transferLeadership(to ?? undefined)
      if (successor === null) return { ok: false, problem: 'not_leader' }
      this.logger.info({ peer: successor, term: fromTerm }, 'handing leadership over on request')
      this.schedule()
      const electUntil = Date.now() + opts.electMs
      while (Date.now() < electUntil && !this.stopping) {
        await sleep(this.tickMs)
        const leader = this.core.leader
        if (leader !== null && this.core.term > fromTerm)
          return { ok: true, target: successor, leader, term: this.core.term }
      }
      return { ok: false, problem: 'timeout', target: successor }
    } finally {
      this.transferring = false
    }
  }

  /**
   * Stops like a crash: no further tick, message, write or send. A write
   * already in flight finishes (the store closes after it), but nothing
   * produced alongside it is sent (the committed entries it came with may
   * have been applied). Pending proposals reject with
   * ProposalDroppedError('stopped'): their entries may still commit.
   */
  async stop(cause?: Error): Promise<void> {
    if (this.stopping) return await this.stopping
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.asleepSince = null
    this.proposals.rejectAll(
      (index, term) =>
        new ProposalDroppedError('stopped', index, term, `node ${this.id} stopped before index ${index} was applied`, {
          cause,
        }),
    )
    this.stopping = (async () => {
      await this.loop?.catch(() => {})
      await this.store.close()
    })()
    return await this.stopping
  }

  // -------------------------------------------------------------- internals

  private start(): void {
    this.transport.onMessage(
      msg => {
        this.receive(msg)
      },
      envelope => this.admit(envelope),
    )
    this.transport.onConfigQuery(from => this.gate.answer(from))
    this.transport.onPeerGone(peer => {
      this.onPeerGone(peer)
    })
    this.wake()
    // The restored core may already have committed entries to replay.
    this.schedule()
  }

  private onTick(): void {
    if (this.stopping) return
    this.core.tick()
    this.schedule()
    if (!this.inConfig()) this.sleep()
  }

  /** A worker (a node outside the configuration) hears no Raft message and has nothing to time:
   * it keeps no timer, so an idle worker costs nothing here. A message or a proposal wakes it. */
  private inConfig(): boolean {
    const config = this.core.config
    return config.voters.includes(this.id) || config.learners.includes(this.id)
  }

  private sleep(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.asleepSince = Date.now()
  }

  private wake(): void {
    if (this.timer !== null || this.stopping) return
    if (this.asleepSince !== null) {
      // The gate's vouches and rate limits count ticks: age them as if the node had ticked.
      const missed = Math.floor((Date.now() - this.asleepSince) / this.tickMs)
      const ticks = Math.min(missed, CATCH_UP_ELECTION_TIMEOUTS * this.electionTicks)
      for (let i = 0; i < ticks; i++) this.core.tick()
      this.asleepSince = null
    }
    this.timer = setInterval(() => {
      this.onTick()
    }, this.tickMs)
  }

  /** The connection to the leader closed: campaign now rather than after an election timeout. */
  private onPeerGone(peer: NodeId): void {
    if (this.stopping || !this.core.leaderUnreachable(peer)) return
    this.logger.info({ peer }, 'lost every connection to the leader: campaigning without waiting for a timeout')
    this.wake()
    this.schedule()
  }

  private receive(msg: RaftMessage): void {
    this.wake()
    if (this.stopping || msg.to !== this.id || !this.admit(msg)) return
    if (msg.type === 'snapshot') {
      const problem = this.stateMachine.validateSnapshot(msg.snapshot.data)
      if (problem !== null) {
        this.reject(msg.type, msg.from, 'invalid_snapshot', problem)
        return
      }
    }
    let rejection
    try {
      rejection = this.core.step(msg)
    } catch (err) {
      // The core throws only on a broken invariant of its own, never for what a message holds.
      this.fail(err, 'raft core rejected a message')
      return
    }
    if (rejection !== null) this.reject(msg.type, msg.from, rejection)
    this.schedule()
  }

  /** The gate: false (and counted) for a message this node must not take from its sender. */
  private admit(envelope: MessageEnvelope | RaftMessage): boolean {
    if (this.stopping) return false
    this.wake()
    const verdict = this.gate.check(envelope)
    if (verdict === 'ok') return true
    this.reject(envelope.type, envelope.from, verdict)
    if (verdict === 'not_voter') this.askVouchers()
    return false
  }

  private reject(type: RaftMessageType, from: NodeId, reason: RaftRejectionReason, detail?: string): void {
    this.counters.messagesRejected++
    this.onRejected(type, reason)
    this.logger.debug({ type, peer: from, reason, detail }, 'dropped raft message')
  }

  /** A sender this node does not know as a voter may lead a config it has not seen yet: ask the
   * vouchers (at most one round per election timeout) which voters they know. */
  private askVouchers(): void {
    for (const target of this.gate.targetsToAsk()) {
      this.transport.askConfig(target).then(
        answer => {
          if (!this.stopping) this.gate.vouch(answer)
        },
        (err: unknown) => {
          this.logger.debug({ peer: target, err: String(err) }, 'voucher did not answer')
        },
      )
    }
  }

  private track(result: ProposalResult): Promise<ProposalResult> {
    this.wake()
    const done = this.proposals.add(result.index, result.term)
    this.schedule()
    return done
  }

  private assertRunning(): void {
    if (this.stopping) throw new Error(`raft node ${this.id} is stopped`)
  }

  /** Starts the ready loop unless it is running (it re-checks before it exits). */
  private schedule(): void {
    if (this.loop || this.stopping || !this.core.hasReady()) return
    this.loop = this.runReadyLoop()
      .catch((err: unknown) => this.fail(err, 'ready cycle failed'))
      .finally(() => {
        this.loop = null
        // Work that arrived while the loop was finishing would otherwise wait for the next tick.
        this.schedule()
      })
  }

  private async runReadyLoop(): Promise<void> {
    while (!this.stopping && this.core.hasReady()) {
      const rd = this.core.ready()
      const early = this.sendsBeforePersist(rd)
      for (const msg of rd.messages) if (early(msg)) this.transport.send(msg)
      // Committed entries are on a majority of disks already, so they need not wait for this
      // node's write of newer entries (etcd applies them in parallel with its WAL write too).
      // Under steady load a follower always has newer entries to write: applying after the write
      // delayed every apply, and with it every task launch, by one fsync. Entries that come
      // after a snapshot wait for the snapshot, which is installed once it is on disk.
      const applyEarly = !rd.snapshot
      if (applyEarly) for (const entry of rd.committedEntries) this.apply(entry)
      await this.persist(rd)
      if (this.stopping) return // crashed after the write: nothing else it enables happens
      for (const msg of rd.messages) if (!early(msg)) this.transport.send(msg)
      if (rd.snapshot) this.installSnapshot(rd.snapshot)
      if (!applyEarly) for (const entry of rd.committedEntries) this.apply(entry)
      this.core.advance()
      this.counters.readyCycles++
      this.noteSoftState(rd.softState)
      this.noteCommittedConfig()
      await this.maybeCompact()
    }
  }

  /**
   * A leader may send its appends while its own disk write is in flight (Raft thesis §10.2.1):
   * the core counts the leader's own copy towards a commit only once it is stable (after
   * advance()), so followers writing in parallel with the leader cannot commit anything that is
   * not on a majority of disks, and a commit costs one fsync of latency instead of two. Only the
   * replication messages of a leader whose term and vote are already durable go early; everything
   * else (votes, acknowledgements) still waits for the write it depends on.
   */
  private sendsBeforePersist(rd: Ready): (msg: RaftMessage) => boolean {
    const hs = rd.hardState
    const durable =
      hs === undefined || (hs.term === this.durableHardState.term && hs.vote === this.durableHardState.vote)
    if (rd.softState.role !== 'leader' || !durable) return () => false
    return msg => msg.type === 'append' || msg.type === 'heartbeat' || msg.type === 'snapshot'
  }

  /**
   * Term and vote must be durable before any message that depends on them, and entries before
   * they are acknowledged; the commit index need not be (a restarted node learns it again from
   * the leader, and its log holds everything it acknowledged). So a Ready that only advances the
   * commit index costs no fsync: the newest commit rides along with the next save instead. That
   * halves the fsyncs per write on every node.
   */
  private async persist(rd: Ready): Promise<void> {
    if (rd.hardState) this.newestHardState = rd.hardState
    const durable = this.durableHardState
    const termOrVoteChanged =
      rd.hardState !== undefined && (rd.hardState.term !== durable.term || rd.hardState.vote !== durable.vote)
    if (!rd.snapshot && rd.entries.length === 0 && !termOrVoteChanged) return
    const hardState = this.newestHardState ?? undefined
    await this.store.save({ snapshot: rd.snapshot, entries: rd.entries, hardState })
    if (hardState) this.durableHardState = hardState
  }

  private installSnapshot(snapshot: Snapshot): void {
    this.stateMachine.restore(snapshot.data)
    this.stateMachineIndex = snapshot.index
    this.proposals.snapshotInstalled(snapshot)
    this.counters.snapshotsInstalled++
    this.logger.info({ index: snapshot.index, term: snapshot.term }, 'installed snapshot from leader')
  }

  private apply(entry: Entry): void {
    this.stateMachine.apply(entry)
    this.stateMachineIndex = entry.index
    this.proposals.applied(entry)
  }

  /** Snapshot the state machine every compactEvery applied entries, so the log stays bounded. */
  private async maybeCompact(): Promise<void> {
    const applied = this.core.appliedIndex
    const snapshotIndex = this.core.snapshot?.index ?? 0
    if (applied - snapshotIndex < this.compactEvery || this.stopping) return
    // Synchronously after advance(): the state machine is exactly at `applied`.
    const snapshot = this.core.compact(applied, this.stateMachine.snapshot())
    await this.store.compact(snapshot)
    this.counters.compactions++
    this.logger.debug({ index: snapshot.index }, 'compacted log')
  }

  private noteSoftState(soft: SoftState): void {
    const last = this.lastSoft
    if (soft.role === last.role && soft.leader === last.leader && soft.term === last.term) return
    this.lastSoft = soft
    this.logger.info({ role: soft.role, leader: soft.leader, term: soft.term }, 'raft state changed')
    const known = this.knownLeader
    if (soft.leader !== null && (soft.leader !== known?.id || soft.term !== known.term)) {
      this.knownLeader = { id: soft.leader, term: soft.term }
      this.onLeaderChange?.(soft.leader, soft.term)
    }
    this.observe('soft state', () => this.observers.onSoftState?.(soft))
  }

  private noteCommittedConfig(): void {
    if (this.core.configChangePending || sameMembers(this.core.config, this.committedConfig)) return
    const previous = this.committedConfig
    this.committedConfig = cloneConfig(this.core.config)
    const config = cloneConfig(this.committedConfig)
    this.observe('configuration', () => this.observers.onConfigCommitted?.(config, previous))
  }

  /** An observer's mistake must not stop the node (the ready loop is fail-stop). */
  private observe(what: string, notify: () => void): void {
    try {
      notify()
    } catch (err) {
      this.logger.error({ err }, `${what} observer failed`)
    }
  }

  private fail(err: unknown, what: string): void {
    const error = err instanceof Error ? err : new Error(String(err))
    this.logger.error({ err: error }, `${what}; stopping the raft node`)
    void this.stop(error)
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

function sameMembers(a: ClusterConfig, b: ClusterConfig): boolean {
  const key = (c: ClusterConfig): string => `${[...c.voters].sort().join(',')}|${[...c.learners].sort().join(',')}`
  return key(a) === key(b)
}

/**
 * The state to build the core from. A bootstrapping node with an empty store
 * writes its one-voter config as a committed entry (index 1, term 1; as
 * etcd's bootstrap does) rather than using RaftCore.bootstrapState(): that
 * keeps the config in a snapshot at index 0, which LogStore cannot store
 * (snapshot indexes start at 1), so a restart before the first config change
 * would come back with no voters and never elect a leader again.
 */
async function loadOrBootstrap(store: LogStore, options: RaftNodeOptions): Promise<PersistedState> {
  const loaded = store.loaded()
  const empty = loaded.snapshot === null && loaded.entries.length === 0 && loaded.hardState.term === 0
  if (!(options.bootstrap && empty)) return loaded
  const config = RaftCore.bootstrapState({ voters: [options.id], learners: [] }).snapshot!.config
  const state: PersistedState = {
    hardState: { term: 1, vote: null, commit: 1 },
    snapshot: null,
    entries: [{ index: 1, term: 1, type: 'config', data: config }],
  }
  await store.save({ entries: state.entries, hardState: state.hardState })
  return state
}

function checkOptions(options: RaftNodeOptions): void {
  for (const key of ['tickMs', 'electionTicks', 'heartbeatTicks', 'compactEvery'] as const) {
    const value = options[key]
    if (!Number.isSafeInteger(value) || value < 1)
      throw new RangeError(`${key} must be an integer >= 1, got ${String(value)}`)
  }
  if (options.id.length === 0) throw new RangeError('id must be non-empty')
}

/** The JSON form of `value`, which is what the log, the disk and the wire carry. */
function toJson(value: unknown): unknown {
  const text = JSON.stringify(value)
  if (text === undefined) throw new TypeError('a command must be a JSON value')
  return JSON.parse(text) as unknown
}
