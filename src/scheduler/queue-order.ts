// Queue order: which pending task is offered a node next. Every task is offered exactly once per
// round: resources only shrink while a plan is built, so a task that did not fit earlier in the
// round cannot fit later, and skipping it (instead of blocking the queue behind it) costs nothing.
//
// - spread, bin-pack, round-robin: priority (higher first), then seq (FIFO).
// - edf: priority, then the earliest deadline (tasks without one last), then seq.
// - fair: dominant resource fairness (Ghodsi et al., NSDI 2011) across tenants, then priority and
//   seq within the tenant. DRF picks the tenant first, so priority only reorders a tenant's own
//   tasks: a tenant cannot take more than its fair share by marking everything priority 100.
import { compareIds } from './ids.js'
import { MinHeap } from '../util/min-heap.js'
import type { Resources, SchedulerPolicy, SchedulerTask } from './types.js'

export interface TaskQueue {
  /** The next task to offer a node, or undefined once every task has been offered. */
  next: () => SchedulerTask | undefined
  /** The task last returned by next() was placed (the fair queue charges it to its tenant). */
  placed: (task: SchedulerTask) => void
}

/** Priority (higher first), then submission order. */
export function byPriorityThenSeq(a: SchedulerTask, b: SchedulerTask): number {
  return b.priority - a.priority || a.seq - b.seq || compareIds(a.id, b.id)
}

/** Priority, then earliest deadline; a task without a deadline goes after every task with one. */
export function byPriorityThenDeadline(a: SchedulerTask, b: SchedulerTask): number {
  if (a.priority !== b.priority) return b.priority - a.priority
  if (a.deadlineMs !== b.deadlineMs) {
    if (a.deadlineMs === null) return 1
    if (b.deadlineMs === null) return -1
    return a.deadlineMs - b.deadlineMs
  }
  return a.seq - b.seq || compareIds(a.id, b.id)
}

/**
 * The queue for the cluster policy. `capacity` (alive nodes' total) and `tenantUsage` matter only
 * for `fair`.
 */
export function createQueue(
  policy: SchedulerPolicy,
  tasks: readonly SchedulerTask[],
  capacity: Resources,
  tenantUsage: Record<string, Resources>,
): TaskQueue {
  switch (policy) {
    case 'edf':
      return sortedQueue(tasks, byPriorityThenDeadline)
    case 'fair':
      return fairQueue(tasks, capacity, tenantUsage)
    case 'spread':
    case 'bin-pack':
    case 'round-robin':
      return sortedQueue(tasks, byPriorityThenSeq)
  }
}

function sortedQueue(
  tasks: readonly SchedulerTask[],
  compare: (a: SchedulerTask, b: SchedulerTask) => number,
): TaskQueue {
  const ordered = [...tasks].sort(compare)
  let index = 0
  return { next: () => ordered[index++], placed: () => {} }
}

interface TenantQueue {
  tenant: string
  tasks: SchedulerTask[]
  head: number
  usage: Resources
  share: number
}

/** The larger of the tenant's cpu and memory shares of the alive cluster. */
export function dominantShare(usage: Resources, capacity: Resources): number {
  const cpu = capacity.cpus > 0 ? usage.cpus / capacity.cpus : 0
  const memory = capacity.memoryMb > 0 ? usage.memoryMb / capacity.memoryMb : 0
  return Math.max(cpu, memory)
}

/**
 * DRF: the tenant with the lowest dominant share goes next; ties go to the tenant whose next task
 * was submitted first (then the tenant name). A placement raises the tenant's share; a task that
 * does not fit is dropped from this round and leaves the share as it was, so the same tenant's
 * next task is offered straight away.
 */
function fairQueue(
  tasks: readonly SchedulerTask[],
  capacity: Resources,
  tenantUsage: Record<string, Resources>,
): TaskQueue {
  const tenants = new Map<string, TenantQueue>()
  for (const task of tasks) {
    let entry = tenants.get(task.tenant)
    if (entry === undefined) {
      const held = Object.hasOwn(tenantUsage, task.tenant) ? tenantUsage[task.tenant]! : { cpus: 0, memoryMb: 0 }
      const usage = { cpus: held.cpus, memoryMb: held.memoryMb }
      entry = { tenant: task.tenant, tasks: [], head: 0, usage, share: dominantShare(usage, capacity) }
      tenants.set(task.tenant, entry)
    }
    entry.tasks.push(task)
  }
  const heap = new MinHeap<TenantQueue>((a, b) => {
    if (a.share !== b.share) return a.share < b.share
    const seqA = a.tasks[a.head]!.seq
    const seqB = b.tasks[b.head]!.seq
    if (seqA !== seqB) return seqA < seqB
    return a.tenant < b.tenant
  })
  for (const entry of tenants.values()) {
    entry.tasks.sort(byPriorityThenSeq)
    heap.push(entry)
  }

  // The tenant of the task last handed out: re-entered on the next call, once placed() has had
  // the chance to update its share.
  let current: TenantQueue | undefined
  return {
    next: () => {
      if (current !== undefined && current.head < current.tasks.length) heap.push(current)
      current = heap.pop()
      if (current === undefined) return undefined
      return current.tasks[current.head++]
    },
    placed: task => {
      if (current === undefined || current.tenant !== task.tenant) return
      current.usage.cpus += task.cpus
      current.usage.memoryMb += task.memoryMb
      current.share = dominantShare(current.usage, capacity)
    },
  }
}
