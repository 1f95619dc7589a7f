// Errors a RaftNode proposal can end with, besides the core's NotLeaderError
// and ConfigChangeError (re-exported so callers need one import).

export { ConfigChangeError, NotLeaderError } from '../core/raft-errors.js'

export type ProposalDropReason =
  /** A different entry was committed at the proposal's index: it will never be applied. */
  | 'overwritten'
  /**
   * A snapshot from the leader replaced the log past the proposal's index, so
   * whether it was applied is unknown; the caller should check the state.
   */
  | 'unknown'
  /** The node stopped (or failed) before the entry was applied; it may still commit. */
  | 'stopped'

export class ProposalDroppedError extends Error {
  override readonly name = 'ProposalDroppedError'
  constructor(
    readonly reason: ProposalDropReason,
    readonly index: number,
    readonly term: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
