// Data types of the Raft core. Everything here is plain JSON (no Maps, no
// classes, no undefined-valued fields that matter) because messages go over
// the wire as JSON and persisted state goes to disk as JSON.

export type NodeId = string

/** Cluster membership. Learners receive the log but never vote or campaign. */
export interface ClusterConfig {
  voters: NodeId[]
  learners: NodeId[]
}

export type EntryType = 'normal' | 'config'

/**
 * One log entry. `data` is any JSON value; for `config` entries it is the new
 * ClusterConfig. A `normal` entry with `data === null` is the no-op a new leader
 * appends to commit entries of earlier terms: state machines must skip it.
 */
export interface Entry {
  term: number
  index: number
  type: EntryType
  data: unknown
}

/** What must be on disk before any message produced alongside it is sent. */
export interface HardState {
  term: number
  vote: NodeId | null
  commit: number
}

/**
 * A state machine snapshot covering the log up to and including `index`.
 * `config` is the membership in effect at `index`.
 */
export interface Snapshot {
  index: number
  term: number
  config: ClusterConfig
  data: unknown
}

/** What a node loads from disk at start: the log holds entries after the snapshot. */
export interface PersistedState {
  hardState: HardState
  snapshot: Snapshot | null
  entries: Entry[]
}

interface MessageBase {
  from: NodeId
  to: NodeId
  term: number
}

/** Sent with `term` = the sender's term + 1 without incrementing it (pre-vote, thesis 9.6). */
export interface PreVoteMessage extends MessageBase {
  type: 'preVote'
  lastLogIndex: number
  lastLogTerm: number
}

export interface PreVoteResponse extends MessageBase {
  type: 'preVoteResp'
  granted: boolean
}

export interface VoteMessage extends MessageBase {
  type: 'vote'
  lastLogIndex: number
  lastLogTerm: number
  /** Set when the old leader asked for this election (timeoutNow): bypasses the leader lease. */
  transfer: boolean
}

export interface VoteResponse extends MessageBase {
  type: 'voteResp'
  granted: boolean
}

export interface AppendMessage extends MessageBase {
  type: 'append'
  prevLogIndex: number
  prevLogTerm: number
  entries: Entry[]
  commit: number
}

/**
 * Success: `index` is the last index now known to match the leader.
 * Reject: `index` is the rejected prevLogIndex, and (hintIndex, hintTerm) is
 * the follower's best guess of the last matching entry, so the leader can skip
 * a whole divergent term per round trip instead of one entry.
 */
export interface AppendResponse extends MessageBase {
  type: 'appendResp'
  reject: boolean
  index: number
  hintIndex: number
  hintTerm: number
}

/** Install snapshot: sent when the entries a follower needs were compacted away. */
export interface SnapshotMessage extends MessageBase {
  type: 'snapshot'
  snapshot: Snapshot
}

/** `commit` is capped at what the follower is known to hold, so it can always apply it. */
export interface HeartbeatMessage extends MessageBase {
  type: 'heartbeat'
  commit: number
}

export interface HeartbeatResponse extends MessageBase {
  type: 'heartbeatResp'
}

/**
 * Leader to a follower that was sent entries it does not yet know are committed: the new commit
 * index, capped at what the follower was sent, with the term of the entry there. The follower
 * commits only if its own entry at `commit` has that term (by Log Matching its log then equals
 * the leader's up to there), so the leader need not wait for the follower's acknowledgement, and
 * a commit message that overtook its append, or followed a rejected one, is simply ignored. Not
 * answered: it changes nothing the leader tracks, and the empty append it replaces cost an
 * acknowledgement per follower per commit.
 */
export interface CommitMessage extends MessageBase {
  type: 'commit'
  commit: number
  logTerm: number
}

/** Leader to its chosen successor: campaign now (used when the leader removes itself). */
export interface TimeoutNowMessage extends MessageBase {
  type: 'timeoutNow'
}

export type RaftMessage =
  | PreVoteMessage
  | PreVoteResponse
  | VoteMessage
  | VoteResponse
  | AppendMessage
  | AppendResponse
  | SnapshotMessage
  | HeartbeatMessage
  | HeartbeatResponse
  | CommitMessage
  | TimeoutNowMessage

export type RaftMessageType = RaftMessage['type']

/** `learner` is reported for a follower that is a learner in its current config. */
export type RaftRole = 'leader' | 'follower' | 'candidate' | 'precandidate' | 'learner'

export interface SoftState {
  role: RaftRole
  leader: NodeId | null
  term: number
}

/**
 * Work handed to the adapter. Order of operations (see RaftCore.ready):
 * 1. persist `snapshot` (replacing the whole log), then `entries` (deleting any
 *    persisted entries with index >= entries[0].index first), then `hardState`;
 * 2. send `messages`; 3. apply `committedEntries`; 4. call advance().
 */
export interface Ready {
  hardState?: HardState
  entries: Entry[]
  snapshot?: Snapshot
  messages: RaftMessage[]
  committedEntries: Entry[]
  softState: SoftState
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/** The leader's view of one peer, for status pages. */
export interface PeerProgress {
  id: NodeId
  isLearner: boolean
  state: ProgressState
  matchIndex: number
  nextIndex: number
  recentActive: boolean
  /** Value of RaftCore.tickCount when the peer last answered; null if never in this term. */
  lastContactTick: number | null
}
