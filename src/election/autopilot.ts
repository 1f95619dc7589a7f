// Autopilot: the leader's voter management, as a pure planner.
//
// The leader calls planAutopilot about every 500 ms with its raft config, its
// replication progress and the gossip membership, and proposes the returned
// change (if any). Everything the planner needs comes in as input (durations
// are measured by the caller), so it has no clock, no I/O and no randomness and
// can be table-tested and simulated exhaustively.
//
// It proposes at most one change per call, and each change adds or removes at
// most one voter, because raft.ts only accepts single-server changes (thesis
// §4.1) and rejects a change while another is uncommitted. Reaching a target
// therefore takes several calls; each call re-plans from the committed state,
// so a plan is never stale.
//
// Rules, highest priority first (see planAutopilot for why this order):
//   1. nothing while a change is pending;
//   2. remove a voter that left, or that has been dead too long (only when a
//      replacement exists or the voter count is even), never the leader and
//      never below a live majority;
//   3. promote a caught-up learner when the voter count is even;
//   4. remove learners that left or have been dead too long;
//   5. add alive non-members as learners;
//   6. promote caught-up learners towards the largest odd count <= maxVoters.
//
// Known limit: a config member the gossip table does not report at all is
// left alone (neither counted healthy nor removed). A freshly elected leader
// may not have heard of every member yet and must not purge them; the adapter
// should report members the gossip layer has forgotten as `dead` if it wants
// them replaced.

import { majority } from './core/quorum.js'
import { normalizeConfig } from './core/raft-config.js'
import type { ClusterConfig, NodeId, PeerProgress } from './core/types.js'
import type { MemberState } from '../gossip/member-state.js'

export interface AutopilotMember {
  id: NodeId
  state: MemberState
  /** How long the member has been in `state`, as measured by the caller. */
  stateForMs: number
}

export interface AutopilotInput {
  /** Current raft config (the latest appended one). */
  config: ClusterConfig
  /** A config change is appended but not committed. */
  changePending: boolean
  /** This node, the leader. */
  leaderId: NodeId
  leaderLastIndex: number
  /** The leader's view of its peers (matchIndex per id). */
  progress: PeerProgress[]
  /** Gossip membership; the leader itself may be absent or present. */
  members: AutopilotMember[]
  /** --voters, default 5. */
  maxVoters: number
  /** Learners kept beyond the voters, caught up and ready to replace one (Consul's non-voting
   * standbys). Every other member is a worker that holds no log. */
  maxStandbys: number
  /** A voter dead at least this long is replaced. */
  replaceDeadVoterAfterMs: number
  /** A learner dead at least this long is removed. */
  removeDeadLearnerAfterMs: number
  /** A learner within this many entries of leaderLastIndex is caught up. */
  learnerCatchUpLag: number
  /** Members an operator removed from the voters: neither added back as learners nor taken as a
   * replacement, though the membership may still count them alive for a few seconds after a
   * crash. Default none. */
  excluded?: readonly NodeId[]
}

export type AutopilotAction =
  | { kind: 'addLearner'; id: NodeId; config: ClusterConfig }
  | { kind: 'promote'; id: NodeId; config: ClusterConfig }
  | { kind: 'removeVoter'; id: NodeId; config: ClusterConfig; reason: string }
  | { kind: 'removeLearner'; id: NodeId; config: ClusterConfig; reason: string }

/** The leader's own gossip entry may be stale or missing; it is running, so it is alive. */
const LEADER_STATE: Omit<AutopilotMember, 'id'> = { state: 'alive', stateForMs: 0 }

/** Largest odd number <= n (0 when n < 1). */
export function largestOddAtMost(n: number): number {
  const whole = Math.floor(n)
  if (whole < 1) return 0
  return whole % 2 === 1 ? whole : whole - 1
}

/** Everything the rules look up, indexed once per call. */
interface View {
  input: AutopilotInput
  voters: NodeId[]
  learners: NodeId[]
  memberOf: (id: NodeId) => Omit<AutopilotMember, 'id'> | undefined
  isAlive: (id: NodeId) => boolean
  /** Alive, not the leader, and not excluded: a member that may join the configuration. */
  isWelcome: (id: NodeId) => boolean
  isCaughtUp: (id: NodeId) => boolean
}

