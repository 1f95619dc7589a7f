// The task commands in the replicated log, and the drains of nodes (which decide where tasks may
// go). Each carries everything apply() needs (ids made by the node that accepted the submission,
// times read by the proposer, the assigning leader's term), so every replica reaches the same task
// table without reading a clock.
//
// Commands are idempotent: a submission whose id is known, an assignment of a task that is no
// longer pending, a report about another attempt are no-ops. That lets every writer retry after
// an unknown outcome (a leader died mid-write) without duplicating anything.
import { z } from 'zod'
import { MAX_EPOCH_MS } from '../util/epoch.js'
import { TASK_LIMITS, taskSpecFieldsSchema, wholeSpecProblem } from './spec.js'

/** Bounds of the lists in one command, so no entry (and no forwarded frame) is unbounded. */
export const TASK_COMMAND_LIMITS = {
  /** Assignments, lost tasks, expired ids or report events in one entry. A master round plans at
   * most maxTasksPerRound (5,000 by default) tasks; the master splits longer lists. */
  maxItems: 5000,
} as const

export const taskId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/)
const nodeId = z.string().min(1).max(128)
const attempt = z.number().int().positive().safe()
/** A time a Date can hold; the worker's start times have sub-millisecond precision. */
const epochMs = z.number().nonnegative().max(MAX_EPOCH_MS)
/** A leader's term: an exact integer. The state machine also refuses one above its entry's. */
const term = z.number().int().positive().safe()

export const taskSubmitSchema = z.object({
  type: z.literal('task.submit'),
  tasks: z
    .array(
      z.object({
        id: taskId,
        spec: taskSpecFieldsSchema,
        submittedAt: epochMs,
        /** Placed by the leader as it proposed the submission (the queue was empty), saving a
         * second commit before the task can start. */
        assign: z.object({ node: nodeId, placement: z.string().max(1024) }).optional(),
      }),
    )
    .min(1)
    .max(TASK_LIMITS.maxBatch)
    // The checks across a spec's fields, for the whole batch in one refinement (spec.ts says why).
    .superRefine((tasks, ctx) => {
      tasks.forEach((t, i) => {
        const problem = wholeSpecProblem(t.spec)
        if (problem !== null)
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i, 'spec', ...problem.path], message: problem.message })
      })
    }),
  /** The proposing leader's term, when any task carries an assignment. */
  term: term.optional(),
})

export const taskAssignSchema = z.object({
  type: z.literal('task.assign'),
  /** The term of the leader that planned it: replicas refuse an assignment from an older term. */
  term,
  assignments: z
    .array(z.object({ id: taskId, attempt, node: nodeId, placement: z.string().max(1024) }))
    .min(1)
    .max(TASK_COMMAND_LIMITS.maxItems),
})

export const outcomeReasonSchema = z.enum([
  'exited',
  'signal',
  'timeout',
  'memory',
  // Newer than the rest: a node of an older version skips the whole report entry that carries it.
  'disk',
  'cancelled',
  'spawn_error',
  'lost',
  'refused',
])

const startedEvent = z.object({ kind: z.literal('started'), id: taskId, attempt, at: epochMs })
const finishedEvent = z.object({
  kind: z.literal('finished'),
  id: taskId,
  attempt,
  at: epochMs,
  startedAt: epochMs.nullable(),
  reason: outcomeReasonSchema,
  exitCode: z.number().int().safe().nullable(),
  signal: z.string().max(32).nullable(),
  message: z.string().max(1024),
})
export const taskReportSchema = z.object({
  type: z.literal('task.report'),
  /** The worker reporting; events about tasks assigned elsewhere are ignored. */
  node: nodeId,
  events: z
    .array(z.discriminatedUnion('kind', [startedEvent, finishedEvent]))
    .min(1)
    .max(TASK_COMMAND_LIMITS.maxItems),
})

export const taskCancelSchema = z.object({
  type: z.literal('task.cancel'),
  ids: z.array(taskId).min(1).max(TASK_LIMITS.maxBatch),
  at: epochMs,
})

export const taskLostSchema = z.object({
  type: z.literal('task.lost'),
  node: nodeId,
  tasks: z
    .array(z.object({ id: taskId, attempt }))
    .min(1)
    .max(TASK_COMMAND_LIMITS.maxItems),
  at: epochMs,
  message: z.string().max(1024),
})

export const taskExpireSchema = z.object({
  type: z.literal('task.expire'),
  ids: z.array(taskId).min(1).max(TASK_COMMAND_LIMITS.maxItems),
  at: epochMs,
})

/** An operator drains a node: it takes no new placements; what it runs may finish until
 * `deadlineAtMs` (null: no deadline), when the leader stops and re-queues it (task.evict).
 * Draining a draining node again replaces its deadline. */
export const nodeDrainSchema = z.object({
  type: z.literal('node.drain'),
  node: nodeId,
  at: epochMs,
  deadlineAtMs: epochMs.nullable(),
})

/** The node takes placements again (whether it was still draining or drained). */
export const nodeUndrainSchema = z.object({ type: z.literal('node.undrain'), node: nodeId, at: epochMs })

/** The leader saw a draining node hold no task any more. Applied only if that is still so. */
export const nodeDrainedSchema = z.object({ type: z.literal('node.drained'), node: nodeId, at: epochMs })

/** The leader stops the attempts still on a draining node at its deadline: each goes back to
 * pending as its next attempt, which costs no retry (the attempt records the outcome
 * `drained`). Applied only while the node is draining. */
export const taskEvictSchema = z.object({
  type: z.literal('task.evict'),
  node: nodeId,
  tasks: z
    .array(z.object({ id: taskId, attempt }))
    .min(1)
    .max(TASK_COMMAND_LIMITS.maxItems),
  at: epochMs,
  message: z.string().max(1024),
})

export type TaskSubmitCommand = z.infer<typeof taskSubmitSchema>
export type TaskAssignCommand = z.infer<typeof taskAssignSchema>
export type TaskReportCommand = z.infer<typeof taskReportSchema>
export type TaskReportEvent = TaskReportCommand['events'][number]
export type TaskFinishedEvent = Extract<TaskReportEvent, { kind: 'finished' }>
export type TaskCancelCommand = z.infer<typeof taskCancelSchema>
export type TaskLostCommand = z.infer<typeof taskLostSchema>
export type TaskExpireCommand = z.infer<typeof taskExpireSchema>
export type OutcomeReason = z.infer<typeof outcomeReasonSchema>
export type NodeDrainCommand = z.infer<typeof nodeDrainSchema>
export type NodeUndrainCommand = z.infer<typeof nodeUndrainSchema>
export type NodeDrainedCommand = z.infer<typeof nodeDrainedSchema>
export type TaskEvictCommand = z.infer<typeof taskEvictSchema>
export type DrainCommand = NodeDrainCommand | NodeUndrainCommand | NodeDrainedCommand

export const TASK_COMMAND_SCHEMAS = [
  taskSubmitSchema,
  taskAssignSchema,
  taskReportSchema,
  taskCancelSchema,
  taskLostSchema,
  taskExpireSchema,
  taskEvictSchema,
  nodeDrainSchema,
  nodeUndrainSchema,
  nodeDrainedSchema,
] as const
export type TaskCommand =
  | TaskSubmitCommand
  | TaskAssignCommand
  | TaskReportCommand
  | TaskCancelCommand
  | TaskLostCommand
  | TaskExpireCommand
  | TaskEvictCommand
  | DrainCommand
