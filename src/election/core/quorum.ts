// Majority arithmetic, kept pure so it can be table-tested on its own.

import type { NodeId } from './types.js'

export type VoteResult = 'won' | 'lost' | 'pending'

/** Smallest number of voters that forms a majority of `voterCount`. */
export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1
}

/**
 * Outcome of an election among `voters`. Votes from non-voters are ignored;
 * voters absent from `votes` have not answered yet. An empty voter set can
 * never be won, so nobody becomes leader of a cluster without voters.
 */
export function voteResult(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean> | Readonly<Record<NodeId, boolean>>,
): VoteResult {
  if (voters.length === 0) return 'lost'
  const lookup =
    votes instanceof Map ? (id: NodeId) => votes.get(id) : (id: NodeId) => (votes as Record<NodeId, boolean>)[id]
  let granted = 0
  let missing = 0
  for (const voter of voters) {
    const vote = lookup(voter)
    if (vote === true) granted++
    else if (vote === undefined) missing++
  }
  const needed = majority(voters.length)
  if (granted >= needed) return 'won'
  if (granted + missing >= needed) return 'pending'
  return 'lost'
}

/**
 * Highest log index stored by a majority of voters: the median-style quorum
 * index. Returns 0 for an empty voter set (nothing can be committed).
 */
export function committedIndex(voters: readonly NodeId[], matchIndexOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0
  const matches = voters.map(matchIndexOf).sort((a, b) => b - a)
  return matches[majority(voters.length) - 1] ?? 0
}

/** True when the voters marked active (by `isActive`) form a majority. */
export function quorumActive(voters: readonly NodeId[], isActive: (id: NodeId) => boolean): boolean {
  if (voters.length === 0) return false
  let active = 0
  for (const voter of voters) if (isActive(voter)) active++
  return active >= majority(voters.length)
}
