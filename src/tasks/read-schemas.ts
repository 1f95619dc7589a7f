// The shapes of the reads a worker gets from the leader, checked before they are passed on: the
// leader is a peer, and a peer's answer is input like any other. Task views and lists are the
// API's own schemas (task-view.ts); the read channel bounds an answer's size.
import { z } from 'zod'
import { taskStateSchema } from './task-view.js'

export { taskListSchema, taskViewSchema } from './task-view.js'

export const logTargetSchema = z
  .object({
    id: z.string().min(1).max(128),
    state: taskStateSchema,
    attempt: z.number().int().positive(),
    node: z.string().min(1).max(128).nullable(),
  })
  .strict()
