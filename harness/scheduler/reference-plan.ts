// The scheduler's plan() as it was before its placement scan was fused into one pass over typed
// arrays (src/scheduler/scheduler.ts): the straightforward pipeline (filter the feasible nodes,
// then rank them) kept verbatim as the reference the fast one must agree with, decision for
// decision and text for text (test/unit/scheduler-equivalence.test.ts), and the baseline of the fleet
// scheduler bench (bench/scheduler/).
import { compareIds } from '../../src/scheduler/ids.js'
import {
  addToLoad,
  aliveCapacity,
  canEverHold,
  firstFailure,
  fraction,
  initialLoad,
  toDemand,
  type Failure,
  type NodeLoad,
} from '../../src/scheduler/feasibility.js'
import { createQueue } from '../../src/scheduler/queue-order.js'
import { describePending, describePlacement } from '../../src/scheduler/explain.js'
import type {
  Assignment,
  PendingExplanation,
  SchedulerInput,
  SchedulerPlan,
  SchedulerPolicy,
  SchedulerTask,
} from '../../src/scheduler/types.js'

function isExpired(task: SchedulerTask, nowMs: number): boolean {
  return task.deadlineMs !== null && task.deadlineMs < nowMs
}

export function referencePlan(input: SchedulerInput): SchedulerPlan {
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

interface Choice {
  load: NodeLoad
  /** The ranker's reason, for the placement text: "least loaded", "next after n1". */
  why: string
}

/** Utilization of the node once the task is on it: its dominant (fuller) resource. */
function utilizationAfter(load: NodeLoad, task: SchedulerTask): number {
  const { capacity } = load.node
  return Math.max(
    fraction(load.cpus + task.cpus, capacity.cpus),
    fraction(load.memoryMb + task.memoryMb, capacity.memoryMb),
  )
}

/**
 * Spread: the least loaded node after placement, then the one running fewest tasks (so tasks that
 * request nothing still spread), then the preferred node, then the lowest id. Keeps headroom on
 * every node and limits what one node failure takes down.
 */
function rankSpread(task: SchedulerTask, feasible: readonly NodeLoad[], preferred?: string): Choice {
  let best = feasible[0]!
  let bestUtil = utilizationAfter(best, task)
  for (let i = 1; i < feasible.length; i++) {
    const load = feasible[i]!
    const util = utilizationAfter(load, task)
    // Strictly better only: on a full tie the earlier (lower id) node stays, unless this one is preferred.
    const winsEqualLoad =
      load.taskCount < best.taskCount || (load.taskCount === best.taskCount && load.node.id === preferred)
    if (util < bestUtil || (util === bestUtil && winsEqualLoad)) {
      best = load
      bestUtil = util
    }
  }
  return { load: best, why: 'least loaded' }
}

/**
 * Bin-pack: the most loaded node that still fits, then the preferred node, then the lowest id.
 * Fills one node before touching the next, leaving whole nodes free for large tasks (or to be
 * shut down).
 */
function rankBinPack(task: SchedulerTask, feasible: readonly NodeLoad[], preferred?: string): Choice {
  let best = feasible[0]!
  let bestUtil = utilizationAfter(best, task)
  for (let i = 1; i < feasible.length; i++) {
    const load = feasible[i]!
    const util = utilizationAfter(load, task)
    if (util > bestUtil || (util === bestUtil && load.node.id === preferred)) {
      best = load
      bestUtil = util
    }
  }
  return { load: best, why: 'most loaded that fits' }
}

/**
 * Round-robin: the first feasible node whose id sorts after `after` (the node that got the
 * previous round-robin task), wrapping to the lowest id. `after` need not be a current node: a
 * node that left still marks a position in id order.
 */
function rankRoundRobin(feasible: readonly NodeLoad[], after: string | null): Choice {
  if (after === null) return { load: feasible[0]!, why: 'first in id order' }
  const next = feasible.find(load => load.node.id > after)
  if (next !== undefined) return { load: next, why: `next after ${after}` }
  return { load: feasible[0]!, why: `next after ${after}, wrapping` }
}

/** `edf` and `fair` decide queue order; they place like spread. */
function rank(
  policy: SchedulerPolicy,
  task: SchedulerTask,
  feasible: readonly NodeLoad[],
  roundRobinAfter: string | null,
  preferred?: string,
): Choice {
  switch (policy) {
    case 'bin-pack':
      return rankBinPack(task, feasible, preferred)
    case 'round-robin':
      return rankRoundRobin(feasible, roundRobinAfter)
    case 'spread':
    case 'edf':
    case 'fair':
      return rankSpread(task, feasible, preferred)
  }
}
