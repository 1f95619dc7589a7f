// Named errors thrown by RaftCore's proposal API, so the HTTP layer can map
// them to status codes (NotLeaderError -> 503 / redirect, config errors -> 409).

import type { NodeId } from './types.js'

/** The proposal reached a node that is not the leader. `leader` is its best guess, if any. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError'
  constructor(readonly leader: NodeId | null) {
    super(leader === null ? 'not the leader; no leader known' : `not the leader; leader is ${leader}`)
  }
}

export type ConfigChangeRejection =
  /** An earlier change is still uncommitted: changes go one at a time. */
  | 'changeInProgress'
  /** The new leader has not committed an entry of its own term yet (thesis 4.1 erratum). */
  | 'leaderNotReady'
  /** More than one voter added or removed at once. */
  | 'tooManyVoterChanges'
  /** Empty voter set, duplicates, or a node both voter and learner. */
  | 'invalidConfig'

export class ConfigChangeError extends Error {
  override readonly name = 'ConfigChangeError'
  constructor(
    readonly reason: ConfigChangeRejection,
    message: string,
  ) {
    super(message)
  }
}
