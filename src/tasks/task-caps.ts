// Caps on unfinished tasks (pending, assigned or running), per tenant and in all: checked where a
// submission is accepted (TaskService, against this node's replica) and again by the leader as it
// proposes one (forwarded submissions included). Counts lag by the writes in flight, so the cap can
// be passed by at most those: a few batches, not an unbounded number.
import { TooManyTasksError } from './errors.js'
import type { TaskSpec } from './spec.js'
import type { TaskTable } from './task-table.js'

export interface TaskCaps {
  maxUnfinishedTasksPerTenant: number
  maxUnfinishedTasks: number
}

/** Throws TooManyTasksError when adding `tasks` would take a tenant or the cluster past its cap.
 * Tasks already in the table (a submission sent again) are not counted twice. */
export function checkTaskCaps(
  table: TaskTable,
  tasks: ReadonlyArray<{ id: string; spec: Pick<TaskSpec, 'tenant'> }>,
  caps: TaskCaps,
): void {
  const added = new Map<string, number>()
  let total = 0
  for (const t of tasks) {
    if (table.get(t.id) !== undefined) continue
    added.set(t.spec.tenant, (added.get(t.spec.tenant) ?? 0) + 1)
    total++
  }
  for (const [tenant, n] of added) {
    const have = table.unfinished(tenant)
    if (have + n > caps.maxUnfinishedTasksPerTenant)
      throw new TooManyTasksError(
        `tenant ${tenant} has ${have} unfinished tasks (pending, assigned or running) and this adds ${n}: the limit is ${caps.maxUnfinishedTasksPerTenant} per tenant; submit again once some have finished`,
      )
  }
  const have = table.unfinished()
  if (total > 0 && have + total > caps.maxUnfinishedTasks)
    throw new TooManyTasksError(
      `the cluster has ${have} unfinished tasks (pending, assigned or running) and this adds ${total}: the limit is ${caps.maxUnfinishedTasks} in all; submit again once some have finished`,
    )
}