function buildView(input: AutopilotInput): View {
  const members = new Map<NodeId, AutopilotMember>()
  for (const member of input.members) members.set(member.id, member)
  const matchIndexes = new Map<NodeId, number>()
  for (const peer of input.progress) matchIndexes.set(peer.id, peer.matchIndex)
  const memberOf = (id: NodeId) => (id === input.leaderId ? LEADER_STATE : members.get(id))
  const isAlive = (id: NodeId) => memberOf(id)?.state === 'alive'
  const excluded = new Set(input.excluded ?? [])
  return {
    input,
    // Sorted so every "lowest id first" choice is deterministic whatever the
    // order of the config on disk.
    voters: [...input.config.voters].sort(),
    learners: [...input.config.learners].sort(),
    memberOf,
    isAlive,
    isWelcome: id => id !== input.leaderId && !excluded.has(id) && isAlive(id),
    // A peer without progress, or that has acknowledged no entry, has never been replicated to:
    // not caught up, however short the log (a member that does not speak Raft must not vote).
    isCaughtUp: id => {
      const match = matchIndexes.get(id)
      return match !== undefined && match > 0 && match >= input.leaderLastIndex - input.learnerCatchUpLag
    },
  }
}

function withoutId(ids: readonly NodeId[], id: NodeId): NodeId[] {
  return ids.filter(other => other !== id)
}

/**
 * Rule 2's safety floor: the voters left after removing `id` must still hold a
 * majority of alive voters, or the new config could never commit anything.
 * Removing a non-alive voter never lowers the alive count and never raises the
 * majority, so this only refuses when the cluster has already lost its quorum
 * (and the change could not commit anyway). Only `alive` counts: a suspect
 * voter may not answer, and a wrong guess here would wedge the cluster.
 */
function keepsLiveMajority(view: View, id: NodeId): boolean {
  const remaining = withoutId(view.voters, id)
  if (remaining.length === 0) return false
  const alive = remaining.filter(view.isAlive).length
  return alive >= majority(remaining.length)
}

/** An alive learner or alive non-member that could take a removed voter's place. */
function replacementFor(view: View): NodeId | null {
  const inConfig = new Set([...view.voters, ...view.learners])
  const candidates = [
    ...view.learners.filter(view.isAlive),
    ...view.input.members
      .map(member => member.id)
      .filter(id => !inConfig.has(id) && view.isWelcome(id))
      .sort(),
  ]
  return candidates[0] ?? null
}

/**
 * Rules 2 and 3 for voters. A voter that left gracefully is gone for good, so
 * it is removed at once. A voter dead for replaceDeadVoterAfterMs is removed
 * only when that helps:
 * - a replacement exists: removing it makes room for the replacement, which
 *   the promotion rules then bring in (one change at a time);
 * - the voter count is even: majority(n - 1) = majority(n) - 1 for even n, so
 *   dropping a dead voter lets the cluster survive one more failure.
 * With an odd count and no replacement, majority(n - 1) = majority(n): removing
 * it gains nothing, and keeping it means it gets its vote back without any
 * change if it returns.
 */
function planVoterRemoval(view: View): AutopilotAction | null {
  const { input } = view
  const removable = (id: NodeId) => id !== input.leaderId && keepsLiveMajority(view, id)
  const remove = (id: NodeId, reason: string): AutopilotAction => ({
    kind: 'removeVoter',
    id,
    config: normalizeConfig({ voters: withoutId(view.voters, id), learners: view.learners }),
    reason,
  })

  // Graceful leaves first: the node told us it is not coming back.
  for (const id of view.voters) {
    const member = view.memberOf(id)
    if (member?.state === 'left' && removable(id)) return remove(id, `voter ${id} left the cluster`)
  }

  const replacement = replacementFor(view)
  const evenCount = view.voters.length % 2 === 0
  if (replacement === null && !evenCount) return null
  for (const id of view.voters) {
    const member = view.memberOf(id)
    if (member?.state !== 'dead' || member.stateForMs < input.replaceDeadVoterAfterMs) continue
    if (!removable(id)) continue
    const why =
      replacement !== null
        ? `${replacement} can replace it`
        : `${view.voters.length} voters is even, so ${view.voters.length - 1} tolerate one more failure`
    return remove(
      id,
      `voter ${id} dead for ${member.stateForMs} ms (limit ${input.replaceDeadVoterAfterMs} ms); ${why}`,
    )
  }
  return null
}

/** Rule 5's healthy candidates: alive (never suspect or dead) and close to the leader's log. */
function caughtUpLearners(view: View): NodeId[] {
  return view.learners.filter(id => view.isAlive(id) && view.isCaughtUp(id))
}

function promote(view: View, id: NodeId): AutopilotAction {
  return {
    kind: 'promote',
    id,
    config: normalizeConfig({ voters: [...view.voters, id], learners: withoutId(view.learners, id) }),
  }
}

/**
 * Promote to get back to an odd voter count: an even count needs as many votes
 * as the odd count above it but survives one failure fewer. Only below
 * maxVoters, which is the operator's cap.
 */
function planPromotionToOdd(view: View): AutopilotAction | null {
  const count = view.voters.length
  if (count % 2 !== 0 || count >= view.input.maxVoters) return null
  const candidate = caughtUpLearners(view)[0]
  return candidate === undefined ? null : promote(view, candidate)
}

