// The cluster state machine: what committed log entries are applied to, identically on every
// replica. For now it holds a small key/value map used to exercise replication end to end; the
// tasks issue adds tasks, assignments and allocations here (and their commands in commands.ts)
// without touching the election code, which only sees the RaftStateMachine interface.
//
// Determinism is the whole contract: apply() must reach the same state on every replica from the
// same entries, so it reads nothing but the entry (no clock, no randomness, no local config).
import { z } from 'zod'
import type { RaftStateMachine } from '../election/raft-node-types.js'
import type { Entry } from '../election/types.js'
import { parseCommand, KV_KEY_MAX_CHARS, KV_VALUE_MAX_CHARS } from './commands.js'

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
  lastMalformed: { index: number, reason: string } | null
}

const SNAPSHOT_VERSION = 1

/** Pairs rather than an object, so a key like "__proto__" round-trips as plain data. */
const snapshotSchema = z.object({
  version: z.literal(SNAPSHOT_VERSION),
  kv: z.array(z.tuple([z.string().min(1).max(KV_KEY_MAX_CHARS), z.string().max(KV_VALUE_MAX_CHARS)]))
})
export type ClusterSnapshot = z.infer<typeof snapshotSchema>

export class ClusterStateMachine implements RaftStateMachine {
  private kv = new Map<string, string>()
  private readonly counters: ClusterStateMachineStats = { appliedCommands: 0, malformedEntries: 0, lastMalformed: null }

  apply (entry: Entry): ApplyOutcome {
    if (entry.type !== 'normal' || entry.data === null) return 'ignored'
    const parsed = parseCommand(entry.data)
    if (!parsed.ok) {
      this.counters.malformedEntries++
      this.counters.lastMalformed = { index: entry.index, reason: parsed.reason }
      return 'malformed'
    }
    const command = parsed.command
    switch (command.type) {
      case 'kv.put':
        this.kv.set(command.key, command.value)
        break
      case 'kv.delete':
        this.kv.delete(command.key)
        break
    }
    this.counters.appliedCommands++
    return 'applied'
  }

  get (key: string): string | undefined {
    return this.kv.get(key)
  }

  /** Every key, sorted, so two replicas with the same state list the same thing. */
  list (): Array<{ key: string, value: string }> {
    return [...this.kv.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => ({ key, value }))
  }

  /** A fresh JSON value: the caller may keep, send and persist it while this machine moves on. */
  snapshot (): ClusterSnapshot {
    return { version: SNAPSHOT_VERSION, kv: this.list().map(({ key, value }): [string, string] => [key, value]) }
  }

  /**
   * Replaces the whole state. `null` is the empty state (the snapshot of a cluster that never had
   * one). Unlike a malformed entry, a malformed snapshot throws: it would leave this replica with
   * state no other replica has, so the node must not carry on.
   */
  restore (data: unknown): void {
    if (data === null) {
      this.kv = new Map()
      return
    }
    const result = snapshotSchema.safeParse(data)
    if (!result.success) throw new Error(`invalid cluster snapshot: ${result.error.issues[0]?.message ?? 'unknown shape'}`)
    this.kv = new Map(result.data.kv)
  }

  get stats (): ClusterStateMachineStats {
    return { ...this.counters, lastMalformed: this.counters.lastMalformed === null ? null : { ...this.counters.lastMalformed } }
  }
}
