// Random inputs from fixed seeds, checked against invariants computed here independently of the
// scheduler's own feasibility code. A failure names its seed, so it replays exactly.
import assert from 'node:assert/strict'
import { plan } from '../../src/scheduler/scheduler.js'
import {
  SCHEDULER_POLICIES,
  type SchedulerInput,
  type SchedulerNode,
  type SchedulerPlan,
  type SchedulerPolicy,
  type SchedulerTask,
} from '../../src/scheduler/types.js'
import { Prng } from '../../harness/sim/prng.js'

const NOW = 5_000_000
/** Looser than the scheduler's own epsilon: sums of many fractional cpus drift a little more. */
const SLACK = 1e-6
const TENANTS = ['a', 'b', 'c']
const MAX_NODES = 8
const MAX_TASKS = 40

function randomNode(rng: Prng, index: number): SchedulerNode {
  const capacity = { cpus: rng.pick([0.5, 1, 2, 4, 8]), memoryMb: rng.pick([512, 1024, 4096, 8192]) }
  // Mostly within capacity; sometimes beyond it (a node that shrank after restart).
  const load = rng.chance(0.05) ? 1.2 : rng.pick([0, 0, 0.25, 0.5, 0.9, 1])
  const labels: Record<string, string> = {}
  if (rng.chance(0.7)) labels.zone = rng.pick(['edge', 'core'])
  if (rng.chance(0.3)) labels.gpu = 'true'
  return {
    id: `n${index}`,
    name: `node-${index}`,
    alive: rng.chance(0.85),
    draining: rng.chance(0.1),
    labels,
    capacity,
    allocated: { cpus: Math.round(capacity.cpus * load * 10) / 10, memoryMb: Math.round(capacity.memoryMb * load) },
    taskCount: rng.int(5),
  }
}

function randomTask(rng: Prng, index: number, seq: number): SchedulerTask {
  const constraints: Record<string, string> = {}
  if (rng.chance(0.3)) constraints.zone = rng.pick(['edge', 'core'])
  if (rng.chance(0.1)) constraints.gpu = 'true'
  const t: SchedulerTask = {
    id: `t${index}`,
    cpus: rng.pick([0, 0.1, 0.1, 0.25, 0.5, 1, 2, 16]),
    memoryMb: rng.pick([0, 64, 256, 1024, 4096, 16384]),
    priority: rng.chance(0.5) ? 50 : rng.int(101),
    deadlineMs: rng.chance(0.5) ? null : NOW - 5000 + rng.int(20_000),
    tenant: rng.pick(TENANTS),
    constraints,
    seq,
  }
  if (rng.chance(0.2)) t.policy = rng.pick(SCHEDULER_POLICIES)
  return t
}

function randomInput(seed: number): SchedulerInput {
  const rng = new Prng(seed)
  const nodes = rng.shuffle(Array.from({ length: rng.int(MAX_NODES + 1) }, (_, i) => randomNode(rng, i)))
  const taskCount = rng.int(MAX_TASKS + 1)
  const seqs = rng.shuffle(Array.from({ length: taskCount }, (_, i) => 100 + i * 3))
  const pending = seqs.map((seq, i) => randomTask(rng, i, seq))
  const tenantUsage: SchedulerInput['tenantUsage'] = {}
  for (const tenant of TENANTS) {
    if (rng.chance(0.5)) tenantUsage[tenant] = { cpus: rng.int(8), memoryMb: rng.int(8192) }
  }
  const roundRobinAfter = rng.chance(0.3) ? null : rng.pick([...nodes.map(n => n.id), 'n99', 'm'])
  return { policy: rng.pick(SCHEDULER_POLICIES), nodes, pending, tenantUsage, roundRobinAfter, nowMs: NOW }
}

function labelsMatch(task: SchedulerTask, node: SchedulerNode): boolean {
  return Object.entries(task.constraints).every(
    ([key, value]) => Object.hasOwn(node.labels, key) && node.labels[key] === value,
  )
}

function takesWork(node: SchedulerNode): boolean {
  return node.alive && !node.draining
}

/** Nodes' usage once the plan is applied. */
function finalUsage(
  input: SchedulerInput,
  result: SchedulerPlan,
): Map<string, { cpus: number; memoryMb: number; placed: number }> {
  const tasks = new Map(input.pending.map(t => [t.id, t]))
  const usage = new Map(
    input.nodes.map(n => [n.id, { cpus: n.allocated.cpus, memoryMb: n.allocated.memoryMb, placed: 0 }]),
  )
  for (const a of result.assignments) {
    const u = usage.get(a.nodeId)!
    const t = tasks.get(a.taskId)!
    u.cpus += t.cpus
    u.memoryMb += t.memoryMb
    u.placed++
  }
  return usage
}

