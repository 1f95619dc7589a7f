// The scheduler's one-pass placement scan against the straightforward pipeline it replaced
// (harness/scheduler/reference-plan.ts): over seeded random inputs built to tie (identical nodes,
// identical tasks, a preferred node), to fill up (tasks left pending), and to hit the edges (zero
// capacities, nodes over capacity, fractional cpus, labels on Object.prototype names, per-task
// policies, a round-robin cursor on no current node), both must return the same plan: the same
// node for every task, the same texts, the same pending explanations and cursor. A failure names
// its seed, so it replays exactly.
import assert from 'node:assert/strict'
import { plan } from '../../src/scheduler/scheduler.js'
import {
  SCHEDULER_POLICIES,
  type SchedulerInput,
  type SchedulerNode,
  type SchedulerTask,
} from '../../src/scheduler/types.js'
import { Prng } from '../../harness/sim/prng.js'
import { referencePlan } from '../../harness/scheduler/reference-plan.js'

const NOW = 5_000_000
/** A label named like a property of Object.prototype: only a node's own label may match it. */
const PROTOTYPE_NAME: string = 'constructor'

interface Shape {
  maxNodes: number
  maxTasks: number
  /** Exactly the maximum counts, not up to them. */
  exact?: boolean
}

function randomNode(rng: Prng, index: number, kinds: SchedulerNode['capacity'][]): SchedulerNode {
  const capacity = { ...rng.pick(kinds) }
  const load = rng.chance(0.05) ? 1.3 : rng.pick([0, 0, 0, 0.2, 0.5, 0.75, 1])
  const labels: Record<string, string> = {}
  if (rng.chance(0.7)) labels.zone = rng.pick(['a', 'b', 'c'])
  if (rng.chance(0.2)) labels.gpu = 'true'
  if (rng.chance(0.05)) labels[PROTOTYPE_NAME] = 'x'
  return {
    // Ids that do not sort like their indices, and some that share a prefix.
    id: rng.chance(0.5) ? `n${index}` : `node-${(index * 7919) % 1009}`,
    name: `name-${index}`,
    alive: rng.chance(0.9),
    draining: rng.chance(0.05),
    labels,
    capacity,
    allocated: {
      cpus: Math.round(capacity.cpus * load * 10) / 10,
      memoryMb: Math.round(capacity.memoryMb * load),
    },
    taskCount: rng.chance(0.5) ? 0 : rng.int(4),
  }
}

function randomTask(rng: Prng, index: number, seq: number): SchedulerTask {
  const constraints: Record<string, string> = {}
  if (rng.chance(0.25)) constraints.zone = rng.pick(['a', 'b', 'c', 'd'])
  if (rng.chance(0.08)) constraints.gpu = 'true'
  if (rng.chance(0.02)) constraints[PROTOTYPE_NAME] = rng.pick(['x', 'y'])
  const t: SchedulerTask = {
    id: `t${index}`,
    cpus: rng.pick([0, 0.1, 0.1, 0.2, 0.3, 0.5, 1, 1, 2, 3, 16]),
    memoryMb: rng.pick([0, 64, 64, 128, 256, 1024, 4096, 32768]),
    priority: rng.chance(0.6) ? 50 : rng.int(101),
    deadlineMs: rng.chance(0.6) ? null : NOW - 3000 + rng.int(60_000),
    tenant: rng.pick(['a', 'b', 'c', 'd']),
    constraints,
    seq,
  }
  if (rng.chance(0.15)) t.policy = rng.pick(SCHEDULER_POLICIES)
  return t
}

function randomInput(seed: number, shape: Shape): SchedulerInput {
  const rng = new Prng(seed)
  // Few kinds of node, so many are identical and ties are common.
  const kinds = Array.from({ length: 1 + rng.int(4) }, () => ({
    cpus: rng.pick([0, 0.5, 1, 2, 4, 8]),
    memoryMb: rng.pick([0, 512, 1024, 4096, 16384]),
  }))
  const nodeCount = shape.exact === true ? shape.maxNodes : rng.int(shape.maxNodes + 1)
  const nodes = rng.shuffle(Array.from({ length: nodeCount }, (_, i) => randomNode(rng, i, kinds)))
  // Many copies of few tasks: the same size offered to equally loaded nodes, again and again.
  const taskCount = shape.exact === true ? shape.maxTasks : rng.int(shape.maxTasks + 1)
  const pending = Array.from({ length: taskCount }, (_, i) => randomTask(rng, i, 10 + (rng.chance(0.2) ? 0 : i)))
  const tenantUsage: SchedulerInput['tenantUsage'] = {}
  for (const tenant of ['a', 'b', 'c']) {
    if (rng.chance(0.5)) tenantUsage[tenant] = { cpus: rng.int(8), memoryMb: rng.int(8192) }
  }
  const ids = nodes.map(n => n.id)
  const roundRobinAfter = rng.chance(0.3) ? null : rng.pick([...ids, 'm', '', 'zzz', 'n5x'])
  const preferred = rng.chance(0.3) ? undefined : rng.pick([...ids, 'nobody'])
  return {
    policy: rng.pick(SCHEDULER_POLICIES),
    nodes,
    pending,
    tenantUsage,
    roundRobinAfter,
    nowMs: NOW,
    ...(preferred !== undefined ? { preferredNodeId: preferred } : {}),
  }
}

describe('scheduler: the one-pass scan decides as the reference pipeline does', () => {
  it('the same plan over 3,000 seeded small inputs (up to 12 nodes, 60 tasks)', () => {
    let placed = 0
    let pending = 0
    for (let seed = 1; seed <= 3000; seed++) {
      const input = randomInput(seed, { maxNodes: 12, maxTasks: 60 })
      const expected = referencePlan(structuredClone(input))
      const actual = plan(input)
      assert.deepEqual(actual, expected, `seed ${seed} (${input.policy})`)
      placed += actual.assignments.length
      pending += actual.pending.length
    }
    // Guard against a generator that never exercises one of the outcomes.
    assert.ok(placed > 20_000, `only ${placed} placements`)
    assert.ok(pending > 10_000, `only ${pending} pending`)
  })

  it('the same plan over 200 seeded inputs of up to 300 nodes and 600 tasks', () => {
    for (let seed = 10_001; seed <= 10_200; seed++) {
      const input = randomInput(seed, { maxNodes: 300, maxTasks: 600 })
      assert.deepEqual(plan(input), referencePlan(structuredClone(input)), `seed ${seed} (${input.policy})`)
    }
  })

  it('the same plan for every policy on one fleet-sized input (1,000 nodes, 3,000 tasks)', () => {
    for (const policy of SCHEDULER_POLICIES) {
      const input = { ...randomInput(20_001, { maxNodes: 1000, maxTasks: 3000, exact: true }), policy }
      assert.deepEqual(plan(input), referencePlan(structuredClone(input)), policy)
    }
  })
})
