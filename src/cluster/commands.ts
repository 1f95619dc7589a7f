// The commands the cluster state machine understands, as they appear in the `data` of committed
// `normal` log entries. Every replica validates every entry with these schemas and skips what does
// not parse, so a malformed entry (a bug, or a newer leader's command an older node does not know)
// is skipped identically everywhere instead of crashing the apply loop.
//
// Unknown extra fields are stripped, not rejected: a newer node may add optional fields, and an
// older replica applying what it understands stays closer to the others than one skipping the
// whole command. Task commands live in src/tasks/commands.ts.
import { z } from 'zod'
import { TASK_COMMAND_SCHEMAS } from '../tasks/commands.js'

/** Keys are short names, not payloads. */
export const KV_KEY_MAX_CHARS = 256
/** Bounds one log entry; a value this size is fine, bulk data does not belong in the log. */
export const KV_VALUE_MAX_CHARS = 64 * 1024

const kvKey = z.string().min(1).max(KV_KEY_MAX_CHARS)

export const kvPutSchema = z.object({
  type: z.literal('kv.put'),
  key: kvKey,
  value: z.string().max(KV_VALUE_MAX_CHARS),
})
export type KvPutCommand = z.infer<typeof kvPutSchema>

export const kvDeleteSchema = z.object({
  type: z.literal('kv.delete'),
  key: kvKey,
})
export type KvDeleteCommand = z.infer<typeof kvDeleteSchema>

export const clusterCommandSchema = z.discriminatedUnion('type', [kvPutSchema, kvDeleteSchema, ...TASK_COMMAND_SCHEMAS])
export type ClusterCommand = z.infer<typeof clusterCommandSchema>

export type ParsedCommand = { ok: true; command: ClusterCommand } | { ok: false; reason: string }

/** Never throws: a reason string instead, for logs and counters. */
export function parseCommand(data: unknown): ParsedCommand {
  const result = clusterCommandSchema.safeParse(data)
  if (result.success) return { ok: true, command: result.data }
  const issue = result.error.issues[0]
  const path = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `
  return { ok: false, reason: `${path}${issue?.message ?? 'invalid command'}` }
}

/** The leader term a command claims for its assignments (task.assign, and a task.submit carrying
 * placements); null for commands that claim none. */
export function assignTermOf(command: ClusterCommand): number | null {
  if (command.type === 'task.assign') return command.term
  if (command.type === 'task.submit') return command.term ?? null
  return null
}
