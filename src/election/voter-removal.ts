// Whether an operator may remove a voter by hand (a voter that will never return): the rules a
// leader checks before it proposes the change, as a pure function of the configuration and of
// which voters the membership reports alive.
import { majority } from './core/quorum.js'
import type { ClusterConfig, NodeId } from './core/types.js'

/** Why a voter cannot be removed now. */
export type VoterRemovalProblem =
  /** Not a voter of the configuration. */
  | 'not_voter'
  /** The only voter: a cluster needs one. */
  | 'last_voter'
  /** The leader itself: hand leadership over first. */
  | 'is_leader'
  /** The voters left would not hold a live majority, so the change could never commit. */
  | 'no_quorum'

export interface VoterRemovalInput {
  config: ClusterConfig
  leaderId: NodeId
  id: NodeId
  /** The membership counts this voter alive (the leader is alive). Suspect does not count: a
   * voter that may not answer must not be relied on for the new majority. */
  isAlive: (id: NodeId) => boolean
}

export function voterRemovalProblem({ config, leaderId, id, isAlive }: VoterRemovalInput): VoterRemovalProblem | null {
  if (!config.voters.includes(id)) return 'not_voter'
  if (config.voters.length === 1) return 'last_voter'
  if (id === leaderId) return 'is_leader'
  const remaining = config.voters.filter(v => v !== id)
  const alive = remaining.filter(v => v === leaderId || isAlive(v)).length
  return alive >= majority(remaining.length) ? null : 'no_quorum'
}
