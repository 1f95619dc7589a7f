// Who may send what to this node: the gate every Raft message passes before RaftCore.step, so
// that a node in no configuration, or a member claiming a role it does not have, can neither lead
// this node nor disturb its elections. Raft itself assumes every sender is a member; the network a
// node listens on does not.

import type { ClusterConfig, NodeId, RaftMessage, RaftMessageType } from './types.js'

/** Why a message was refused; also the `reason` label of meshos_raft_messages_rejected_total. */
export type AuthorizationFailure =
  /** A leader message or a vote request from a node that is not a voter this node knows of. */
  | 'not_voter'
  /** A leader message for the current term from someone other than the leader of that term. */
  | 'not_leader'
  /** A response from a node that is not in the configuration. */
  | 'not_member'
  /** A message that claims to come from this node itself. */
  | 'from_self'

/** What authorize() needs to know about the receiving node. */
export interface AuthorizationView {
  self: NodeId
  term: number
  /** The leader this node follows in `term`, or null. */
  leader: NodeId | null
  /** Whom this node voted for in `term`. */
  vote: NodeId | null
  /** The configuration in effect on this node (the latest in its log). */
  config: ClusterConfig
  lastLogIndex: number
  lastLogTerm: number
  /** Nodes a voucher (a voter this node knows, or a bootstrap peer) named as voters of a newer
   * configuration than this node has seen; see RaftGate. */
  vouched: ReadonlySet<NodeId>
  /** Ticks since this node last had a leader (0 while it has one; its start counts as having one). */
  leaderlessTicks: number
  /** How long this node must have been without a leader before a learner may have its vote. */
  learnerVoteAfterTicks: number
}

/** The part of a message authorize() reads: the type, the sender and the term (plus the
 * candidate's log position for vote requests). A chunked message is judged on its header. */
export type MessageEnvelope =
  | { type: 'preVote' | 'vote'; from: NodeId; term: number; lastLogIndex: number; lastLogTerm: number }
  | { type: Exclude<RaftMessageType, 'preVote' | 'vote'>; from: NodeId; term: number }

const LEADER_MESSAGES: ReadonlySet<RaftMessageType> = new Set([
  'append',
  'heartbeat',
  'snapshot',
  'commit',
  'timeoutNow',
])

export function isLeaderMessage(type: RaftMessageType): boolean {
  return LEADER_MESSAGES.has(type)
}

/**
 * 'ok', or why `m` must be dropped before the core sees it:
 * - leader messages (append, heartbeat, snapshot, commit, timeoutNow): for the current term, only
 *   from the leader this node follows, if it follows one (even one a later config removed: it led
 *   this term legitimately); otherwise from a voter, a vouched node, or the candidate this node
 *   voted for in this term (it checked that candidate when it voted);
 * - vote requests (preVote, vote): from a voter or a vouched node; from a learner only once this
 *   node has followed no leader for learnerVoteAfterTicks and the learner's log is ahead of ours.
 *   Such a learner may hold its own promotion, which this node has not seen: a leader that
 *   committed a promotion without this voter and then died would otherwise leave {dead leader,
 *   this node, promoted learner} without a majority for good. The wait is what keeps a learner
 *   that only claims to be ahead (any member the autopilot added, which may lie about its log)
 *   from taking this node's vote, and then leading it, in the election after every routine
 *   failover: a cluster that needs the learner is stuck until then anyway, while any failover
 *   with a majority of voters alive ends long before. A learner whose log is not ahead is a
 *   voter in no config it knows, and a node that follows a leader has no election to vote in (a
 *   transfer vote bypasses the lease);
 * - vote responses: from voters; other responses (appendResp, heartbeatResp): from members.
 */
export function authorize(m: MessageEnvelope | RaftMessage, view: AuthorizationView): 'ok' | AuthorizationFailure {
  if (m.from === view.self) return 'from_self'
  const isVoter = view.config.voters.includes(m.from) || view.vouched.has(m.from)
  switch (m.type) {
    case 'append':
    case 'heartbeat':
    case 'snapshot':
    case 'commit':
    case 'timeoutNow':
      if (m.term === view.term && view.leader !== null) return m.from === view.leader ? 'ok' : 'not_leader'
      if (isVoter || (m.term === view.term && view.vote === m.from)) return 'ok'
      return 'not_voter'
    case 'preVote':
    case 'vote': {
      if (isVoter) return 'ok'
      const ahead =
        m.lastLogTerm > view.lastLogTerm || (m.lastLogTerm === view.lastLogTerm && m.lastLogIndex > view.lastLogIndex)
      const waitedForVoters = view.leader === null && view.leaderlessTicks >= view.learnerVoteAfterTicks
      return view.config.learners.includes(m.from) && waitedForVoters && ahead ? 'ok' : 'not_voter'
    }
    case 'preVoteResp':
    case 'voteResp':
      return view.config.voters.includes(m.from) ? 'ok' : 'not_voter'
    case 'appendResp':
    case 'heartbeatResp':
      return view.config.voters.includes(m.from) || view.config.learners.includes(m.from) ? 'ok' : 'not_member'
  }
}
