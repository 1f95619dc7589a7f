// Every request part the API takes (params, query string, body) as a zod schema: Fastify checks
// each part with its schema before the handler runs (fastify-type-provider-zod), the handler gets
// the parsed, typed value, and the same schemas can describe the API (jsonSchemaTransform). Each
// message says what is wrong with the field; src/http/validation.ts puts the field's path first.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { KV_KEY_MAX_CHARS, KV_VALUE_MAX_CHARS } from '../cluster/commands.js'
import { LOG_STREAMS } from '../executor/types.js'
import { TASK_LIMITS, taskSpecInputSchema } from '../tasks/spec.js'
import { TASK_STATES } from '../tasks/task-table.js'
import { TASK_LIST_ORDERS } from '../tasks/task-view.js'
import { EVENT_TOPICS, type EventTopic } from '../events/types.js'
import { EVENT_ID_PATTERN } from '../events/event-id.js'

/** The app as the route files see it: each request part typed from its schema. */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>

/** Far above any id we issue. */
const NODE_ID_MAX_CHARS = 128
const TASK_ID_MAX_CHARS = 64
const LIST_DEFAULT_LIMIT = 100
const LIST_MAX_LIMIT = 1000
const ATTEMPT_MAX = 1_000_000

function text(min: number, max: number): z.ZodString {
  return z
    .string({ invalid_type_error: 'must be string', required_error: 'is required' })
    .min(min, `must NOT have fewer than ${min} characters`)
    .max(max, `must NOT have more than ${max} characters`)
}

/** Params or a JSON object body: any other field is refused by name. */
function fields<T extends z.ZodRawShape>(shape: T): z.ZodObject<T, 'strict'> {
  return z
    .object(shape, { invalid_type_error: 'must be object', required_error: 'must be object' })
    .strict('is not a known field')
}

/** Query parameters arrive as text (an array when repeated); an unknown one is refused by name. */
function queryParams<T extends z.ZodRawShape>(shape: T): z.ZodObject<T, 'strict'> {
  return z.object(shape).strict(`is not a known parameter (expected ${Object.keys(shape).join(', ')})`)
}

function oneOf<T extends string>(values: readonly [T, ...T[]], message: string): z.ZodEnum<[T, ...T[]]> {
  return z.enum(values as [T, ...T[]], { errorMap: () => ({ message }) })
}

function queryInt(min: number, max: number) {
  const message = `must be an integer from ${min} to ${max}`
  return z
    .string({ invalid_type_error: message })
    .regex(/^\d+$/, message)
    .refine(raw => Number(raw) >= min && Number(raw) <= max, message)
    .transform(Number)
}

const queryText = z.string({ invalid_type_error: 'must be string' })

export const nodeIdParams = fields({ id: text(1, NODE_ID_MAX_CHARS) })

/** A drain may leave what runs on the node this long to finish before it is stopped and re-queued. */
export const DRAIN_DEADLINE_MAX_SECONDS = 30 * 24 * 3600

/** No body (which Fastify hands over as null), or `{}`: what runs on the node may finish, however
 * long it takes. */
export const drainBody = fields({
  deadlineSeconds: z
    .number({
      invalid_type_error: `must be a number of seconds from 0 to ${DRAIN_DEADLINE_MAX_SECONDS}`,
    })
    .finite(`must be a number of seconds from 0 to ${DRAIN_DEADLINE_MAX_SECONDS}`)
    .min(0, `must be a number of seconds from 0 to ${DRAIN_DEADLINE_MAX_SECONDS}`)
    .max(DRAIN_DEADLINE_MAX_SECONDS, `must be a number of seconds from 0 to ${DRAIN_DEADLINE_MAX_SECONDS}`)
    .optional(),
}).nullish()

/** No body, or no `to`: the most up-to-date other voter takes over. */
export const leaderTransferBody = fields({ to: text(1, NODE_ID_MAX_CHARS).optional() }).nullish()

export const kvKeyParams = fields({ key: text(1, KV_KEY_MAX_CHARS) })
export const kvPutBody = fields({ value: text(0, KV_VALUE_MAX_CHARS) })

export const taskIdParams = fields({ id: text(1, TASK_ID_MAX_CHARS) })

/** One spec, or an array of 1 to 1,000 that is accepted whole or refused whole; either way the
 * specs come out normalised (the service's TaskSubmission), and the answer has the shape of the
 * question. */
export const submitTasksBody = z.union([
  taskSpecInputSchema.transform(spec => ({ specs: [spec], many: false })),
  z
    .array(taskSpecInputSchema, {
      errorMap: (issue, ctx) => ({
        message:
          issue.code === 'too_big'
            ? `at most ${TASK_LIMITS.maxBatch} specs per request, got ${(ctx.data as unknown[]).length}`
            : ctx.defaultError,
      }),
    })
    .min(1, 'an array of specs must not be empty')
    .max(TASK_LIMITS.maxBatch)
    .transform(specs => ({ specs, many: true })),
])

/** In submission order (newest first with order=newest); `after` is the `next` of the previous page. */
export const listTasksQuery = queryParams({
  state: oneOf(TASK_STATES, `must be one of ${TASK_STATES.join(', ')}`).optional(),
  node: queryText.optional(),
  tenant: queryText.optional(),
  limit: queryInt(1, LIST_MAX_LIMIT).default(String(LIST_DEFAULT_LIMIT)),
  after: queryText.optional(),
  order: oneOf(TASK_LIST_ORDERS, `must be ${TASK_LIST_ORDERS.join(' or ')}`).optional(),
})

/** By default stdout of the current or last attempt, what was written so far. */
export const taskLogsQuery = queryParams({
  stream: oneOf(LOG_STREAMS, 'must be stdout or stderr').default('stdout'),
  follow: oneOf(['true', 'false'], 'must be true or false')
    .default('false')
    .transform(follow => follow === 'true'),
  attempt: queryInt(1, ATTEMPT_MAX).optional(),
})

const eventId = z
  .string({ invalid_type_error: 'must be string' })
  .regex(EVENT_ID_PATTERN, 'must be an event id as the stream sends it (like 3-42)')

/** Repeated (`topic=members&topic=tasks`) or a comma list (`topic=members,tasks`). */
const eventTopics = z.union([queryText, z.array(queryText)]).transform((raw, ctx): EventTopic[] => {
  const names = (Array.isArray(raw) ? raw : [raw]).flatMap(t => t.split(','))
  const bad = names.find(t => !(EVENT_TOPICS as readonly string[]).includes(t))
  if (bad === undefined) return [...new Set(names as EventTopic[])]
  ctx.addIssue({ code: 'custom', message: `"${bad.slice(0, 64)}" is not a topic: use ${EVENT_TOPICS.join(', ')}` })
  return z.NEVER
})

/** Every topic unless `topic` narrows it; `lastEventId` is for clients that cannot set the header. */
export const eventsQuery = queryParams({
  topic: eventTopics.optional(),
  lastEventId: eventId.optional(),
})

/** An EventSource sends the id of the last event it saw when it reconnects; it wins over the query. */
export const eventsHeaders = z.object({ 'last-event-id': eventId.optional() }).passthrough()
