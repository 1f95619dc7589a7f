// Membership rules for single-server configuration changes (Raft thesis §4.1):
// at most one voter added or removed per change, so the old and new majorities
// always overlap and no two leaders can be elected for the same term.

import { ConfigChangeError } from './raft-errors.js'
import type { ClusterConfig } from './types.js'

/** Bounds of a configuration as any node accepts it (wire, disk, proposals). The CLI allows at
 * most 9 voters and gossip at most 10,000 members; these leave room without letting one config
 * entry grow without limit. */
export const CONFIG_LIMITS = { maxVoters: 64, maxMembers: 10_000, maxIdChars: 128 } as const

/**
 * Why `value` is not a usable configuration, or null if it is: voters and learners are arrays of
 * non-empty ids within the bounds above, no id twice (nor both voter and learner), and at least
 * one voter. Never throws, whatever `value` is: it judges config entries and snapshots from peers
 * and from disk before anything relies on them.
 */
export function configProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'a config must be an object'
  const keys = Object.keys(value)
  if (keys.length !== 2 || !keys.includes('voters') || !keys.includes('learners'))
    return 'a config has exactly the fields voters and learners'
  const { voters, learners } = value as Record<string, unknown>
  if (!Array.isArray(voters) || !Array.isArray(learners)) return 'voters and learners must be arrays'
  if (voters.length === 0) return 'a config needs at least one voter'
  if (voters.length > CONFIG_LIMITS.maxVoters) return `more than ${CONFIG_LIMITS.maxVoters} voters`
  if (voters.length + learners.length > CONFIG_LIMITS.maxMembers) return `more than ${CONFIG_LIMITS.maxMembers} members`
  const all: unknown[] = [...voters, ...learners]
  if (!all.every(id => typeof id === 'string' && id.length > 0 && id.length <= CONFIG_LIMITS.maxIdChars))
    return `node ids must be strings of 1-${CONFIG_LIMITS.maxIdChars} characters`
  if (new Set(all).size !== all.length) return 'duplicate node id, or a node both voter and learner'
  return null
}

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
  const problem = configProblem(next)
  if (problem !== null) throw new ConfigChangeError('invalidConfig', problem)
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
