// Tasks: submit (one spec or up to 1,000), list with filters and pagination, inspect, cancel, and
// read or follow the output from whichever node ran the task.
import { Readable } from 'node:stream'
import type { TaskApi } from '../node-api.js'
import { listTasksQuery, submitTasksBody, taskIdParams, taskLogsQuery, type HttpApp } from '../schemas.js'
import { replies, textReply } from '../responses.js'
import { submissionAnswerSchema, taskListSchema, taskViewSchema } from '../../tasks/task-view.js'
import { TASK_STATES, isTerminal } from '../../tasks/task-table.js'

/** How often a follow looks for new output (and whether the task ended). */
const FOLLOW_POLL_MS = 200

export function taskRoutes(app: HttpApp, tasks: TaskApi): void {
  app.post(
    '/v1/tasks',
    {
      schema: {
        summary: 'Submits one spec, or an array of up to 1,000 accepted whole or refused whole',
        body: submitTasksBody,
        response: replies({ 201: submissionAnswerSchema }, [400, 429, 503]),
      },
    },
    async (req, reply) => {
      const result = await tasks.submit(req.body)
      return await reply.status(201).send(result)
    },
  )

  app.get(
    '/v1/tasks',
    {
      schema: {
        summary: 'Tasks in submission order, filtered and paged',
        querystring: listTasksQuery,
        response: replies({ 200: taskListSchema }, [400, 503]),
      },
    },
    async req => await tasks.list(req.query),
  )

  app.get(
    '/v1/tasks/:id',
    {
      schema: {
        summary: 'One task, with its placement (or why it waits) and attempts',
        params: taskIdParams,
        response: replies({ 200: taskViewSchema }, [400, 404, 503]),
      },
    },
    async req => await tasks.get(req.params.id),
  )

  app.delete(
    '/v1/tasks/:id',
    {
      schema: {
        summary: 'Cancels a task: a pending one at once, a running one is stopped by its node',
        params: taskIdParams,
        response: replies({ 200: taskViewSchema }, [400, 404, 409, 503]),
      },
    },
    async req => await tasks.cancel(req.params.id),
  )

  app.get(
    '/v1/tasks/:id/logs',
    {
      schema: {
        summary: "An attempt's output, from the node that ran it; with follow=true until the attempt ends",
        params: taskIdParams,
        querystring: taskLogsQuery,
        response: replies(
          {
            200: textReply({
              contentType: 'text/plain; charset=utf-8',
              description: 'The output, as written',
              headers: {
                'x-meshos-task-state': {
                  description: 'The state of the task when the answer began',
                  type: 'string',
                  enum: [...TASK_STATES],
                },
                'x-meshos-log-truncated': {
                  description: 'Present when the start of the output was dropped (the per-node cap)',
                  type: 'string',
                  enum: ['true'],
                },
              },
            }),
          },
          [400, 404, 503],
        ),
      },
    },
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
