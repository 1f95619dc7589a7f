// The scheduler: one pure function from a snapshot of the cluster to a plan. The master builds the
// SchedulerInput from gossip and the replicated task table, calls plan(), and commits the result;
// the same input always yields the same plan (ties end on the preferred node, node id and task
// seq; no clock, no randomness, no dependence on the order of input arrays).
//
// One round:
//   1. tasks whose deadline passed (deadlineMs < nowMs) are expired, never placed;
//   2. the rest are offered nodes in queue order (queue-order.ts: priority, then per policy);
//   3. each offer scans every node taking work once (rankers.ts): the ones where the task fits
//      (labels, then free resources that include what this round already placed, as
//      feasibility.ts checks them) are ranked by the task's policy (its own override, or the
//      cluster's) in the same pass; with none, the task stays pending with an explanation
//      (explain.ts, from the feasibility pipeline) and the queue moves on.
//
// Head-of-line: a task that does not fit is skipped, not waited for, so one large task cannot stall
// the queue. The price is that a large task can starve while a stream of small ones keeps taking
// the space it would need; that is accepted for now (a reservation for the oldest blocked task
// would fix it).
//
// Cost: O(tasks x nodes) checks of a few numbers each (fleet.ts keeps them in typed arrays) plus the
// queue sort (and a heap of tenants for fair); nodes are sorted once per round, never per task.
import { compareIds } from './ids.js'
import { aliveCapacity, canEverHold, firstFailure, toDemand, type Failure } from './feasibility.js'
import { Fleet } from './fleet.js'
import { createQueue } from './queue-order.js'
import { choose } from './rankers.js'
import { describePending, describePlacement } from './explain.js'
import type {
  Assignment,
  PendingExplanation,
  SchedulerInput,
  SchedulerNode,
  SchedulerPlan,
  SchedulerTask,
} from './types.js'

export function isExpired(task: SchedulerTask, nowMs: number): boolean {
  return task.deadlineMs !== null && task.deadlineMs < nowMs
}

/**
 * The submit-time check: false when no alive, non-draining node could hold the task even empty
 * (the same test as a pending task's `unsatisfiable`), so the API can reject it at once.
 */
export function canEverPlace(task: SchedulerTask, nodes: readonly SchedulerNode[]): boolean {
  return canEverHold(toDemand(task), nodes)
}

export function plan(input: SchedulerInput): SchedulerPlan {
  const nodes = [...input.nodes].sort((a, b) => compareIds(a.id, b.id))
  const fleet = new Fleet(nodes, input.preferredNodeId)

  const expiredTasks: SchedulerTask[] = []
  const live: SchedulerTask[] = []
  for (const task of input.pending) (isExpired(task, input.nowMs) ? expiredTasks : live).push(task)
  expiredTasks.sort((a, b) => a.seq - b.seq || compareIds(a.id, b.id))

  const queue = createQueue(input.policy, live, aliveCapacity(nodes), input.tenantUsage)
  const assignments: Assignment[] = []
  const pending: PendingExplanation[] = []
  let roundRobinAfter = input.roundRobinAfter

  // Reused for every task: one slot per node, filled only when no node fits.
  const failures: Failure[] = []
  for (let task = queue.next(); task !== undefined; task = queue.next()) {
    const demand = toDemand(task)
    const policy = task.policy ?? input.policy
    const choice = choose(policy, task, fleet, fleet.labelFilter(demand), roundRobinAfter)

    if (choice === null) {
      // The explanation runs the checks again, node by node, but only for tasks left pending;
      // placed tasks (the common case) never build one.
      failures.length = 0
      for (const load of fleet.loads) failures.push(firstFailure(demand, load)!)
      pending.push({
        taskId: task.id,
        placement: describePending(demand, failures),
        unsatisfiable: !canEverHold(demand, nodes),
      })
      continue
    }

    fleet.place(choice.index, task)
    queue.placed(task)
    const chosen = nodes[choice.index]!
    // Only round-robin placements move the cursor, whichever policy the cluster runs.
    if (policy === 'round-robin') roundRobinAfter = chosen.id
    assignments.push({
      taskId: task.id,
      nodeId: chosen.id,
      placement: describePlacement(policy, choice.feasible, nodes.length, chosen.name, choice.why),
    })
  }

  return { assignments, pending, expired: expiredTasks.map(task => task.id), roundRobinAfter }
}
