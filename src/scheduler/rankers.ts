// Rankers: which of the nodes that can take a task gets it. Each ranker sees only feasible nodes,
// in id order, and scans them once (no sorting per task). Ties end on the preferred node (the
// master's own), then the node id, so the choice never depends on the order the master listed
// the nodes in.
import { fraction, type NodeLoad } from './feasibility.js'
import type { SchedulerPolicy, SchedulerTask } from './types.js'

export interface Choice {
  load: NodeLoad
  /** The ranker's reason, for the placement text: "least loaded", "next after n1". */
  why: string
}

/** Utilization of the node once the task is on it: its dominant (fuller) resource. */
export function utilizationAfter(load: NodeLoad, task: SchedulerTask): number {
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
export function rankSpread(task: SchedulerTask, feasible: readonly NodeLoad[], preferred?: string): Choice {
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
export function rankBinPack(task: SchedulerTask, feasible: readonly NodeLoad[], preferred?: string): Choice {
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
export function rankRoundRobin(feasible: readonly NodeLoad[], after: string | null): Choice {
  if (after === null) return { load: feasible[0]!, why: 'first in id order' }
  const next = feasible.find(load => load.node.id > after)
  if (next !== undefined) return { load: next, why: `next after ${after}` }
  return { load: feasible[0]!, why: `next after ${after}, wrapping` }
}

/** `edf` and `fair` decide queue order; they place like spread. */
export function rank(
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
