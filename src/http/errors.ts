// Every error the API returns has one shape, { error: { code, message } }, produced here and
// nowhere else. Domain code throws ApiError subclasses; framework errors are translated.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { InvalidCommandError, NoLeaderError, WriteOutcomeUnknownError } from '../cluster/errors.js'
import { InvalidTaskError, LogsUnavailableError, TaskConflictError, TaskNotFoundError } from '../tasks/errors.js'

export class ApiError extends Error {
  constructor (readonly statusCode: number, readonly code: string, message: string) {
    super(message)
  }
}

export class NotFoundError extends ApiError {
  constructor (message: string) {
    super(404, 'not_found', message)
  }
}

export interface ErrorBody { error: { code: string, message: string } }

export function errorBody (code: string, message: string): ErrorBody {
  return { error: { code, message } }
}

/** Fastify's validation errors name the field as "/id" or "body/name": say it as a person would. */
function describeValidation (err: FastifyError): string {
  const first = err.validation?.[0]
  if (first == null) return err.message
  const where = [err.validationContext, first.instancePath.replace(/^\//, '').replace(/\//g, '.')]
    .filter(Boolean).join('.')
  const missing = (first.params as { missingProperty?: string }).missingProperty
  const extra = (first.params as { additionalProperty?: string }).additionalProperty
  if (missing != null) return `${where}.${missing}: is required`
  if (extra != null) return `${where}.${extra}: is not a known field`
  return `${where}: ${first.message ?? 'is invalid'}`
}

export function makeErrorHandler (log: Logger) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply): void => {
    if (err instanceof ApiError) {
      void reply.status(err.statusCode).send(errorBody(err.code, err.message))
      return
    }
    if (err instanceof NoLeaderError) {
      void reply.status(503).send(errorBody('no_leader', err.message))
      return
    }
    const taskError = err instanceof InvalidTaskError
      ? [400, 'invalid_task'] as const
      : err instanceof TaskNotFoundError
        ? [404, 'not_found'] as const
        : err instanceof TaskConflictError ? [409, 'conflict'] as const : err instanceof LogsUnavailableError ? [503, 'logs_unavailable'] as const : null
    if (taskError !== null) {
      void reply.status(taskError[0]).send(errorBody(taskError[1], err.message))
      return
    }
    if (err instanceof InvalidCommandError) {
      void reply.status(400).send(errorBody('invalid_command', err.message))
      return
    }
    if (err instanceof WriteOutcomeUnknownError) {
      void reply.status(503).send(errorBody('outcome_unknown', err.message))
      return
    }
    if (err.validation != null) {
      void reply.status(400).send(errorBody('invalid_request', describeValidation(err)))
      return
    }
    const status = err.statusCode ?? 500
    if (status >= 400 && status < 500) {
      // Framework-level client errors: bad JSON, wrong content type, body too large.
      const code = err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError
        ? 'invalid_json'
        : status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request'
      void reply.status(status).send(errorBody(code, err.message))
      return
    }
    log.error({ err, method: req.method, url: req.url }, 'unhandled error in HTTP handler')
    void reply.status(500).send(errorBody('internal', 'internal error; see the node log'))
  }
}
