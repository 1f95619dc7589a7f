// The cluster state machine: what committed log entries are applied to, identically on every
// replica: the task table (src/tasks/task-table.ts) and a small key/value map. The election code
// only sees the RaftStateMachine interface.
//
// Determinism is the whole contract: apply() must reach the same state on every replica from the
// same entries, so it reads nothing but the entry (no clock, no randomness, no local config).
import { z } from 'zod'
import type { RaftStateMachine } from '../election/driver/raft-node-types.js'
import type { Entry } from '../election/core/types.js'
import { assignTermOf, parseCommand, KV_KEY_MAX_CHARS, KV_VALUE_MAX_CHARS } from './commands.js'
import { TaskTable, type TaskRecord } from '../tasks/task-table.js'
import { MAX_DRAINS, drainRecordSchema } from '../tasks/drain-table.js'

export type ApplyOutcome =
  /** A command changed (or re-asserted) the state. */
  | 'applied'
  /** Not a command: a config entry or the new leader's no-op (data === null). */
  | 'ignored'
  /** A normal entry whose data is not a valid command: skipped on every replica, and counted. */
  | 'malformed'

export interface ClusterStateMachineStats {
  /** Commands applied by this process (since start or the last restore of a snapshot). */
  appliedCommands: number
  /** Malformed entries skipped by this process; a local metric, not replicated state. */
  malformedEntries: number
  lastMalformed: { index: number; reason: string } | null
}

const SNAPSHOT_VERSION = 2

/** Records are written by this same code on another replica; their envelope is checked, and a
 * record missing its identity is refused rather than half-restored. */
const taskRecordSchema = z
  .object({ id: z.string(), seq: z.number(), state: z.string(), attempt: z.number(), spec: z.object({}).passthrough() })
  .passthrough()

/** Pairs rather than an object, so a key like "__proto__" round-trips as plain data. Version 1
 * (before tasks) had no task table; drains are optional (a snapshot made before them has none). */
const snapshotSchema = z.object({
  version: z.union([z.literal(1), z.literal(SNAPSHOT_VERSION)]),
  kv: z.array(z.tuple([z.string().min(1).max(KV_KEY_MAX_CHARS), z.string().max(KV_VALUE_MAX_CHARS)])),
  tasks: z
    .object({ tasks: z.array(taskRecordSchema), finishedOrder: z.array(z.string()), maxAssignTerm: z.number() })
    .optional(),
  drains: z.array(drainRecordSchema).max(MAX_DRAINS).optional(),
})
export type ClusterSnapshot = Omit<z.infer<typeof snapshotSchema>, 'tasks'> & {
  tasks?: ReturnType<TaskTable['snapshot']>
}

export class ClusterStateMachine implements RaftStateMachine {
  private kv = new Map<string, string>()
  readonly tasks = new TaskTable()
  private lastTerm = 0
  private readonly counters: ClusterStateMachineStats = { appliedCommands: 0, malformedEntries: 0, lastMalformed: null }

  apply(entry: Entry): ApplyOutcome {
    try {
      return this.applyEntry(entry)
    } finally {
      this.noteApplied(entry.term)
    }
  }

  private applyEntry(entry: Entry): ApplyOutcome {
    if (entry.type !== 'normal' || entry.data === null) return 'ignored'
    const parsed = parseCommand(entry.data)
    if (!parsed.ok) return this.malformed(entry.index, parsed.reason)
    const command = parsed.command
    // An assignment is only as recent as the leader that made it: one claiming a later term than
    // its own entry's was not made by that leader, and would fence out every genuine one after it.
    const claimed = assignTermOf(command)
    if (claimed !== null && claimed > entry.term)
      return this.malformed(entry.index, `${command.type}: term ${claimed} is past its entry's term ${entry.term}`)
    switch (command.type) {
      case 'kv.put':
        this.kv.set(command.key, command.value)
        break
      case 'kv.delete':
        this.kv.delete(command.key)
        break
      default:
        this.tasks.apply(command, entry.index)
    }
    this.counters.appliedCommands++
    return 'applied'
  }

  private malformed(index: number, reason: string): ApplyOutcome {
    this.counters.malformedEntries++
    this.counters.lastMalformed = { index, reason }
    return 'malformed'
  }

  /** Term of the last applied entry: a new leader's view is complete once it applied one of its own. */
  get appliedTerm(): number {
    return this.lastTerm
  }

  private noteApplied(term: number): void {
    this.lastTerm = Math.max(this.lastTerm, term)
  }

  get(key: string): string | undefined {
    return this.kv.get(key)
  }

  /** Every key, sorted, so two replicas with the same state list the same thing. */
  list(): Array<{ key: string; value: string }> {
    return [...this.kv.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => ({ key, value }))
  }

  /** A fresh JSON value: the caller may keep, send and persist it while this machine moves on. */
  snapshot(): ClusterSnapshot {
    return {
      version: SNAPSHOT_VERSION,
      kv: this.list().map(({ key, value }): [string, string] => [key, value]),
      tasks: this.tasks.snapshot(),
      drains: this.tasks.drains.snapshot(),
    }
  }

  /**
   * Replaces the whole state. `null` is the empty state (the snapshot of a cluster that never had
   * one). Unlike a malformed entry, a malformed snapshot throws: it would leave this replica with
   * state no other replica has, so the node must not carry on.
   */
  restore(data: unknown): void {
    if (data === null) {
      this.kv = new Map()
      this.tasks.restore(null)
      return
    }
    const result = snapshotSchema.safeParse(data)
    if (!result.success) throw new Error(`invalid cluster snapshot: ${describeIssue(result.error)}`)
    this.kv = new Map(result.data.kv)
    const tasks = result.data.tasks
    this.tasks.restore(
      tasks === undefined ? null : { ...tasks, tasks: tasks.tasks as unknown as TaskRecord[] },
      result.data.drains ?? [],
    )
  }

  /** Why restore(data) would throw, or null: the same schema, checked without touching the state. */
  validateSnapshot(data: unknown): string | null {
    if (data === null) return null
    const result = snapshotSchema.safeParse(data)
    return result.success ? null : `invalid cluster snapshot: ${describeIssue(result.error)}`
  }

  get stats(): ClusterStateMachineStats {
    return {
      ...this.counters,
      lastMalformed: this.counters.lastMalformed === null ? null : { ...this.counters.lastMalformed },
    }
  }
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue === undefined) return 'unknown shape'
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message
}
