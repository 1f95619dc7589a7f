// Domain errors of the tasks layer; src/http/errors.ts maps them to statuses.

/** A spec the API refuses: message is "<field>: <what is wrong>". */
export class InvalidTaskError extends Error {}

export class TaskNotFoundError extends Error {}

/** The task cannot do that in its current state (e.g. cancel a finished task). */
export class TaskConflictError extends Error {}

/** The task's output cannot be read now (its worker is unreachable). */
export class LogsUnavailableError extends Error {}