function checkInvariants(input: SchedulerInput, result: SchedulerPlan, label: string): void {
  const tasks = new Map(input.pending.map(t => [t.id, t]))
  const nodes = new Map(input.nodes.map(n => [n.id, n]))

  // Every task exactly once.
  const seen = [...result.assignments.map(a => a.taskId), ...result.pending.map(p => p.taskId), ...result.expired]
  assert.deepEqual([...seen].sort(), [...tasks.keys()].sort(), `${label}: each task exactly once`)

  // Expired: exactly the tasks past their deadline, in seq order.
  const expired = input.pending
    .filter(t => t.deadlineMs !== null && t.deadlineMs < input.nowMs)
    .sort((a, b) => a.seq - b.seq)
  assert.deepEqual(
    result.expired,
    expired.map(t => t.id),
    `${label}: expired`,
  )

  // Every placement is feasible on its own terms.
  for (const a of result.assignments) {
    const node = nodes.get(a.nodeId)
    const t = tasks.get(a.taskId)!
    assert.ok(node !== undefined, `${label}: ${a.taskId} on unknown node ${a.nodeId}`)
    assert.ok(takesWork(node), `${label}: ${a.taskId} on ${a.nodeId}, which takes no work`)
    assert.ok(labelsMatch(t, node), `${label}: ${a.taskId} on ${a.nodeId} without its labels`)
  }

  // No node ends over capacity because of this plan.
  const usage = finalUsage(input, result)
  for (const [id, u] of usage) {
    if (u.placed === 0) continue
    const { capacity } = nodes.get(id)!
    assert.ok(u.cpus <= capacity.cpus + SLACK, `${label}: ${id} over cpu capacity (${u.cpus} > ${capacity.cpus})`)
    assert.ok(
      u.memoryMb <= capacity.memoryMb + SLACK,
      `${label}: ${id} over memory capacity (${u.memoryMb} > ${capacity.memoryMb})`,
    )
  }

  // Pending tasks: no node could take them after the plan (free space only shrinks in a round, so
  // a skipped task never fits later), the unsatisfiable flag is right, and the counts add up.
  for (const p of result.pending) {
    const t = tasks.get(p.taskId)!
    const fitsNow = input.nodes.some(n => {
      const u = usage.get(n.id)!
      return (
        takesWork(n) &&
        labelsMatch(t, n) &&
        t.cpus <= n.capacity.cpus - u.cpus - SLACK &&
        t.memoryMb <= n.capacity.memoryMb - u.memoryMb - SLACK
      )
    })
    assert.ok(!fitsNow, `${label}: ${p.taskId} left pending but fits`)
    const couldEver = input.nodes.some(
      n => takesWork(n) && labelsMatch(t, n) && t.cpus <= n.capacity.cpus && t.memoryMb <= n.capacity.memoryMb,
    )
    assert.equal(p.unsatisfiable, !couldEver, `${label}: ${p.taskId} unsatisfiable`)
    if (input.nodes.length === 0) {
      assert.equal(p.placement, 'no nodes known')
    } else {
      const match = /^(\d+) nodes? evaluated: (.+)$/.exec(p.placement)
      assert.ok(match !== null, `${label}: ${p.placement}`)
      assert.equal(Number(match[1]), input.nodes.length)
      const counted = match[2]!.split(', ').reduce((sum, part) => sum + Number(part.split(' ')[0]), 0)
      assert.equal(counted, input.nodes.length, `${label}: ${p.placement} does not add up`)
    }
  }

  // The round-robin cursor is the last node a round-robin placement used.
  const effective = (id: string): SchedulerPolicy => tasks.get(id)!.policy ?? input.policy
  const lastRoundRobin = result.assignments.filter(a => effective(a.taskId) === 'round-robin').at(-1)
  assert.equal(result.roundRobinAfter, lastRoundRobin?.nodeId ?? input.roundRobinAfter, `${label}: roundRobinAfter`)

  // Static queue orders: placed tasks come out in queue order.
  if (input.policy !== 'fair') {
    const key = (t: SchedulerTask): number[] =>
      input.policy === 'edf' ? [-t.priority, t.deadlineMs ?? Number.POSITIVE_INFINITY, t.seq] : [-t.priority, t.seq]
    const keys = result.assignments.map(a => key(tasks.get(a.taskId)!))
    for (let i = 1; i < keys.length; i++) {
      const order =
        keys[i - 1]!.map((v, j) => (v < keys[i]![j]! ? -1 : v > keys[i]![j]! ? 1 : 0)).find(d => d !== 0) ?? 0
      assert.ok(order < 0, `${label}: assignments out of queue order at ${i}`)
    }
  }
}

describe('scheduler properties', () => {
  it('holds its invariants over 500 seeded random inputs', () => {
    let placedTotal = 0
    let pendingTotal = 0
    for (let seed = 1; seed <= 500; seed++) {
      const input = randomInput(seed)
      const result = plan(input)
      checkInvariants(input, result, `seed ${seed} (${input.policy})`)
      placedTotal += result.assignments.length
      pendingTotal += result.pending.length
    }
    // Guard against a generator that never exercises one of the outcomes.
    assert.ok(placedTotal > 1000, `only ${placedTotal} placements`)
    assert.ok(pendingTotal > 1000, `only ${pendingTotal} pending`)
  })

  it('gives the same plan for the same input in any array order', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const input = randomInput(seed)
      const expected = plan(input)
      const rng = new Prng(seed * 7919)
      const shuffled = {
        ...structuredClone(input),
        nodes: rng.shuffle([...input.nodes]),
        pending: rng.shuffle([...input.pending]),
      }
      assert.deepEqual(plan(shuffled), expected, `seed ${seed}`)
    }
  })
})
