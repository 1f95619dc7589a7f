// The contracts around RaftNode: what it applies committed entries to, how it
// logs, and how it is configured. Kept apart from the driver so the cluster
// state machine can implement RaftStateMachine without importing the driver.

import type { RaftTransport } from '../transport/transport.js'
import type { ClusterConfig, Entry, RaftMessageType, SoftState } from '../core/types.js'
import type { AuthorizationFailure } from '../core/authorize.js'
import type { StepRejection, TransferProblem } from '../core/raft.js'

/** Why the driver dropped a message before or in RaftCore.step: the sender may not send it
 * (authorize.ts), it cannot be true (RaftCore.step), or its snapshot is not one the state machine
 * could restore. */
export type RaftRejectionReason = AuthorizationFailure | StepRejection | 'invalid_snapshot'

/**
 * What committed entries are applied to. apply() receives every committed
 * entry in index order, including config entries and the leader's no-op
 * (`normal` with `data === null`), which it should ignore. It must be
 * deterministic and must not throw for bad data (skip and count instead): a
 * throw stops the node, because skipping an entry on one replica only would
 * make it diverge from the others.
 */
export interface RaftStateMachine {
  apply(entry: Entry): unknown
  /** The whole state as a JSON value; must not share objects that apply() later mutates. */
  snapshot(): unknown
  /** Replace the whole state with a snapshot() result (or null: the empty state). */
  restore(data: unknown): void
  /**
   * Why restore(data) would fail, or null if it would succeed. Asked before a snapshot from a
   * peer reaches the core or the disk, and before the stored one is restored at start: a snapshot
   * that cannot be restored must never be persisted, or the node could not start again.
   */
  validateSnapshot(data: unknown): string | null
}

/** The subset of pino's Logger the driver uses, so tests can pass nothing. */
export interface RaftNodeLogger {
  debug(obj: object, msg: string): void
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface RaftNodeOptions {
  id: string
  /** The LogStore directory; the node owns it exclusively. */
  dataDir: string
  transport: RaftTransport
  /** Must be fresh (empty): open() restores it from the stored snapshot, then replays the log. */
  stateMachine: RaftStateMachine
  /** Wall-clock length of one core tick. */
  tickMs: number
  /** Election timeout in ticks (randomized up to twice this); also the check-quorum period. */
  electionTicks: number
  /** Leader heartbeat period in ticks; well below electionTicks. */
  heartbeatTicks: number
  /** Uniform in [0, 1), for the randomized election timeout. Default Math.random. */
  random?: () => number
  /**
   * First node of a new cluster: when the store is empty, start as a
   * one-voter cluster of itself. Ignored once the store holds any state, so
   * passing it again on restart is harmless.
   */
  bootstrap: boolean
  /** Applied entries between snapshots (log compactions). */
  compactEvery: number
  /**
   * Peers (ids, or addresses naming the peer) this node was told to join through. With the voters
   * of its own config, they vouch for a leader this node does not know as a voter yet: a new node
   * knows no voter at all, and one that was away may know only replaced ones (core/raft-gate.ts).
   */
  vouchers?: string[]
  /** Voters this node learned of outside Raft, asked as vouchers too (see core/raft-gate.ts). */
  knownVoters?: () => readonly string[]
  /** Called for every message dropped by the gate or the core, for metrics. */
  onRejected?: (type: RaftMessageType, reason: RaftRejectionReason) => void
  /** Called when this node learns of a leader: a new one, or the same one in a new term. */
  onLeaderChange?: (leader: string, term: number) => void
  /** Called on the leader when an entry it appended is applied here, with the time in between. */
  onCommitted?: (latencyMs: number) => void
  /** Called when this node's role, the leader it knows or the term changes. */
  onSoftState?: (soft: SoftState) => void
  /** Called when a different configuration is committed (or installed with a snapshot); not for
   * the one the node opens with. */
  onConfigCommitted?: (config: ClusterConfig, previous: ClusterConfig) => void
  logger?: RaftNodeLogger
}

export interface RaftNodeStats {
  /** Snapshot index loaded from the store by open(); 0 if none. */
  loadedSnapshotIndex: number
  /** Snapshots this node took of its own state machine. */
  compactions: number
  /** Snapshots received from a leader and installed. */
  snapshotsInstalled: number
  /** Ready cycles processed. */
  readyCycles: number
  /** Messages dropped by the gate or the core (onRejected tells which and why). */
  messagesRejected: number
}

/** How an operator's leadership transfer ended (RaftNode.transferLeadership): the leader of the
 * later term this node heard of, or why there was none. `busy`: another transfer is under way;
 * `timeout`: `target` was told to campaign but no leader was heard of in time. */
export type TransferOutcome =
  | { ok: true; target: string; leader: string; term: number }
  | { ok: false; problem: TransferProblem | 'busy' }
  | { ok: false; problem: 'timeout'; target: string }
