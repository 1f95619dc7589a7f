// The scheduler at fleet size, a pure bench: one round of plan() places a queue of 10,000 tasks over
// 1,000 or 5,000 nodes, for each policy, timed with performance.now() around the call. The old
// placer (harness/scheduler/reference-plan.ts: filter the feasible nodes, then rank them) plans the
// same inputs in the same run, and both plans must be equal, so the speed compared is for the
// same decisions.
//
// The fleet: nodes of three sizes in three zones, some labelled gpu, a few already busy, 2% not
// alive or draining. The queue: small tasks (0.1 to 0.5 cpu, 64 to 1,024 MiB) from four tenants with
// mixed priorities and deadlines, a fifth of them constrained to a zone; every one fits, so each
// offer is a placement and the rate is placements per second.
import { isDeepStrictEqual } from 'node:util'
import { referencePlan } from '../../harness/scheduler/reference-plan.js'
import { Prng } from '../../harness/sim/prng.js'
import { plan } from '../../src/scheduler/scheduler.js'
import type {
  SchedulerInput,
  SchedulerNode,
  SchedulerPlan,
  SchedulerPolicy,
  SchedulerTask,
} from '../../src/scheduler/types.js'
import { summarize, type Summary } from '../lib/stats.js'

export const QUEUED_TASKS = 10_000
const NOW_MS = 1_800_000_000_000

export interface SchedulerCaseResult {
  nodes: number
  tasks: number
  policy: SchedulerPolicy
  /** Placements in one round (the same for both placers: their plans are equal). */
  placed: number
  /** Wall ms of one plan() round, per trial (p99: the slowest round); placements/s is placed / round. */
  roundMs: Summary
  referenceRoundMs: Summary
  /** CPU ms of the process (all threads, GC included) per new round: less sensitive to other load. */
  roundCpuMs: Summary
  /** Whether every trial's plan equalled the old placer's. */
  samePlan: boolean
}

function fleetNode(rng: Prng, i: number): SchedulerNode {
  const size = rng.pick([
    { cpus: 2, memoryMb: 4096 },
    { cpus: 4, memoryMb: 8192 },
    { cpus: 8, memoryMb: 16384 },
  ])
  const busy = rng.chance(0.1) ? 0.5 : 0
  const labels: Record<string, string> = { zone: rng.pick(['a', 'b', 'c']) }
  if (rng.chance(0.1)) labels.gpu = 'true'
  return {
    id: `node-${String(i).padStart(5, '0')}`,
    name: `edge-${i}`,
    alive: !rng.chance(0.01),
    draining: rng.chance(0.01),
    labels,
    capacity: size,
    allocated: { cpus: size.cpus * busy, memoryMb: size.memoryMb * busy },
    taskCount: busy > 0 ? 2 : 0,
  }
}

function queuedTask(rng: Prng, i: number): SchedulerTask {
  return {
    id: `task-${String(i).padStart(6, '0')}`,
    cpus: rng.pick([0.1, 0.1, 0.1, 0.25, 0.5]),
    memoryMb: rng.pick([64, 128, 256, 512, 1024]),
    priority: rng.chance(0.8) ? 50 : rng.int(101),
    deadlineMs: rng.chance(0.5) ? null : NOW_MS + rng.int(3_600_000),
    tenant: rng.pick(['a', 'b', 'c', 'd']),
    constraints: rng.chance(0.2) ? { zone: rng.pick(['a', 'b', 'c']) } : {},
    seq: i,
  }
}

export function fleetInput(nodes: number, tasks: number, policy: SchedulerPolicy, seed: number): SchedulerInput {
  const rng = new Prng(seed)
  return {
    policy,
    nodes: Array.from({ length: nodes }, (_, i) => fleetNode(rng, i)),
    pending: Array.from({ length: tasks }, (_, i) => queuedTask(rng, i)),
    tenantUsage: {},
    roundRobinAfter: null,
    nowMs: NOW_MS,
    preferredNodeId: 'node-00000',
  }
}

/** Placements per second in a round of `roundMs`. */
export function perSecond(placed: number, roundMs: number): number {
  return placed / (roundMs / 1000)
}

/** One round of `placer` on a fresh copy of `input`, timed. */
function timed(placer: (input: SchedulerInput) => SchedulerPlan, input: SchedulerInput) {
  const copy = structuredClone(input)
  const cpuStart = process.cpuUsage()
  const start = performance.now()
  const result = placer(copy)
  const ms = performance.now() - start
  const cpu = process.cpuUsage(cpuStart)
  return { result, ms, cpuMs: (cpu.user + cpu.system) / 1000 }
}

export function benchSchedulerCase(
  nodes: number,
  policy: SchedulerPolicy,
  trials: number,
  referenceTrials: number,
): SchedulerCaseResult {
  const input = fleetInput(nodes, QUEUED_TASKS, policy, nodes)
  // One untimed call of each, so neither is measured before the JIT has compiled it.
  plan(structuredClone(input))
  const fast: number[] = []
  const fastCpu: number[] = []
  const reference: number[] = []
  let samePlan = true
  let placed = 0
  let expected: SchedulerPlan | null = null
  for (let t = 0; t < referenceTrials; t++) {
    const r = timed(referencePlan, input)
    reference.push(r.ms)
    expected = r.result
  }
  for (let t = 0; t < trials; t++) {
    const r = timed(plan, input)
    fast.push(r.ms)
    fastCpu.push(r.cpuMs)
    placed = r.result.assignments.length
    if (expected !== null && !isDeepStrictEqual(r.result, expected)) samePlan = false
  }
  return {
    nodes,
    tasks: QUEUED_TASKS,
    policy,
    placed,
    roundMs: summarize(fast),
    referenceRoundMs: summarize(reference),
    roundCpuMs: summarize(fastCpu),
    samePlan,
  }
}
