// The shapes of the reads a worker gets from the leader (task views, lists, log targets), checked
// before they are passed on: the leader is a peer, and a peer's answer is input like any other.
import { z } from 'zod'
import { taskSpecSchema } from './spec.js'
import { TASK_STATES } from './task-table.js'

const id = z.string().min(1).max(128)
const epochMs = z.number().finite()
const attempt = z
  .object({
    attempt: z.number().int().positive(),
    node: id,
    startedAt: epochMs.nullable(),
    finishedAt: epochMs,
    outcome: z.string().max(64),
  })
  .strict()

export const taskViewSchema = z
  .object({
    id,
    name: z.string().nullable(),
    spec: taskSpecSchema,
    state: z.enum(TASK_STATES as unknown as [string, ...string[]]).transform(s => s as (typeof TASK_STATES)[number]),
    attempt: z.number().int().positive(),
    node: id.nullable(),
    nodeName: z.string().nullable(),
    exitCode: z.number().int().nullable(),
    signal: z.string().max(32).nullable(),
    reason: z.string().max(64).nullable(),
    message: z.string().max(4096).nullable(),
    submittedAt: epochMs,
    startedAt: epochMs.nullable(),
    finishedAt: epochMs.nullable(),
    placement: z.string().max(4096).nullable(),
    cancelRequested: z.boolean(),
    attempts: z.array(attempt).max(100),
  })
  .strict()

export const taskListSchema = z
  .object({ tasks: z.array(taskViewSchema).max(1000), next: id.nullable(), total: z.number().int().nonnegative() })
  .strict()

export const logTargetSchema = z
  .object({
    id,
    state: z.enum(TASK_STATES as unknown as [string, ...string[]]).transform(s => s as (typeof TASK_STATES)[number]),
    attempt: z.number().int().positive(),
    node: id.nullable(),
  })
  .strict()
