// Tasks: submit (one spec or up to 1,000), list with filters and pagination, inspect, cancel, and
// read or follow the output from whichever node ran the task.
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { TaskApi } from '../node-api.js'
import { ApiError } from '../errors.js'
import { isTerminal, TASK_STATES, type TaskState } from '../../tasks/task-table.js'
import type { LogStream } from '../../executor/types.js'

const LIST_DEFAULT_LIMIT = 100
const LIST_MAX_LIMIT = 1000
/** How often a follow looks for new output (and whether the task ended). */
const FOLLOW_POLL_MS = 200

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['id'],
  additionalProperties: false
} as const

class BadQueryError extends ApiError {
  constructor (message: string) {
    super(400, 'invalid_request', message)
  }
}

type Query = Record<string, string | undefined>

function knownKeys (query: Query, keys: string[]): void {
  for (const k of Object.keys(query)) if (!keys.includes(k)) throw new BadQueryError(`querystring.${k}: is not a known parameter (expected ${keys.join(', ')})`)
}

function intParam (query: Query, name: string, min: number, max: number): number | undefined {
  const raw = query[name]
  if (raw === undefined) return undefined
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new BadQueryError(`querystring.${name}: must be an integer from ${min} to ${max}`)
  return Number(raw)
}

export function taskRoutes (app: FastifyInstance, tasks: TaskApi): void {
  app.post('/v1/tasks', async (req, reply) => {
    const result = await tasks.submit(req.body)
    return await reply.status(201).send(result)
  })

  app.get<{ Querystring: Query }>('/v1/tasks', async req => {
    const q = req.query
    knownKeys(q, ['state', 'node', 'tenant', 'limit', 'after'])
    if (q.state !== undefined && !TASK_STATES.includes(q.state as TaskState)) throw new BadQueryError(`querystring.state: must be one of ${TASK_STATES.join(', ')}`)
    return tasks.list({
      ...(q.state !== undefined ? { state: q.state as TaskState } : {}),
      ...(q.node !== undefined ? { node: q.node } : {}),
      ...(q.tenant !== undefined ? { tenant: q.tenant } : {}),
      ...(q.after !== undefined ? { after: q.after } : {}),
      limit: intParam(q, 'limit', 1, LIST_MAX_LIMIT) ?? LIST_DEFAULT_LIMIT
    })
  })

  app.get<{ Params: { id: string } }>('/v1/tasks/:id', { schema: { params: idParams } }, async req => tasks.get(req.params.id))

  app.delete<{ Params: { id: string } }>('/v1/tasks/:id', { schema: { params: idParams } }, async req => await tasks.cancel(req.params.id))

  app.get<{ Params: { id: string }, Querystring: Query }>('/v1/tasks/:id/logs', { schema: { params: idParams } }, async (req, reply) => {
    const q = req.query
    knownKeys(q, ['stream', 'follow', 'attempt'])
    const stream = (q.stream ?? 'stdout') as LogStream
    if (stream !== 'stdout' && stream !== 'stderr') throw new BadQueryError('querystring.stream: must be stdout or stderr')
    if (q.follow !== undefined && q.follow !== 'true' && q.follow !== 'false') throw new BadQueryError('querystring.follow: must be true or false')
    const follow = q.follow === 'true'
    const target = tasks.logTarget(req.params.id, intParam(q, 'attempt', 1, 1_000_000))
    // The first chunk is read before answering, so an unreachable worker is a clean 503.
    const first = await tasks.readLog(target.task.id, target.attempt, target.node, stream, 0)
    async function * chunks (): AsyncGenerator<Uint8Array> {
      let chunk = first
      for (;;) {
        if (chunk.data.byteLength > 0) yield chunk.data
        if (chunk.data.byteLength === 0) {
          if (!follow) return
          // Done once the attempt has ended and everything it wrote was read.
          const now = tasks.get(target.task.id)
          if (isTerminal(now.state) || now.attempt !== target.attempt) {
            const last = await tasks.readLog(target.task.id, target.attempt, target.node ?? now.node, stream, chunk.nextOffset)
            if (last.data.byteLength > 0) { chunk = last; continue }
            return
          }
          await new Promise(resolve => setTimeout(resolve, FOLLOW_POLL_MS))
          const node = target.node ?? tasks.get(target.task.id).node
          target.node = node
        }
        chunk = await tasks.readLog(target.task.id, target.attempt, target.node, stream, chunk.nextOffset)
      }
    }
    void reply.header('x-meshos-task-state', target.task.state)
    if (first.truncated) void reply.header('x-meshos-log-truncated', 'true')
    return await reply.type('text/plain; charset=utf-8').send(Readable.from(chunks()))
  })
}
