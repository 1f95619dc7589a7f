// Domain errors of the cluster layer. The HTTP layer maps them to statuses in one table
// (src/http/errors.ts); nothing here knows about HTTP.

/** No leader, no quorum, or a write that did not commit in time: the caller may retry. */
export class NoLeaderError extends Error {
  override readonly name = 'NoLeaderError'
}

/** A write whose fate cannot be known (the log was replaced by a snapshot before it applied). */
export class WriteOutcomeUnknownError extends Error {
  override readonly name = 'WriteOutcomeUnknownError'
}

/** The leader refused the command itself (a peer of another version, or a bug): do not retry. */
export class InvalidCommandError extends Error {
  override readonly name = 'InvalidCommandError'
}
