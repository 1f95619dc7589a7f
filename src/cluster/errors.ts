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

/** The leader refused the command itself (a peer of another version, a bug, a forbidden command,
 * or a cap): do not retry. `reason` names a refusal given on purpose; `detail` is the leader's
 * own text. */
export class InvalidCommandError extends Error {
  override readonly name = 'InvalidCommandError'
  constructor(
    message: string,
    readonly reason: string | null = null,
    readonly detail: string = message,
  ) {
    super(message)
  }
}
