// Tasks: submit (one spec or up to 1,000), list with filters and pagination, inspect, cancel, and
// read or follow the output from whichever node ran the task.
import { Readable } from 'node:stream'
import type { TaskApi } from '../node-api.js'
import { listTasksQuery, submitTasksBody, taskIdParams, taskLogsQuery, type HttpApp } from '../schemas.js'
import { isTerminal } from '../../tasks/task-table.js'

/** How often a follow looks for new output (and whether the task ended). */
const FOLLOW_POLL_MS = 200

export function taskRoutes(app: HttpApp, tasks: TaskApi): void {
  app.post('/v1/tasks', { schema: { body: submitTasksBody } }, async (req, reply) => {
    const result = await tasks.submit(req.body)
    return await reply.status(201).send(result)
  })

  app.get('/v1/tasks', { schema: { querystring: listTasksQuery } }, async req => await tasks.list(req.query))

  app.get('/v1/tasks/:id', { schema: { params: taskIdParams } }, async req => await tasks.get(req.params.id))

  app.delete('/v1/tasks/:id', { schema: { params: taskIdParams } }, async req => await tasks.cancel(req.params.id))

  app.get(
    '/v1/tasks/:id/logs',
    { schema: { params: taskIdParams, querystring: taskLogsQuery } },
    async (req, reply) => {
      const { stream, follow, attempt } = req.query
      const target = await tasks.logTarget(req.params.id, attempt)
      // The first chunk is read before answering, so an unreachable worker is a clean 503.
      const first = await tasks.readLog(target.id, target.attempt, target.node, stream, 0)
      async function* chunks(): AsyncGenerator<Uint8Array> {
        let chunk = first
        for (;;) {
          if (chunk.data.byteLength > 0) yield chunk.data
          if (chunk.data.byteLength === 0) {
            if (!follow) return
            // Done once the attempt has ended and everything it wrote was read.
            const now = await tasks.get(target.id)
            if (isTerminal(now.state) || now.attempt !== target.attempt) {
              const last = await tasks.readLog(
                target.id,
                target.attempt,
                target.node ?? now.node,
                stream,
                chunk.nextOffset,
              )
              if (last.data.byteLength > 0) {
                chunk = last
                continue
              }
              return
            }
            await new Promise(resolve => setTimeout(resolve, FOLLOW_POLL_MS))
            const node = target.node ?? (await tasks.get(target.id)).node
            target.node = node
          }
          chunk = await tasks.readLog(target.id, target.attempt, target.node, stream, chunk.nextOffset)
        }
      }
      void reply.header('x-meshos-task-state', target.state)
      if (first.truncated) void reply.header('x-meshos-log-truncated', 'true')
      return await reply.type('text/plain; charset=utf-8').send(Readable.from(chunks()))
    },
  )
}
