// A request part its schema refused (src/http/schemas.ts), as the domain error that the error
// table maps: problems of task specs are invalid_task, worded as `meshos run` words them; any
// other problem is invalid_request. Either way the message starts with the field, e.g.
// "params.id: ...", "querystring.limit: ...", "[3].cpus: ...".
import type { FastifyError, FastifyRequest } from 'fastify'
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod'
import type { ZodIssue } from 'zod'
import { InvalidTaskError } from '../tasks/errors.js'
import { describeSpecIssue } from '../tasks/spec.js'
import { submitTasksBody } from './schemas.js'

/** A bad parameter, query parameter or (non-spec) body field. */
export class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError'
}

/** The domain error for a refused request part; null when `err` is no validation error. */
export function refusalOf(err: FastifyError, req: FastifyRequest): Error | null {
  if (err.validation == null) return null
  if (!hasZodFastifySchemaValidationErrors(err)) return new InvalidRequestError(err.message)
  const part = err.validationContext ?? 'request'
  const issue = firstIssue(err.validation.map(v => v.params.issue))
  if (part === 'body' && req.routeOptions.schema?.body === submitTasksBody)
    return new InvalidTaskError(describeSubmissionIssue(issue))
  if (issue === undefined) return new InvalidRequestError(`${part}: is invalid`)
  const where = [part, ...issue.path].join('.')
  return new InvalidRequestError(
    issue.code === 'unrecognized_keys'
      ? `${where}.${issue.keys[0] ?? '?'}: ${issue.message}`
      : `${where}: ${issue.message}`,
  )
}

/** A union refuses with the issues of every branch it tried; the input's problem is in the branch
 * that got past its own type check (an array of specs, not a spec), else in the first. */
function firstIssue(issues: ZodIssue[]): ZodIssue | undefined {
  const issue = issues[0]
  if (issue?.code !== 'invalid_union' || issue.path.length > 0) return issue
  const branches = issue.unionErrors.map(e => e.issues)
  const shaped = branches.find(b => !(b[0]?.code === 'invalid_type' && b[0].path.length === 0))
  return (shaped ?? branches[0])?.[0]
}

/** A spec's fields are named as in `meshos run` ("cpus: ..."), in an array by index ("[3].cpus: ..."). */
function describeSubmissionIssue(issue: ZodIssue | undefined): string {
  const head = issue?.path[0]
  if (issue !== undefined && typeof head === 'number')
    return describeSpecIssue({ ...issue, path: issue.path.slice(1) }, `[${head}].`)
  if ((issue?.code === 'too_small' || issue?.code === 'too_big') && issue.type === 'array' && issue.path.length === 0)
    return `body: ${issue.message}`
  return describeSpecIssue(issue, '')
}
