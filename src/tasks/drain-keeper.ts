// The leader's part in draining a node (the master runs it every round): a draining node that
// holds no task any more is marked drained, and at a drain's deadline the attempts still on the
// node are stopped and re-queued (task.evict). Deciding is pure (planDrains, tested with any
// clock); keepDrains commits what it decides.
import type { Logger } from 'pino'
import type { TaskCluster } from './cluster-port.js'
import { TASK_COMMAND_LIMITS } from './commands.js'
import type { DrainRecord } from './drain-table.js'
import type { TaskRecord } from './task-table.js'

export interface DrainPlan {
  /** Draining nodes that hold no task any more. */
  drained: string[]
  /** Draining nodes past their deadline, with the attempts still on them. */
  evict: Array<{ node: string; tasks: Array<{ id: string; attempt: number }> }>
}

/** What the leader should commit for the drains as of `nowMs`; `active` is every assigned or
 * running task. */
export function planDrains(
  drains: Iterable<DrainRecord>,
  active: Iterable<Pick<TaskRecord, 'id' | 'attempt' | 'node'>>,
  nowMs: number,
): DrainPlan {
  const draining = new Map<string, DrainRecord>()
  for (const d of drains) if (d.state === 'draining') draining.set(d.node, d)
  const plan: DrainPlan = { drained: [], evict: [] }
  if (draining.size === 0) return plan
  const held = new Map<string, Array<{ id: string; attempt: number }>>()
  for (const t of active) {
    if (t.node === null || !draining.has(t.node)) continue
    const list = held.get(t.node) ?? []
    list.push({ id: t.id, attempt: t.attempt })
    held.set(t.node, list)
  }
  for (const [node, drain] of draining) {
    const tasks = held.get(node)
    if (tasks === undefined) plan.drained.push(node)
    else if (drain.deadlineAtMs !== null && drain.deadlineAtMs <= nowMs) plan.evict.push({ node, tasks })
  }
  return plan
}

/** Commits the plan for the drains as of `nowMs` (writes are idempotent, and each is applied only
 * if it still holds: see TaskTable). `nameOf` names nodes in the evicted attempts' message. */
export async function keepDrains(
  cluster: TaskCluster,
  nowMs: number,
  nameOf: (node: string) => string,
  log: Logger,
): Promise<{ drained: number; evicted: number }> {
  const table = cluster.table
  if (!table.drains.anyDraining()) return { drained: 0, evicted: 0 }
  const plan = planDrains(table.drains.all(), table.activeTasks(), nowMs)
  let evicted = 0
  for (const { node, tasks } of plan.evict) {
    log.info({ peer: node, tasks: tasks.length }, 'drain deadline passed: stopping and re-queueing its tasks')
    const message = `stopped at the drain deadline of ${nameOf(node)}; re-queued`
    for (let i = 0; i < tasks.length; i += TASK_COMMAND_LIMITS.maxItems) {
      const part = tasks.slice(i, i + TASK_COMMAND_LIMITS.maxItems)
      await cluster.write({ type: 'task.evict', node, tasks: part, at: nowMs, message }, { idempotent: true })
      evicted += part.length
    }
  }
  for (const node of plan.drained) {
    log.info({ peer: node }, 'node drained')
    await cluster.write({ type: 'node.drained', node, at: nowMs }, { idempotent: true })
  }
  return { drained: plan.drained.length, evicted }
}
