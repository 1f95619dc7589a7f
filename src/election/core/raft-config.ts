// Membership rules for single-server configuration changes (Raft thesis §4.1):
// at most one voter added or removed per change, so the old and new majorities
// always overlap and no two leaders can be elected for the same term.

import { ConfigChangeError } from './raft-errors.js'
import type { ClusterConfig } from './types.js'

/** Sorted copies, so equal memberships serialize identically in the log. */
export function normalizeConfig(config: ClusterConfig): ClusterConfig {
  return { voters: [...config.voters].sort(), learners: [...config.learners].sort() }
}

export function cloneConfig(config: ClusterConfig): ClusterConfig {
  return { voters: [...config.voters], learners: [...config.learners] }
}

/** Voters added plus voters removed between two configs (learner changes are free). */
export function voterChanges(from: ClusterConfig, to: ClusterConfig): number {
  const before = new Set(from.voters)
  const after = new Set(to.voters)
  let changes = 0
  for (const id of after) if (!before.has(id)) changes++
  for (const id of before) if (!after.has(id)) changes++
  return changes
}

export interface ConfigChangeContext {
  current: ClusterConfig
  /** Index of the entry that set `current`, and the leader's commit index. */
  currentIndex: number
  commitIndex: number
  /** Index of the no-op the leader appended when it took office. */
  leaderStartIndex: number
}

/** Throws ConfigChangeError if `next` may not be proposed now. */
export function checkConfigChange(next: ClusterConfig, context: ConfigChangeContext): void {
  if (next.voters.length === 0) throw new ConfigChangeError('invalidConfig', 'a config needs at least one voter')
  const all = [...next.voters, ...next.learners]
  if (all.some(id => typeof id !== 'string' || id.length === 0)) {
    throw new ConfigChangeError('invalidConfig', 'node ids must be non-empty strings')
  }
  if (new Set(all).size !== all.length) {
    throw new ConfigChangeError('invalidConfig', 'duplicate node id, or a node both voter and learner')
  }
  if (context.currentIndex > context.commitIndex) {
    throw new ConfigChangeError(
      'changeInProgress',
      `config change at index ${context.currentIndex} is not committed yet`,
    )
  }
  // Without this, a new leader could overlap an uncommitted change from an
  // earlier term with its own (Ongaro's single-server change erratum).
  if (context.commitIndex < context.leaderStartIndex) {
    throw new ConfigChangeError('leaderNotReady', 'leader has not committed an entry of its term yet')
  }
  const changes = voterChanges(context.current, next)
  if (changes > 1) {
    throw new ConfigChangeError('tooManyVoterChanges', `${changes} voters changed; add or remove one voter at a time`)
  }
}
