// /meshos/assign/1.0.0: a worker's assignments, pushed by the leader. The worker says hello; the
// leader answers with the worker's full set (in pages), then pushes each new assignment, each
// cancellation and each attempt taken back (re-queued elsewhere) as it commits; the worker
// acknowledges every frame by its sequence number, and the leader sends again what stays
// unacknowledged. Every frame carries the leader's term: a worker
// ignores frames of a term below the highest it has seen (fencing, as assignments in the log are).
import { z } from 'zod'
import { decodeJson, encodeJson, type DecodeResult } from '../wire/json-codec.js'
import { taskId, TASK_COMMAND_LIMITS } from './commands.js'
import { taskSpecSchema } from './spec.js'

export const ASSIGN_PROTOCOL = '/meshos/assign/1.0.0'
export const ASSIGN_WIRE_VERSION = 1
/** Frames are packed to ASSIGN_PAGE_BYTES (one spec is at most 64 KiB of JSON), with room. */
export const ASSIGN_FRAME_MAX_BYTES = 8 * 1024 * 1024
export const ASSIGN_PAGE_BYTES = 4 * 1024 * 1024
export const ASSIGN_PAGE = 1000

const v = z.literal(ASSIGN_WIRE_VERSION)
const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const term = z
  .number()
  .int()
  .positive()
  .max(2 ** 48)
const assignment = z
  .object({
    id: taskId,
    attempt: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    spec: taskSpecSchema,
    cancelRequested: z.boolean(),
  })
  .strict()

const frameSchema = z.discriminatedUnion('type', [
  /** Worker → leader: send me my full set. */
  z.object({ v, type: z.literal('hello') }).strict(),
  /** Worker → leader: frame `seq` arrived. */
  z.object({ v, type: z.literal('ack'), seq }).strict(),
  /** Leader → worker: a page of the full set; `last` ends it (the set is what the pages hold). */
  z
    .object({
      v,
      type: z.literal('full'),
      seq,
      term,
      assignments: z.array(assignment).max(ASSIGN_PAGE),
      last: z.boolean(),
    })
    .strict(),
  z
    .object({ v, type: z.literal('assign'), seq, term, assignments: z.array(assignment).min(1).max(ASSIGN_PAGE) })
    .strict(),
  z
    .object({ v, type: z.literal('cancel'), seq, term, ids: z.array(taskId).min(1).max(TASK_COMMAND_LIMITS.maxItems) })
    .strict(),
  /** Leader → worker: these attempts are no longer the worker's (re-queued): stop them. */
  z
    .object({
      v,
      type: z.literal('revoke'),
      seq,
      term,
      tasks: z
        .array(z.object({ id: taskId, attempt: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) }).strict())
        .min(1)
        .max(TASK_COMMAND_LIMITS.maxItems),
    })
    .strict(),
  /** Leader → worker, answering a hello: not (or no longer) the leader; try `leader`. */
  z.object({ v, type: z.literal('notLeader'), leader: z.string().min(1).max(128).nullable() }).strict(),
])
export type AssignFrame = z.infer<typeof frameSchema>
export type WireAssignment = z.infer<typeof assignment>

type WithoutVersion<T> = T extends unknown ? Omit<T, 'v'> : never
export type AssignMessage = WithoutVersion<AssignFrame>

export const encodeAssignFrame = (frame: AssignMessage): Uint8Array => encodeJson({ v: ASSIGN_WIRE_VERSION, ...frame })
export const decodeAssignFrame = (bytes: Uint8Array): DecodeResult<AssignFrame> =>
  decodeJson(bytes, frameSchema, ASSIGN_FRAME_MAX_BYTES)
