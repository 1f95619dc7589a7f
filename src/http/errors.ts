// Every error the API returns has one shape, { error: { code, message } }, produced here and
// nowhere else: domain errors (and refused request parts, as domain errors) through one table,
// framework errors by their status.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { InvalidCommandError, NoLeaderError, WriteOutcomeUnknownError } from '../cluster/errors.js'
import { CommandRefusedError } from '../tasks/cluster-port.js'
import {
  InvalidTaskError,
  LogsUnavailableError,
  LeaderUnreachableError,
  TaskConflictError,
  TaskNotFoundError,
  TooManyTasksError,
} from '../tasks/errors.js'
import { InvalidRequestError, refusalOf } from './validation.js'
import type { ApiErrorCode } from './error-codes.js'
import type { ErrorBody } from './responses.js'

export type { ErrorBody }

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError'
}

/** A request the access rules (src/http/access.ts) refuse before its route runs; `headers` go
 * with the answer. */
export abstract class RequestRefusedError extends Error {
  constructor(
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message)
  }
}

/** A Host this node does not serve: the mark of DNS rebinding. */
export class MisdirectedRequestError extends RequestRefusedError {
  override readonly name = 'MisdirectedRequestError'
}

/** Sent by a page of another origin, or for one. */
export class ForbiddenOriginError extends RequestRefusedError {
  override readonly name = 'ForbiddenOriginError'
}

/** A connection from a local user the node refuses, such as the one its tasks run as. */
export class ForbiddenClientError extends RequestRefusedError {
  override readonly name = 'ForbiddenClientError'
}

/** No bearer token, or not this node's. */
export class UnauthorizedError extends RequestRefusedError {
  override readonly name = 'UnauthorizedError'
}

export class UnsupportedMediaTypeError extends RequestRefusedError {
  override readonly name = 'UnsupportedMediaTypeError'
}

export class PayloadTooLargeError extends RequestRefusedError {
  override readonly name = 'PayloadTooLargeError'
}

type ErrorClass = abstract new (...args: never[]) => Error

/** The status and code of each error the API expects; anything else is a 500. The first row an
 * error is an instance of wins, so a subclass comes before its parent. */
const ERROR_TABLE: ReadonlyArray<readonly [ErrorClass, number, ApiErrorCode]> = [
  [TooManyTasksError, 429, 'too_many_tasks'],
  [InvalidRequestError, 400, 'invalid_request'],
  [InvalidTaskError, 400, 'invalid_task'],
  [InvalidCommandError, 400, 'invalid_command'],
  [CommandRefusedError, 400, 'invalid_command'],
  [UnauthorizedError, 401, 'unauthorized'],
  [ForbiddenOriginError, 403, 'forbidden_origin'],
  [ForbiddenClientError, 403, 'forbidden_client'],
  [NotFoundError, 404, 'not_found'],
  [TaskNotFoundError, 404, 'not_found'],
  [TaskConflictError, 409, 'conflict'],
  [PayloadTooLargeError, 413, 'payload_too_large'],
  [UnsupportedMediaTypeError, 415, 'unsupported_media_type'],
  [MisdirectedRequestError, 421, 'misdirected_request'],
  [NoLeaderError, 503, 'no_leader'],
  [WriteOutcomeUnknownError, 503, 'outcome_unknown'],
  [LogsUnavailableError, 503, 'logs_unavailable'],
  [LeaderUnreachableError, 503, 'no_leader'],
]

/** The API's status and code for `err`, or null for an error it does not expect (a 500). */
export function apiErrorOf(err: unknown): { status: number; code: string } | null {
  const row = ERROR_TABLE.find(([errorClass]) => err instanceof errorClass)
  return row === undefined ? null : { status: row[1], code: row[2] }
}

/** Client errors the framework raises before a handler runs (bad JSON is told apart by its code). */
const FRAMEWORK_CODES: Readonly<Record<number, ApiErrorCode>> = {
  413: 'payload_too_large',
  415: 'unsupported_media_type',
}

/** The codes an error answer with this status may carry: the table's, the framework's, and the
 * fallbacks of the error handler and the not-found handler (for the OpenAPI document). */
export function errorCodesOf(status: number): ApiErrorCode[] {
  const codes = ERROR_TABLE.filter(([, s]) => s === status).map(([, , code]) => code)
  const framework = FRAMEWORK_CODES[status]
  if (framework !== undefined) codes.push(framework)
  if (status === 400) codes.push('invalid_json', 'bad_request')
  if (status === 404) codes.push('not_found')
  if (status === 500) codes.push('internal')
  return [...new Set(codes)]
}

export function errorBody(code: ApiErrorCode, message: string): ErrorBody {
  return { error: { code, message } }
}

export function makeErrorHandler(log: Logger) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply): void => {
    const error = refusalOf(err, req) ?? err
    const row = ERROR_TABLE.find(([errorClass]) => error instanceof errorClass)
    if (row !== undefined) {
      if (error instanceof RequestRefusedError) void reply.headers(error.headers)
      void reply.status(row[1]).send(errorBody(row[2], error.message))
      return
    }
    const status = err.statusCode ?? 500
    if (status >= 400 && status < 500) {
      const code =
        err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError
          ? 'invalid_json'
          : (FRAMEWORK_CODES[status] ?? 'bad_request')
      void reply.status(status).send(errorBody(code, err.message))
      return
    }
    log.error({ err, method: req.method, url: req.url }, 'unhandled error in HTTP handler')
    void reply.status(500).send(errorBody('internal', 'internal error; see the node log'))
  }
}
