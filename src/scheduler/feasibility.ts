// Feasibility: can this node take this task now? A fixed pipeline of small checks, run in order;
// the first one that fails is the node's reason, which is what the pending explanation counts
// (a dead node that also lacks memory is reported once, as "not alive").
//
// Free resources are capacity - allocated - what the current plan already put on the node, so
// the caller keeps one NodeLoad per node for the whole round and adds each placement to it.
import { compareIds } from './ids.js'
import { CAPACITY_EPSILON, fits } from '../util/resources.js'
import type { Resources, SchedulerNode, SchedulerTask } from './types.js'

/** A node with what it holds so far in this round (the log's allocation plus this plan's placements). */
export interface NodeLoad {
  node: SchedulerNode
  cpus: number
  memoryMb: number
  taskCount: number
}

export function initialLoad(node: SchedulerNode): NodeLoad {
  return { node, cpus: node.allocated.cpus, memoryMb: node.allocated.memoryMb, taskCount: node.taskCount }
}

export function addToLoad(load: NodeLoad, task: SchedulerTask): void {
  load.cpus += task.cpus
  load.memoryMb += task.memoryMb
  load.taskCount++
}

/** A node's reason for not taking a task: the check it failed first. */
export type Failure =
  { check: 'alive' } | { check: 'draining' } | LabelFailure | { check: 'cpus' } | { check: 'memory' }

export interface LabelFailure {
  check: 'label'
  key: string
  value: string
}

// Checks return these shared objects (and the demand's own label objects) rather than new ones:
// a round runs tasks x nodes checks, and most of them fail once the cluster is full.
const NOT_ALIVE: Failure = { check: 'alive' }
const DRAINING: Failure = { check: 'draining' }
const LACKS_CPUS: Failure = { check: 'cpus' }
const LACKS_MEMORY: Failure = { check: 'memory' }

/**
 * A task prepared once per round: its constraints sorted by key, so every node reports the same
 * first missing label, each already in the form a failed label check returns.
 */
export interface Demand {
  task: SchedulerTask
  constraints: readonly LabelFailure[]
}

export function toDemand(task: SchedulerTask): Demand {
  const constraints = Object.entries(task.constraints)
    .sort(([a], [b]) => compareIds(a, b))
    .map(([key, value]): LabelFailure => ({ check: 'label', key, value }))
  return { task, constraints }
}

type Check = (demand: Demand, load: NodeLoad) => Failure | null

/** Suspect, dead and left members take no new work. */
const checkAlive: Check = (_demand, load) => (load.node.alive ? null : NOT_ALIVE)

/** A draining node keeps what it runs and takes nothing new. */
const checkNotDraining: Check = (_demand, load) => (load.node.draining ? DRAINING : null)

const checkLabels: Check = (demand, load) => firstMissingLabel(demand, load.node.labels)

const checkCpus: Check = (demand, load) =>
  fits(demand.task.cpus, load.node.capacity.cpus - load.cpus) ? null : LACKS_CPUS

const checkMemory: Check = (demand, load) =>
  fits(demand.task.memoryMb, load.node.capacity.memoryMb - load.memoryMb) ? null : LACKS_MEMORY

/** The order is the order of the explanation: cheap membership facts before resource arithmetic. */
const CHECKS: readonly Check[] = [checkAlive, checkNotDraining, checkLabels, checkCpus, checkMemory]

/** The first check the node fails for this task, or null when the node can take it now. */
export function firstFailure(demand: Demand, load: NodeLoad): Failure | null {
  for (const check of CHECKS) {
    const failure = check(demand, load)
    if (failure !== null) return failure
  }
  return null
}

/**
 * Could any node ever take this task, even with nothing else on it? Only alive, non-draining
 * nodes count: the others take no new work. False means the task is unsatisfiable (more than any
 * node could hold, or constraints no node matches), which the API rejects at submit time.
 */
export function canEverHold(demand: Demand, nodes: readonly SchedulerNode[]): boolean {
  const { task } = demand
  return nodes.some(
    node =>
      node.alive &&
      !node.draining &&
      firstMissingLabel(demand, node.labels) === null &&
      fits(task.cpus, node.capacity.cpus) &&
      fits(task.memoryMb, node.capacity.memoryMb),
  )
}

/** Own properties only: a constraint on "constructor" must not match Object.prototype. */
export function firstMissingLabel(demand: Demand, labels: Record<string, string>): LabelFailure | null {
  for (const constraint of demand.constraints) {
    if (!Object.hasOwn(labels, constraint.key) || labels[constraint.key] !== constraint.value) return constraint
  }
  return null
}

/** Used fraction of one resource; a zero capacity holding nothing is empty, not NaN. */
export function fraction(used: number, capacity: number): number {
  if (capacity > 0) return used / capacity
  return used > CAPACITY_EPSILON ? Number.POSITIVE_INFINITY : 0
}

/** Sum of the capacities of alive nodes (draining included: they still hold their tasks). */
export function aliveCapacity(nodes: readonly SchedulerNode[]): Resources {
  const total: Resources = { cpus: 0, memoryMb: 0 }
  for (const node of nodes) {
    if (!node.alive) continue
    total.cpus += node.capacity.cpus
    total.memoryMb += node.capacity.memoryMb
  }
  return total
}
