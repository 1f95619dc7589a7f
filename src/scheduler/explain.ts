// The texts users read in a task's `placement` field: why it went where it went, or why it is
// still waiting. Pending texts count nodes by the first check they fail (see feasibility.ts), in
// pipeline order, so they always add up to the number of nodes evaluated:
// "3 nodes evaluated: 2 lack 4 cpus free, 1 lacks label zone=edge".
import type { Demand, Failure } from './feasibility.js'
import type { SchedulerPolicy } from './types.js'

export function describePlacement(
  policy: SchedulerPolicy,
  feasibleCount: number,
  nodeCount: number,
  chosenName: string,
  why: string,
): string {
  const verb = feasibleCount === 1 ? 'fits' : 'fit'
  return `${policy}: ${feasibleCount} of ${nodes(nodeCount)} ${verb}; chose ${chosenName} (${why})`
}

/**
 * `failures` holds one entry per node evaluated: the first check it failed. Groups come out in
 * pipeline order, labels in the demand's key order (the order the label check tries them).
 */
export function describePending(demand: Demand, failures: readonly Failure[]): string {
  if (failures.length === 0) return 'no nodes known'
  const counts = { alive: 0, draining: 0, cpus: 0, memory: 0 }
  // Keyed by identity: a failed label check returns the demand's own constraint object.
  const labelCounts = new Map<Failure, number>()
  for (const failure of failures) {
    if (failure.check === 'label') labelCounts.set(failure, (labelCounts.get(failure) ?? 0) + 1)
    else counts[failure.check]++
  }
  const { task } = demand
  const parts: string[] = []
  if (counts.alive > 0) parts.push(`${counts.alive} not alive`)
  if (counts.draining > 0) parts.push(`${counts.draining} draining`)
  for (const constraint of demand.constraints) {
    const count = labelCounts.get(constraint)
    if (count !== undefined) parts.push(`${count} ${lack(count)} label ${constraint.key}=${constraint.value}`)
  }
  if (counts.cpus > 0)
    parts.push(`${counts.cpus} ${lack(counts.cpus)} ${task.cpus} ${task.cpus === 1 ? 'cpu' : 'cpus'} free`)
  if (counts.memory > 0) parts.push(`${counts.memory} ${lack(counts.memory)} ${task.memoryMb} MB memory free`)
  return `${nodes(failures.length)} evaluated: ${parts.join(', ')}`
}

function lack(count: number): string {
  return count === 1 ? 'lacks' : 'lack'
}

function nodes(count: number): string {
  return `${count} ${count === 1 ? 'node' : 'nodes'}`
}
