// The replicated drain table: which nodes an operator drains (they take no new placements) and
// which of them hold no task any more (drained). Part of the task table, so it is applied from the
// log on every replica like the tasks themselves, survives restarts and leader changes, and is
// deterministic: it reads nothing but the commands.
import { z } from 'zod'
import { MAX_EPOCH_MS } from '../util/epoch.js'

export const DRAIN_STATES = ['draining', 'drained'] as const
export type DrainState = (typeof DRAIN_STATES)[number]

/** Far above any fleet's node count; bounds the table against a runaway script. */
export const MAX_DRAINS = 10_000

const epochMs = z.number().nonnegative().max(MAX_EPOCH_MS)

/** A drain as node views show it (GET /v1/nodes): since when the node is in `state` (epoch ms),
 * and when what still runs on it is stopped and re-queued (null: never, it may finish). */
export const drainViewSchema = z.object({
  state: z.enum(DRAIN_STATES),
  sinceMs: epochMs,
  deadlineAtMs: epochMs.nullable(),
})
export type DrainView = z.infer<typeof drainViewSchema>

/** One row, as snapshots carry it. */
export const drainRecordSchema = drainViewSchema.extend({ node: z.string().min(1).max(128) })
export type DrainRecord = z.infer<typeof drainRecordSchema>

/** What one command changed: the node's drain after it (null once undrained). `deadlineReplaced`
 * when a drain of a draining node only moved its deadline. */
export interface DrainChange {
  node: string
  type: 'draining' | 'drained' | 'undrained'
  drain: DrainView | null
  deadlineReplaced: boolean
}

export class DrainTable {
  private drains = new Map<string, DrainView>()

  get(node: string): DrainView | undefined {
    return this.drains.get(node)
  }

  /** Draining or drained: the node takes no new placements. */
  has(node: string): boolean {
    return this.drains.has(node)
  }

  get size(): number {
    return this.drains.size
  }

  /** Every drain, in the order they began. */
  *all(): IterableIterator<DrainRecord> {
    for (const [node, drain] of this.drains) yield { node, ...drain }
  }

  /** Is any node still draining (the leader then has work: deadlines, the drained mark)? */
  anyDraining(): boolean {
    for (const d of this.drains.values()) if (d.state === 'draining') return true
    return false
  }

  /** Starts draining `node`, or replaces the deadline of its drain. Null when nothing changed, or
   * when the table is full (a new node is not taken: the leader refuses such a drain first). */
  drain(node: string, atMs: number, deadlineAtMs: number | null): DrainChange | null {
    const known = this.drains.get(node)
    if (known === undefined) {
      if (this.drains.size >= MAX_DRAINS) return null
      const drain: DrainView = { state: 'draining', sinceMs: atMs, deadlineAtMs }
      this.drains.set(node, drain)
      return { node, type: 'draining', drain: { ...drain }, deadlineReplaced: false }
    }
    if (known.deadlineAtMs === deadlineAtMs) return null
    known.deadlineAtMs = deadlineAtMs
    // A drained node holds nothing that a deadline could stop: only the record changes.
    return known.state === 'draining' ? { node, type: 'draining', drain: { ...known }, deadlineReplaced: true } : null
  }

  /** A draining node holds no task any more. */
  markDrained(node: string, atMs: number): DrainChange | null {
    const known = this.drains.get(node)
    if (known?.state !== 'draining') return null
    known.state = 'drained'
    known.sinceMs = atMs
    return { node, type: 'drained', drain: { ...known }, deadlineReplaced: false }
  }

  undrain(node: string): DrainChange | null {
    if (!this.drains.delete(node)) return null
    return { node, type: 'undrained', drain: null, deadlineReplaced: false }
  }

  snapshot(): DrainRecord[] {
    return [...this.all()]
  }

  restore(records: readonly DrainRecord[]): void {
    this.drains = new Map(records.slice(0, MAX_DRAINS).map(({ node, ...drain }) => [node, { ...drain }]))
  }
}

/** Why the leader refuses a drain of `node` (the table is full), or null. */
export function drainRoomProblem(drains: DrainTable, node: string): string | null {
  if (drains.has(node) || drains.size < MAX_DRAINS) return null
  return `${MAX_DRAINS} nodes are drained or draining already: undrain some first`
}