/**
 * Grow towards the largest odd count reachable with the caught-up learners,
 * capped by maxVoters. Counting only caught-up learners keeps a lone new node
 * from turning a 1-voter cluster into a 2-voter one (which needs both nodes
 * for every commit) when no third node is there to make it 3. Passing through
 * the even count on the way (1 -> 2 -> 3) is unavoidable with single-server
 * changes; planPromotionToOdd finishes the step on the next call.
 */
function planGrowth(view: View): AutopilotAction | null {
  const count = view.voters.length
  const caughtUp = caughtUpLearners(view)
  const target = largestOddAtMost(Math.min(view.input.maxVoters, count + caughtUp.length))
  const candidate = caughtUp[0]
  if (count >= target || candidate === undefined) return null
  return promote(view, candidate)
}

/** How many learners the config should hold: the voters still missing, plus the standbys. */
function wantedLearners(view: View): number {
  return Math.max(0, view.input.maxVoters - view.voters.length) + view.input.maxStandbys
}

/**
 * Rule 3 for learners: one that left is gone; one dead this long is not worth
 * replicating to (the leader keeps progress and sends heartbeats for every
 * learner). A learner costs no quorum, so there is no replacement condition.
 * If it returns it is simply added again as a learner. Learners beyond the
 * wanted count (more than the standbys once the voters are complete) go back
 * to being workers, highest id first: every learner costs the leader a copy of
 * every entry.
 */
function planLearnerRemoval(view: View): AutopilotAction | null {
  const { input } = view
  const removeLearner = (id: NodeId, reason: string): AutopilotAction => ({
    kind: 'removeLearner',
    id,
    config: normalizeConfig({ voters: view.voters, learners: withoutId(view.learners, id) }),
    reason,
  })
  const excess = view.learners.length - wantedLearners(view)
  if (excess > 0) {
    const id = view.learners[view.learners.length - 1]!
    return removeLearner(
      id,
      `${view.learners.length} learners, ${wantedLearners(view)} wanted: ${id} goes back to being a worker`,
    )
  }
  for (const id of view.learners) {
    const member = view.memberOf(id)
    let reason: string | null = null
    if (member?.state === 'left') reason = `learner ${id} left the cluster`
    else if (member?.state === 'dead' && member.stateForMs >= input.removeDeadLearnerAfterMs) {
      reason = `learner ${id} dead for ${member.stateForMs} ms (limit ${input.removeDeadLearnerAfterMs} ms)`
    }
    if (reason === null) continue
    return removeLearner(id, reason)
  }
  return null
}

/**
 * Rule 4: alive members that are not in the config become learners while the
 * config holds fewer than it wants (the voters still missing plus the
 * standbys), so they receive the cluster state and can later be promoted. Only
 * `alive`: a suspect member would just be removed again. Lowest id first.
 */
function planLearnerAddition(view: View): AutopilotAction | null {
  if (view.learners.length >= wantedLearners(view)) return null
  const inConfig = new Set([...view.voters, ...view.learners])
  const candidates = view.input.members
    .map(member => member.id)
    .filter(id => !inConfig.has(id) && view.isWelcome(id))
    .sort()
  const id = candidates[0]
  if (id === undefined) return null
  return {
    kind: 'addLearner',
    id,
    config: normalizeConfig({ voters: view.voters, learners: [...view.learners, id] }),
  }
}

/**
 * The one config change the leader should propose now, or null.
 *
 * Priority when several rules apply, and why:
 * 1. remove a voter that left or is dead too long: a voter that cannot vote
 *    still counts in the majority, so it erodes fault tolerance now, and its
 *    removal is what lets a replacement be promoted;
 * 2. promote to make the voter count odd: an even count is one failure less
 *    tolerant than it could be, and this is the second half of a replacement;
 * 3. remove dead or departed learners: housekeeping, no effect on quorum;
 * 4. add new members as learners: cheap, and they need time to catch up
 *    before they count for promotion, so start early;
 * 5. further promotions towards maxVoters: the cluster is already safe at its
 *    current odd size, growing it is an improvement, not a repair.
 *
 * A node that rejoins with the same id keeps its role for free: a voter or
 * learner that comes back before its dead timeout is still in the config and
 * nothing is planned; one that was removed comes back as a non-member and is
 * added as a learner, then promoted if there is room.
 */
export function planAutopilot(input: AutopilotInput): AutopilotAction | null {
  // Rule 1: raft.ts rejects a change while another is uncommitted, and the
  // pending change may alter what the right next step is.
  if (input.changePending) return null
  // A leader outside the voter set is removing itself (a manual change): it
  // steps down once that commits, so leave the config to the next leader.
  if (!input.config.voters.includes(input.leaderId)) return null
  const view = buildView(input)
  return (
    planVoterRemoval(view) ??
    planPromotionToOdd(view) ??
    planLearnerRemoval(view) ??
    planLearnerAddition(view) ??
    planGrowth(view)
  )
}
