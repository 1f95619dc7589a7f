// A task as readers see it (GET /v1/tasks, GET /v1/tasks/:id, the client, the CLI): zod schemas
// that the HTTP API declares and documents its answers with, and the types derived from them.
import { z } from 'zod'
import { taskSpecFieldsSchema } from './spec.js'
import { FAILURE_REASONS, TASK_STATES, type AttemptRecord } from './task-table.js'
import type { SameType } from '../util/same-type.js'

export const taskStateSchema = z.enum(TASK_STATES)

/** Submission order, or its reverse (what a dashboard shows first). */
export const TASK_LIST_ORDERS = ['oldest', 'newest'] as const
export type TaskListOrder = (typeof TASK_LIST_ORDERS)[number]

/** An attempt that has ended. */
export const attemptRecordSchema = z.object({
  attempt: z.number().int(),
  node: z.string(),
  startedAt: z.number().nullable().describe('Epoch ms; null when it never started (refused, or lost before it ran).'),
  finishedAt: z.number(),
  outcome: z.string(),
})

// The replicated table owns AttemptRecord: the build stops if the schema no longer describes it.
const attemptRecordMatches: SameType<z.infer<typeof attemptRecordSchema>, AttemptRecord> = true
void attemptRecordMatches

export const taskViewSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    /** Normalised: every default filled in, the deadline as epoch ms. */
    spec: taskSpecFieldsSchema,
    state: taskStateSchema,
    attempt: z.number().int(),
    node: z.string().nullable().describe('Node id of the current (or last) attempt.'),
    nodeName: z.string().nullable(),
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable(),
    reason: z.enum([...FAILURE_REASONS, 'cancelled']).nullable(),
    message: z.string().nullable(),
    submittedAt: z
      .number()
      .describe("Epoch milliseconds (startedAt has sub-millisecond precision: the worker's spawn time)."),
    startedAt: z.number().nullable(),
    finishedAt: z.number().nullable(),
    placement: z.string().nullable().describe('Why this node, or why still pending.'),
    cancelRequested: z.boolean(),
    attempts: z.array(attemptRecordSchema).describe('Earlier attempts, newest last.'),
  })
  .describe('A task: its normalised spec, state, placement and attempts')
export type TaskView = z.infer<typeof taskViewSchema>

export const taskListSchema = z
  .object({
    tasks: z.array(taskViewSchema),
    next: z.string().nullable().describe('The `after` of the next page; null on the last.'),
    total: z.number().int().describe('Every task matching the filters, on every page.'),
  })
  .describe('One page of tasks in submission order')
export type TaskList = z.infer<typeof taskListSchema>

export const taskSubmittedSchema = z.object({ id: z.string(), state: taskStateSchema })
export type TaskSubmitted = z.infer<typeof taskSubmittedSchema>

/** One spec submitted answers one task; an array answers an array, in its order. */
export const submissionAnswerSchema = z
  .union([taskSubmittedSchema, z.object({ tasks: z.array(taskSubmittedSchema) })])
  .describe('The id and state of each task submitted, in the shape of the request')
export type SubmissionAnswer = z.infer<typeof submissionAnswerSchema>
