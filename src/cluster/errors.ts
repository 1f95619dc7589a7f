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

/** An operator's request about a node or the cluster (drain, leader transfer, voter removal)
 * refused as the cluster stands, or not done in time. `code` is the API's error code (the HTTP
 * error table gives each subclass its status), and travels as such when the request is forwarded
 * to the leader. */
export abstract class ClusterOperationError extends Error {
  static readonly code: string
  get code(): string {
    return (this.constructor as typeof ClusterOperationError).code
  }
}

/** No member of that id or name is known here. */
export class NodeNotFoundError extends ClusterOperationError {
  override readonly name = 'NodeNotFoundError'
  static override readonly code = 'node_not_found'
}

/** Several members have that name: the peer id says which. */
export class AmbiguousNodeError extends ClusterOperationError {
  override readonly name = 'AmbiguousNodeError'
  static override readonly code = 'ambiguous_node'
}

/** The node is not a voter (leadership and voter removal are about voters). */
export class NotVoterError extends ClusterOperationError {
  override readonly name = 'NotVoterError'
  static override readonly code = 'not_voter'
}

/** The voter did not hold the leader's whole log in time to take leadership. */
export class NotCaughtUpError extends ClusterOperationError {
  override readonly name = 'NotCaughtUpError'
  static override readonly code = 'not_caught_up'
}

/** Another operator's transfer is under way. */
export class TransferInProgressError extends ClusterOperationError {
  override readonly name = 'TransferInProgressError'
  static override readonly code = 'transfer_in_progress'
}

/** The target was told to campaign, but no new leader was heard of in time. */
export class TransferTimeoutError extends ClusterOperationError {
  override readonly name = 'TransferTimeoutError'
  static override readonly code = 'transfer_timeout'
}

/** Removing the only voter would leave a cluster nobody can lead. */
export class LastVoterError extends ClusterOperationError {
  override readonly name = 'LastVoterError'
  static override readonly code = 'last_voter'
}

/** The leader does not remove itself: hand leadership over first. */
export class LeaderRemovalError extends ClusterOperationError {
  override readonly name = 'LeaderRemovalError'
  static override readonly code = 'is_leader'
}

/** The voters left would not hold a live majority: the change could never commit. */
export class QuorumLossError extends ClusterOperationError {
  override readonly name = 'QuorumLossError'
  static override readonly code = 'no_quorum'
}

/** Another configuration change (the autopilot's) did not commit in time for this one. */
export class ConfigChangePendingError extends ClusterOperationError {
  override readonly name = 'ConfigChangePendingError'
  static override readonly code = 'change_pending'
}

type OperationErrorClass = (new (message: string) => ClusterOperationError) & { code: string }

const OPERATION_ERRORS: readonly OperationErrorClass[] = [
  NodeNotFoundError,
  AmbiguousNodeError,
  NotVoterError,
  NotCaughtUpError,
  TransferInProgressError,
  TransferTimeoutError,
  LastVoterError,
  LeaderRemovalError,
  QuorumLossError,
  ConfigChangePendingError,
]
const BY_CODE = new Map(OPERATION_ERRORS.map(c => [c.code, c]))

/** The error a code names (as the leader answered a forwarded request), or null for another code. */
export function operationError(code: string, message: string): ClusterOperationError | null {
  const errorClass = BY_CODE.get(code)
  return errorClass === undefined ? null : new errorClass(message)
}
