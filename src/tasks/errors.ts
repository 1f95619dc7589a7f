// Domain errors of the tasks layer; src/http/errors.ts maps them to statuses in one table.
import { CommandRefusedError, TOO_MANY_TASKS } from './cluster-port.js'

/** A spec the API refuses: message is "<field>: <what is wrong>". */
export class InvalidTaskError extends Error {
  override readonly name = 'InvalidTaskError'
}

export class TaskNotFoundError extends Error {
  override readonly name = 'TaskNotFoundError'
}

/** The task cannot do that in its current state (e.g. cancel a finished task). */
export class TaskConflictError extends Error {
  override readonly name = 'TaskConflictError'
}

/** The task's output cannot be read now (its worker is unreachable). */
export class LogsUnavailableError extends Error {
  override readonly name = 'LogsUnavailableError'
}

/** A submission would take a tenant, or the cluster, past its cap of unfinished tasks: try again
 * once some have finished. The message names the limit. */
export class TooManyTasksError extends CommandRefusedError {
  override readonly name = 'TooManyTasksError'
  constructor(message: string) {
    super(message, TOO_MANY_TASKS)
  }
}

/** This node holds no log and could not read from the leader (none known, or it did not answer). */
export class LeaderUnreachableError extends Error {
  override readonly name = 'LeaderUnreachableError'
}
