// The scheduler: one pure function from a snapshot of the cluster to a plan. The master builds the
// SchedulerInput from gossip and the replicated task table, calls plan(), and commits the result;
// the same input always yields the same plan (ties end on the preferred node, node id and task
// seq; no clock, no randomness, no dependence on the order of input arrays).
//
// One round:
//   1. tasks whose deadline passed (deadlineMs < nowMs) are expired, never placed;
//   2. the rest are offered nodes in queue order (queue-order.ts: priority, then per policy);
//   3. each offer runs the feasibility pipeline on every node (feasibility.ts), against free
//      resources that include what this round already placed;
//   4. the ranker of the task's policy (its own override, or the cluster's) picks one of the
//      feasible nodes (rankers.ts); with none, the task stays pending with an explanation
//      (explain.ts) and the queue moves on.
//
// Head-of-line: a task that does not fit is skipped, not waited for, so one large task cannot stall
// the queue. The price is that a large task can starve while a stream of small ones keeps taking
// the space it would need; that is accepted for now (a reservation for the oldest blocked task
// would fix it).
//
// Cost: O(tasks x nodes) feasibility checks plus the queue sort (and a heap of tenants for fair);
// nodes are sorted once per round, never per task.
import { compareIds } from './ids.js'
import {
  addToLoad,
  aliveCapacity,
  canEverHold,
  firstFailure,
  initialLoad,
  toDemand,
  type Failure,
  type NodeLoad,
} from './feasibility.js'
import { createQueue } from './queue-order.js'
import { rank } from './rankers.js'
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
  const loads: NodeLoad[] = nodes.map(initialLoad)

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
    const feasible = loads.filter(load => firstFailure(demand, load) === null)

    if (feasible.length === 0) {
      // The second pass costs the same checks again, but only for tasks left pending; placed
      // tasks (the common case) never build an explanation.
      failures.length = 0
      for (const load of loads) failures.push(firstFailure(demand, load)!)
      pending.push({
        taskId: task.id,
        placement: describePending(demand, failures),
        unsatisfiable: !canEverHold(demand, nodes),
      })
      continue
    }

    const policy = task.policy ?? input.policy
    const choice = rank(policy, task, feasible, roundRobinAfter, input.preferredNodeId)
    addToLoad(choice.load, task)
    queue.placed(task)
    // Only round-robin placements move the cursor, whichever policy the cluster runs.
    if (policy === 'round-robin') roundRobinAfter = choice.load.node.id
    assignments.push({
      taskId: task.id,
      nodeId: choice.load.node.id,
      placement: describePlacement(policy, feasible.length, loads.length, choice.load.node.name, choice.why),
    })
  }

  return { assignments, pending, expired: expiredTasks.map(task => task.id), roundRobinAfter }
}
