// Rankers: which of the nodes that can take a task gets it. Each one scans the nodes taking work
// once, in id order, checking that the task fits (labels, cpus, memory, as feasibility.ts does)
// and ranking the ones that do in the same pass, so a placement is one pass over the fleet with no
// list of feasible nodes built. Ties end on the preferred node (the master's own), then the node
// id, so the choice never depends on the order the master listed the nodes in.
import { CAPACITY_EPSILON } from '../util/resources.js'
import { fraction } from './feasibility.js'
import type { Fleet } from './fleet.js'
import type { SchedulerPolicy, SchedulerTask } from './types.js'

export interface Choice {
  /** The chosen node's index in the fleet. */
  index: number
  /** How many nodes could take the task, for the placement text. */
  feasible: number
  /** The ranker's reason, for the placement text: "least loaded", "next after n1". */
  why: string
}

/** The node `policy` picks for `task`, or null when no node can take it. `labels` is the fleet's
 * filter for the task's constraints (null: none). */
export function choose(
  policy: SchedulerPolicy,
  task: SchedulerTask,
  fleet: Fleet,
  labels: Uint8Array | null,
  roundRobinAfter: string | null,
): Choice | null {
  switch (policy) {
    case 'bin-pack':
      return scanLoaded(task, fleet, labels, 'most')
    case 'round-robin':
      return scanRoundRobin(task, fleet, labels, roundRobinAfter)
    case 'spread':
    case 'edf':
    case 'fair':
      // edf and fair decide queue order; they place like spread.
      return scanLoaded(task, fleet, labels, 'least')
  }
}

/**
 * Spread ('least'): the least loaded node after placement (its dominant, fuller resource), then
 * the one running fewest tasks (so tasks that request nothing still spread), then the preferred
 * node, then the lowest id. Keeps headroom on every node and limits what one node failure takes
 * down.
 *
 * Bin-pack ('most'): the most loaded node after placement that still fits, then the preferred
 * node, then the lowest id. Fills one node before touching the next, leaving whole nodes free for
 * large tasks (or to be shut down).
 */
function scanLoaded(
  task: SchedulerTask,
  fleet: Fleet,
  labels: Uint8Array | null,
  prefer: 'least' | 'most',
): Choice | null {
  const { takingWork, usedCpus, usedMemoryMb, capacityCpus, capacityMemoryMb, taskCount, preferred } = fleet
  const cpus = task.cpus
  const memoryMb = task.memoryMb
  const least = prefer === 'least'
  let best = -1
  let bestUtil = 0
  let feasible = 0
  for (let k = 0; k < takingWork.length; k++) {
    const i = takingWork[k]!
    if (labels !== null && labels[i] === 0) continue
    const usedC = usedCpus[i]!
    const usedM = usedMemoryMb[i]!
    const capC = capacityCpus[i]!
    const capM = capacityMemoryMb[i]!
    // fits() from util/resources.ts, inline: this is the innermost loop of a round.
    if (!(cpus <= capC - usedC + CAPACITY_EPSILON) || !(memoryMb <= capM - usedM + CAPACITY_EPSILON)) continue
    feasible++
    const util = Math.max(fraction(usedC + cpus, capC), fraction(usedM + memoryMb, capM))
    if (best < 0) {
      best = i
      bestUtil = util
      continue
    }
    // Strictly better only: on a full tie the earlier (lower id) node stays, unless this one is preferred.
    let better: boolean
    if (least) {
      const winsEqualLoad = taskCount[i]! < taskCount[best]! || (taskCount[i] === taskCount[best] && preferred[i] === 1)
      better = util < bestUtil || (util === bestUtil && winsEqualLoad)
    } else {
      better = util > bestUtil || (util === bestUtil && preferred[i] === 1)
    }
    if (better) {
      best = i
      bestUtil = util
    }
  }
  if (best < 0) return null
  return { index: best, feasible, why: least ? 'least loaded' : 'most loaded that fits' }
}

/**
 * Round-robin: the first node that fits whose id sorts after `after` (the node that got the
 * previous round-robin task), wrapping to the lowest id. `after` need not be a current node: a
 * node that left still marks a position in id order.
 */
function scanRoundRobin(
  task: SchedulerTask,
  fleet: Fleet,
  labels: Uint8Array | null,
  after: string | null,
): Choice | null {
  const { takingWork, usedCpus, usedMemoryMb, capacityCpus, capacityMemoryMb } = fleet
  const start = after === null ? 0 : firstIndexAfter(fleet, after)
  let first = -1
  let firstAfter = -1
  let feasible = 0
  for (let k = 0; k < takingWork.length; k++) {
    const i = takingWork[k]!
    if (labels !== null && labels[i] === 0) continue
    if (!(task.cpus <= capacityCpus[i]! - usedCpus[i]! + CAPACITY_EPSILON)) continue
    if (!(task.memoryMb <= capacityMemoryMb[i]! - usedMemoryMb[i]! + CAPACITY_EPSILON)) continue
    feasible++
    if (first < 0) first = i
    if (firstAfter < 0 && i >= start) firstAfter = i
  }
  if (first < 0) return null
  if (after === null) return { index: first, feasible, why: 'first in id order' }
  if (firstAfter >= 0) return { index: firstAfter, feasible, why: `next after ${after}` }
  return { index: first, feasible, why: `next after ${after}, wrapping` }
}

/** Index of the first node whose id sorts after `id` (the fleet is in id order). */
function firstIndexAfter(fleet: Fleet, id: string): number {
  let lo = 0
  let hi = fleet.size
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (fleet.nodes[mid]!.id > id) hi = mid
    else lo = mid + 1
  }
  return lo
}
