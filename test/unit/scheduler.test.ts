import assert from 'node:assert/strict'
import { canEverPlace, plan } from '../../src/scheduler/scheduler.js'
import type { SchedulerInput, SchedulerNode, SchedulerPlan, SchedulerTask } from '../../src/scheduler/types.js'

const NOW = 1_000_000

function node(id: string, over: Partial<SchedulerNode> = {}): SchedulerNode {
  return {
    id,
    name: id,
    alive: true,
    draining: false,
    labels: {},
    capacity: { cpus: 4, memoryMb: 4096 },
    allocated: { cpus: 0, memoryMb: 0 },
    taskCount: 0,
    ...over,
  }
}

function task(id: string, seq: number, over: Partial<SchedulerTask> = {}): SchedulerTask {
  return {
    id,
    cpus: 1,
    memoryMb: 128,
    priority: 50,
    deadlineMs: null,
    tenant: 'default',
    constraints: {},
    seq,
    ...over,
  }
}

/** n tasks named `${prefix}${i}` with consecutive seqs from firstSeq. */
function tasks(prefix: string, n: number, firstSeq: number, over: Partial<SchedulerTask> = {}): SchedulerTask[] {
  return Array.from({ length: n }, (_, i) => task(`${prefix}${i + 1}`, firstSeq + i, over))
}

function input(nodes: SchedulerNode[], pending: SchedulerTask[], over: Partial<SchedulerInput> = {}): SchedulerInput {
  return { policy: 'spread', nodes, pending, tenantUsage: {}, roundRobinAfter: null, nowMs: NOW, ...over }
}

/** [taskId, nodeId] in placement order. */
function placed(result: SchedulerPlan): Array<[string, string]> {
  return result.assignments.map(a => [a.taskId, a.nodeId])
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1
  return counts
}

function perNode(result: SchedulerPlan): Record<string, number> {
  return countBy(result.assignments.map(a => a.nodeId))
}

/** Placed tasks per tenant, given the tenant is the task id's prefix before the first digit. */
function perTenant(result: SchedulerPlan): Record<string, number> {
  return countBy(result.assignments.map(a => a.taskId.replace(/\d.*$/, '')))
}

function pendingText(result: SchedulerPlan, taskId: string): { placement: string; unsatisfiable: boolean } {
  const entry = result.pending.find(p => p.taskId === taskId)
  assert.ok(entry !== undefined, `${taskId} is not pending`)
  return { placement: entry.placement, unsatisfiable: entry.unsatisfiable }
}

describe('scheduler', () => {
  describe('spread', () => {
    it('spreads identical tasks evenly, in id order on ties', () => {
      const result = plan(input([node('n1'), node('n2'), node('n3')], tasks('t', 6, 1)))
      assert.deepEqual(placed(result), [
        ['t1', 'n1'],
        ['t2', 'n2'],
        ['t3', 'n3'],
        ['t4', 'n1'],
        ['t5', 'n2'],
        ['t6', 'n3'],
      ])
      assert.deepEqual(result.pending, [])
    })

    it('prefers the node that is least loaded after placement, counting existing allocations', () => {
      const nodes = [
        node('n1', { allocated: { cpus: 3, memoryMb: 0 }, taskCount: 3 }),
        node('n2', { allocated: { cpus: 0, memoryMb: 3072 }, taskCount: 1 }),
        node('n3', { allocated: { cpus: 1, memoryMb: 1024 }, taskCount: 2 }),
      ]
      const result = plan(input(nodes, [task('t1', 1)]))
      assert.deepEqual(placed(result), [['t1', 'n3']])
    })

    it('uses the dominant resource fraction, not absolute amounts', () => {
      // After placement n1 is at 3/8 cpus, n2 at 2/4: n1 is less loaded even with more cpus used.
      const nodes = [
        node('n1', { capacity: { cpus: 8, memoryMb: 8192 }, allocated: { cpus: 2, memoryMb: 0 } }),
        node('n2', { capacity: { cpus: 4, memoryMb: 8192 }, allocated: { cpus: 1, memoryMb: 0 } }),
      ]
      assert.deepEqual(placed(plan(input(nodes, [task('t1', 1)]))), [['t1', 'n1']])
    })

    it('spreads tasks that request nothing by task count', () => {
      const nodes = [node('n1', { taskCount: 2 }), node('n2', { taskCount: 1 }), node('n3', { taskCount: 1 })]
      const result = plan(input(nodes, tasks('t', 4, 1, { cpus: 0, memoryMb: 0 })))
      assert.deepEqual(placed(result), [
        ['t1', 'n2'],
        ['t2', 'n3'],
        ['t3', 'n1'],
        ['t4', 'n2'],
      ])
    })

    it("gives a full tie to the preferred node (the master), never a lighter node's place", () => {
      const idle = plan(input([node('n1'), node('n2'), node('n3')], tasks('t', 4, 1), { preferredNodeId: 'n2' }))
      assert.deepEqual(placed(idle), [
        ['t1', 'n2'],
        ['t2', 'n1'],
        ['t3', 'n3'],
        ['t4', 'n2'],
      ])
      // n2 runs more tasks: the preference breaks ties only, so n1 and n3 come first.
      const busier = [node('n1'), node('n2', { taskCount: 1 }), node('n3')]
      assert.deepEqual(
        placed(plan(input(busier, tasks('t', 3, 1, { cpus: 0, memoryMb: 0 }), { preferredNodeId: 'n2' }))),
        [
          ['t1', 'n1'],
          ['t2', 'n3'],
          ['t3', 'n2'],
        ],
      )
    })

    it('explains the placement with the node name', () => {
      const result = plan(input([node('n1', { name: 'alpha' }), node('n2', { name: 'beta' })], [task('t1', 1)]))
      assert.equal(result.assignments[0]!.placement, 'spread: 2 of 2 nodes fit; chose alpha (least loaded)')
    })

    it('edf and fair place like spread, under their own name', () => {
      for (const policy of ['edf', 'fair'] as const) {
        const result = plan(input([node('n1'), node('n2')], tasks('t', 4, 1), { policy }))
        assert.deepEqual(perNode(result), { n1: 2, n2: 2 }, policy)
        assert.equal(result.assignments[0]!.placement, `${policy}: 2 of 2 nodes fit; chose n1 (least loaded)`)
      }
    })
  })

  describe('bin-pack', () => {
    it('fills one node before the next', () => {
      const result = plan(input([node('n1'), node('n2')], tasks('t', 6, 1), { policy: 'bin-pack' }))
      assert.deepEqual(placed(result), [
        ['t1', 'n1'],
        ['t2', 'n1'],
        ['t3', 'n1'],
        ['t4', 'n1'],
        ['t5', 'n2'],
        ['t6', 'n2'],
      ])
      assert.equal(result.assignments[0]!.placement, 'bin-pack: 2 of 2 nodes fit; chose n1 (most loaded that fits)')
      assert.equal(result.assignments[4]!.placement, 'bin-pack: 1 of 2 nodes fits; chose n2 (most loaded that fits)')
    })

    it('tops up the most loaded node that still fits', () => {
      const nodes = [
        node('n1', { allocated: { cpus: 1, memoryMb: 0 } }),
        node('n2', { allocated: { cpus: 4, memoryMb: 0 } }),
        node('n3', { allocated: { cpus: 2, memoryMb: 0 } }),
      ]
      const result = plan(input(nodes, tasks('t', 3, 1), { policy: 'bin-pack' }))
      assert.deepEqual(placed(result), [
        ['t1', 'n3'],
        ['t2', 'n3'],
        ['t3', 'n1'],
      ])
    })

    it('gives a tie to the preferred node, then fills it first', () => {
      const result = plan(
        input([node('n1'), node('n2')], tasks('t', 5, 1), { policy: 'bin-pack', preferredNodeId: 'n2' }),
      )
      assert.deepEqual(placed(result), [
        ['t1', 'n2'],
        ['t2', 'n2'],
        ['t3', 'n2'],
        ['t4', 'n2'],
        ['t5', 'n1'],
      ])
    })
  })

  describe('round-robin', () => {
    it('cycles through the nodes in id order and returns the last node used', () => {
      const nodes = [node('n3'), node('n1'), node('n2')]
      const result = plan(input(nodes, tasks('t', 4, 1), { policy: 'round-robin' }))
      assert.deepEqual(placed(result), [
        ['t1', 'n1'],
        ['t2', 'n2'],
        ['t3', 'n3'],
        ['t4', 'n1'],
      ])
      assert.equal(result.roundRobinAfter, 'n1')
      assert.deepEqual(
        result.assignments.map(a => a.placement),
        [
          'round-robin: 3 of 3 nodes fit; chose n1 (first in id order)',
          'round-robin: 3 of 3 nodes fit; chose n2 (next after n1)',
          'round-robin: 3 of 3 nodes fit; chose n3 (next after n2)',
          'round-robin: 3 of 3 nodes fit; chose n1 (next after n3, wrapping)',
        ],
      )
    })

    it('continues after roundRobinAfter, across plans', () => {
      const nodes = [node('n1'), node('n2'), node('n3')]
      const first = plan(input(nodes, [task('t1', 1)], { policy: 'round-robin', roundRobinAfter: 'n2' }))
      assert.deepEqual(placed(first), [['t1', 'n3']])
      const second = plan(
        input(nodes, [task('t2', 2), task('t3', 3)], { policy: 'round-robin', roundRobinAfter: first.roundRobinAfter }),
      )
      assert.deepEqual(placed(second), [
        ['t2', 'n1'],
        ['t3', 'n2'],
      ])
      assert.equal(second.roundRobinAfter, 'n2')
    })

    it('continues after a node that has left', () => {
      const result = plan(
        input([node('n1'), node('n3')], [task('t1', 1)], { policy: 'round-robin', roundRobinAfter: 'n2' }),
      )
      assert.deepEqual(placed(result), [['t1', 'n3']])
    })

    it('skips nodes that cannot take the task', () => {
      const nodes = [node('n1'), node('n2', { allocated: { cpus: 4, memoryMb: 0 } }), node('n3')]
      const result = plan(input(nodes, tasks('t', 3, 1), { policy: 'round-robin' }))
      assert.deepEqual(placed(result), [
        ['t1', 'n1'],
        ['t2', 'n3'],
        ['t3', 'n1'],
      ])
    })

    it('keeps roundRobinAfter when nothing is placed round-robin', () => {
      const nodes = [node('n1'), node('n2')]
      const none = plan(input(nodes, [task('big', 1, { cpus: 99 })], { policy: 'round-robin', roundRobinAfter: 'n1' }))
      assert.equal(none.roundRobinAfter, 'n1')
      // A task overriding the placement ranking does not move the cursor either.
      const override = plan(
        input(nodes, [task('t1', 1, { policy: 'spread' })], { policy: 'round-robin', roundRobinAfter: 'n1' }),
      )
      assert.deepEqual(placed(override), [['t1', 'n1']])
      assert.equal(override.roundRobinAfter, 'n1')
    })

    it('a per-task round-robin override moves the cursor under another cluster policy', () => {
      const nodes = [node('n1'), node('n2'), node('n3')]
      const result = plan(
        input(nodes, [task('t1', 1, { policy: 'round-robin' }), task('t2', 2)], {
          policy: 'bin-pack',
          roundRobinAfter: 'n1',
        }),
      )
      assert.deepEqual(placed(result), [
        ['t1', 'n2'],
        ['t2', 'n2'],
      ])
      assert.equal(result.roundRobinAfter, 'n2')
      assert.match(result.assignments[0]!.placement, /^round-robin: /)
      assert.match(result.assignments[1]!.placement, /^bin-pack: /)
    })
  })

  describe('queue order', () => {
    it('places higher priority first, then by seq', () => {
      const pending = [
        task('low', 1, { priority: 10 }),
        task('high', 2, { priority: 90 }),
        task('mid-a', 3, { priority: 50 }),
        task('mid-b', 4, { priority: 50 }),
      ]
      const result = plan(input([node('n1', { capacity: { cpus: 3, memoryMb: 4096 } })], pending))
      assert.deepEqual(
        result.assignments.map(a => a.taskId),
        ['high', 'mid-a', 'mid-b'],
      )
      assert.deepEqual(
        result.pending.map(p => p.taskId),
        ['low'],
      )
    })

    it('orders by seq, not by the order of the pending array', () => {
      const pending = [task('c', 3), task('a', 1), task('b', 2)]
      const result = plan(input([node('n1', { capacity: { cpus: 2, memoryMb: 4096 } })], pending))
      assert.deepEqual(
        result.assignments.map(a => a.taskId),
        ['a', 'b'],
      )
    })

    it('edf: earliest deadline first, tasks without a deadline last, priority still first', () => {
      const pending = [
        task('none', 1),
        task('late', 2, { deadlineMs: NOW + 5000 }),
        task('soon-a', 3, { deadlineMs: NOW + 1000 }),
        task('soon-b', 4, { deadlineMs: NOW + 1000 }),
        task('urgent-none', 5, { priority: 90 }),
        task('low-soonest', 6, { priority: 10, deadlineMs: NOW + 10 }),
      ]
      const roomy = plan(
        input([node('n1', { capacity: { cpus: 100, memoryMb: 100_000 } })], pending, { policy: 'edf' }),
      )
      assert.deepEqual(
        roomy.assignments.map(a => a.taskId),
        ['urgent-none', 'soon-a', 'soon-b', 'late', 'none', 'low-soonest'],
      )
      const tight = plan(input([node('n1', { capacity: { cpus: 3, memoryMb: 4096 } })], pending, { policy: 'edf' }))
      assert.deepEqual(
        tight.assignments.map(a => a.taskId),
        ['urgent-none', 'soon-a', 'soon-b'],
      )
    })

    it('fifo policies ignore deadlines when ordering', () => {
      const pending = [task('none', 1), task('soon', 2, { deadlineMs: NOW + 10 })]
      const result = plan(input([node('n1', { capacity: { cpus: 1, memoryMb: 4096 } })], pending))
      assert.deepEqual(
        result.assignments.map(a => a.taskId),
        ['none'],
      )
    })

    it('does not block the queue on a task that does not fit', () => {
      const pending = [task('big', 1, { cpus: 3 }), task('small-1', 2), task('small-2', 3)]
      const nodes = [node('n1', { allocated: { cpus: 2, memoryMb: 0 } })]
      const result = plan(input(nodes, pending))
      assert.deepEqual(
        result.assignments.map(a => a.taskId),
        ['small-1', 'small-2'],
      )
      assert.deepEqual(result.pending, [
        { taskId: 'big', placement: '1 node evaluated: 1 lacks 3 cpus free', unsatisfiable: false },
      ])
    })
  })

  describe('fair (DRF)', () => {
    it('shares capacity evenly between tenants whatever the submission order', () => {
      const pending = [...tasks('a', 100, 1, { tenant: 'a' }), ...tasks('b', 100, 101, { tenant: 'b' })]
      const nodes = [
        node('n1', { capacity: { cpus: 6, memoryMb: 65536 } }),
        node('n2', { capacity: { cpus: 4, memoryMb: 65536 } }),
      ]
      const result = plan(input(nodes, pending, { policy: 'fair' }))
      assert.deepEqual(perTenant(result), { a: 5, b: 5 })
      // Equal shares go to the tenant whose next task was submitted first: they alternate.
      assert.deepEqual(
        result.assignments.slice(0, 4).map(a => a.taskId),
        ['a1', 'b1', 'a2', 'b2'],
      )
      assert.equal(result.pending.length, 190)
    })

    it('equalizes dominant shares across resource shapes (the DRF paper example)', () => {
      // 9 cpus, 18 GB; a runs <1 cpu, 4 GB> (memory-heavy), b runs <3 cpus, 1 GB> (cpu-heavy).
      const gb = 1024
      const pending = [
        ...tasks('a', 10, 1, { tenant: 'a', cpus: 1, memoryMb: 4 * gb }),
        ...tasks('b', 10, 11, { tenant: 'b', cpus: 3, memoryMb: 1 * gb }),
      ]
      const result = plan(
        input([node('n1', { capacity: { cpus: 9, memoryMb: 18 * gb } })], pending, { policy: 'fair' }),
      )
      assert.deepEqual(perTenant(result), { a: 3, b: 2 })
      assert.deepEqual(
        result.assignments.map(a => a.taskId),
        ['a1', 'b1', 'a2', 'b2', 'a3'],
      )
    })

    it('starts from the usage tenants already hold', () => {
      // a already holds 4 of the 10 cpus: b catches up to 0.4 first, then they alternate.
      const nodes = [
        node('n1', { capacity: { cpus: 10, memoryMb: 65536 }, allocated: { cpus: 4, memoryMb: 512 }, taskCount: 4 }),
      ]
      const pending = [...tasks('a', 10, 1, { tenant: 'a' }), ...tasks('b', 10, 11, { tenant: 'b' })]
      const result = plan(input(nodes, pending, { policy: 'fair', tenantUsage: { a: { cpus: 4, memoryMb: 512 } } }))
      assert.deepEqual(
        result.assignments.map(a => a.taskId),
        ['b1', 'b2', 'b3', 'b4', 'a1', 'b5'],
      )
    })

    it('counts only alive nodes in the cluster total', () => {
      // Of the alive node, a holds 0.4 of the cpus and b 0.3 of the memory: b goes first. With the
      // dead node's 30 cpus counted, a would hold only 0.1 and go first.
      const nodes = [
        node('n1', { capacity: { cpus: 10, memoryMb: 10_000 }, allocated: { cpus: 4, memoryMb: 3000 } }),
        node('n2', { alive: false, capacity: { cpus: 30, memoryMb: 10_000 } }),
      ]
      const tenantUsage = { a: { cpus: 4, memoryMb: 0 }, b: { cpus: 0, memoryMb: 3000 } }
      const pending = [task('a1', 1, { tenant: 'a' }), task('b1', 2, { tenant: 'b' })]
      const result = plan(input(nodes, pending, { policy: 'fair', tenantUsage }))
      assert.deepEqual(
        result.assignments.map(a => a.taskId),
        ['b1', 'a1'],
      )
    })

    it('priority orders tasks within a tenant but does not buy a larger share', () => {
      const pending = [
        task('a1', 1, { tenant: 'a', priority: 0 }),
        task('a2', 2, { tenant: 'a', priority: 0 }),
        task('a3', 3, { tenant: 'a', priority: 0 }),
        task('b1', 4, { tenant: 'b', priority: 10 }),
        task('b2', 5, { tenant: 'b', priority: 100 }),
        task('b3', 6, { tenant: 'b', priority: 100 }),
      ]
      const result = plan(input([node('n1', { capacity: { cpus: 4, memoryMb: 4096 } })], pending, { policy: 'fair' }))
      assert.deepEqual(
        result.assignments.map(a => a.taskId),
        ['a1', 'b2', 'a2', 'b3'],
      )
    })

    it('skips a tenant task that does not fit and offers that tenant its next one', () => {
      const pending = [
        task('a1', 1, { tenant: 'a', cpus: 8 }),
        task('a2', 2, { tenant: 'a' }),
        task('b1', 3, { tenant: 'b' }),
        task('b2', 4, { tenant: 'b' }),
      ]
      const result = plan(input([node('n1', { capacity: { cpus: 3, memoryMb: 4096 } })], pending, { policy: 'fair' }))
      assert.deepEqual(
        result.assignments.map(a => a.taskId),
        ['a2', 'b1', 'b2'],
      )
      assert.deepEqual(
        result.pending.map(p => [p.taskId, p.unsatisfiable]),
        [['a1', true]],
      )
    })
  })

  describe('feasibility', () => {
    it('places only on alive, non-draining nodes', () => {
      const nodes = [node('n1', { alive: false }), node('n2', { draining: true }), node('n3')]
      const result = plan(input(nodes, tasks('t', 2, 1)))
      assert.deepEqual(placed(result), [
        ['t1', 'n3'],
        ['t2', 'n3'],
      ])
      assert.equal(result.assignments[0]!.placement, 'spread: 1 of 3 nodes fits; chose n3 (least loaded)')
    })

    it('requires every constraint to match a label exactly', () => {
      const nodes = [
        node('n1', { labels: { zone: 'edge' } }),
        node('n2', { labels: { zone: 'core', gpu: 'true' } }),
        node('n3', { labels: { zone: 'edge', gpu: 'true' } }),
      ]
      const pending = [
        task('edge', 1, { constraints: { zone: 'edge' } }),
        task('edge-gpu', 2, { constraints: { zone: 'edge', gpu: 'true' } }),
        task('gpu', 3, { constraints: { gpu: 'true' } }),
        task('edge-gpu-false', 4, { constraints: { zone: 'edge', gpu: 'false' } }),
      ]
      const result = plan(input(nodes, pending))
      assert.deepEqual(placed(result), [
        ['edge', 'n1'],
        ['edge-gpu', 'n3'],
        ['gpu', 'n2'],
      ])
      assert.deepEqual(
        result.pending.map(p => p.taskId),
        ['edge-gpu-false'],
      )
    })

    it('does not match constraints against Object.prototype', () => {
      const result = plan(
        input([node('n1')], [task('t1', 1, { constraints: { constructor: 'function Object() { [native code] }' } })]),
      )
      assert.deepEqual(result.assignments, [])
      assert.equal(result.pending[0]!.unsatisfiable, true)
    })

    it('counts what this plan already placed: two tasks that each fit but not both', () => {
      const nodes = [node('n1', { capacity: { cpus: 4, memoryMb: 4096 }, allocated: { cpus: 1, memoryMb: 0 } })]
      const cpuResult = plan(input(nodes, tasks('t', 2, 1, { cpus: 2 })))
      assert.deepEqual(placed(cpuResult), [['t1', 'n1']])
      assert.deepEqual(cpuResult.pending, [
        { taskId: 't2', placement: '1 node evaluated: 1 lacks 2 cpus free', unsatisfiable: false },
      ])

      const memResult = plan(input(nodes, tasks('t', 2, 1, { cpus: 0.5, memoryMb: 3000 })))
      assert.deepEqual(placed(memResult), [['t1', 'n1']])
      assert.deepEqual(memResult.pending, [
        { taskId: 't2', placement: '1 node evaluated: 1 lacks 3000 MB memory free', unsatisfiable: false },
      ])
    })

    it('fills a node exactly with fractional cpus', () => {
      const nodes = [node('n1', { capacity: { cpus: 0.3, memoryMb: 4096 } })]
      const result = plan(input(nodes, tasks('t', 4, 1, { cpus: 0.1 })))
      assert.deepEqual(
        result.assignments.map(a => a.taskId),
        ['t1', 't2', 't3'],
      )
      assert.deepEqual(
        result.pending.map(p => p.placement),
        ['1 node evaluated: 1 lacks 0.1 cpus free'],
      )
    })

    it('places nothing on a node already allocated beyond its capacity', () => {
      const nodes = [node('n1', { capacity: { cpus: 2, memoryMb: 4096 }, allocated: { cpus: 3, memoryMb: 0 } })]
      const result = plan(input(nodes, [task('t1', 1, { cpus: 0 })]))
      assert.deepEqual(result.assignments, [])
    })
  })

  describe('expired deadlines', () => {
    it('expires tasks whose deadline passed, under every policy, and never places them', () => {
      const pending = [
        task('late-2', 4, { deadlineMs: NOW - 1 }),
        task('on-time', 2, { deadlineMs: NOW }),
        task('late-1', 3, { deadlineMs: 0 }),
        task('none', 1),
      ]
      for (const policy of ['spread', 'bin-pack', 'round-robin', 'edf', 'fair'] as const) {
        const result = plan(input([node('n1')], pending, { policy }))
        assert.deepEqual(result.expired, ['late-1', 'late-2'], policy)
        assert.deepEqual(result.assignments.map(a => a.taskId).sort(), ['none', 'on-time'], policy)
        assert.deepEqual(result.pending, [], policy)
      }
    })

    it('expires a task even when no node could hold it', () => {
      const result = plan(input([], [task('t1', 1, { deadlineMs: NOW - 1 })]))
      assert.deepEqual(result, { assignments: [], pending: [], expired: ['t1'], roundRobinAfter: null })
    })
  })

  describe('why pending', () => {
    it('counts every node by the first check it fails, in pipeline order', () => {
      const edge = { zone: 'edge' }
      const nodes = [
        // Dead and without the label: counted once, as not alive.
        node('n1', { alive: false }),
        node('n2', { draining: true, labels: edge }),
        node('n3', { labels: { zone: 'core' } }),
        node('n4', { labels: edge, capacity: { cpus: 8, memoryMb: 8192 }, allocated: { cpus: 6, memoryMb: 0 } }),
        // Lacks both cpus and memory: counted as cpus.
        node('n5', { labels: edge, allocated: { cpus: 3, memoryMb: 4096 } }),
        node('n6', { labels: edge, capacity: { cpus: 8, memoryMb: 2048 }, allocated: { cpus: 0, memoryMb: 1536 } }),
      ]
      const result = plan(input(nodes, [task('t1', 1, { cpus: 4, memoryMb: 1024, constraints: edge })]))
      assert.deepEqual(result.pending, [
        {
          taskId: 't1',
          placement:
            '6 nodes evaluated: 1 not alive, 1 draining, 1 lacks label zone=edge, 2 lack 4 cpus free, 1 lacks 1024 MB memory free',
          unsatisfiable: false,
        },
      ])
    })

    it('reports each missing label, the first in key order per node', () => {
      const nodes = [node('n1', { labels: { zone: 'edge' } }), node('n2'), node('n3', { labels: { gpu: 'true' } })]
      const result = plan(input(nodes, [task('t1', 1, { constraints: { zone: 'edge', gpu: 'true' } })]))
      assert.deepEqual(pendingText(result, 't1'), {
        placement: '3 nodes evaluated: 2 lack label gpu=true, 1 lacks label zone=edge',
        unsatisfiable: true,
      })
    })

    it('uses singular forms for one node and one cpu', () => {
      const nodes = [node('n1', { allocated: { cpus: 4, memoryMb: 0 } })]
      assert.equal(
        pendingText(plan(input(nodes, [task('t1', 1)])), 't1').placement,
        '1 node evaluated: 1 lacks 1 cpu free',
      )
    })

    it('says so when there are no nodes', () => {
      assert.deepEqual(plan(input([], [task('t1', 1)])).pending, [
        { taskId: 't1', placement: 'no nodes known', unsatisfiable: true },
      ])
    })

    it('reports dead and draining nodes', () => {
      const nodes = [node('n1', { alive: false }), node('n2', { alive: false }), node('n3', { draining: true })]
      assert.deepEqual(pendingText(plan(input(nodes, [task('t1', 1)])), 't1'), {
        placement: '3 nodes evaluated: 2 not alive, 1 draining',
        unsatisfiable: true,
      })
    })
  })

  describe('unsatisfiable', () => {
    const cases: Array<{ name: string; nodes: SchedulerNode[]; task: SchedulerTask; unsatisfiable: boolean }> = [
      {
        name: 'more cpus than any node has',
        nodes: [node('n1'), node('n2')],
        task: task('t', 1, { cpus: 8 }),
        unsatisfiable: true,
      },
      {
        name: 'more memory than any node has',
        nodes: [node('n1')],
        task: task('t', 1, { memoryMb: 8192 }),
        unsatisfiable: true,
      },
      {
        name: 'cpus fit one node and memory another, never both',
        nodes: [
          node('n1', { capacity: { cpus: 8, memoryMb: 1024 } }),
          node('n2', { capacity: { cpus: 1, memoryMb: 8192 } }),
        ],
        task: task('t', 1, { cpus: 4, memoryMb: 4096 }),
        unsatisfiable: true,
      },
      {
        name: 'constraints no node matches',
        nodes: [node('n1', { labels: { zone: 'core' } })],
        task: task('t', 1, { constraints: { zone: 'edge' } }),
        unsatisfiable: true,
      },
      {
        name: 'only a dead node matches',
        nodes: [node('n1', { alive: false, labels: { zone: 'edge' } }), node('n2')],
        task: task('t', 1, { constraints: { zone: 'edge' } }),
        unsatisfiable: true,
      },
      {
        name: 'only a draining node is big enough',
        nodes: [node('n1', { draining: true, capacity: { cpus: 16, memoryMb: 4096 } }), node('n2')],
        task: task('t', 1, { cpus: 8 }),
        unsatisfiable: true,
      },
      {
        name: 'fits an empty node, but every node is busy',
        nodes: [
          node('n1', { allocated: { cpus: 4, memoryMb: 0 } }),
          node('n2', { allocated: { cpus: 0, memoryMb: 4096 } }),
        ],
        task: task('t', 1),
        unsatisfiable: false,
      },
      {
        name: 'fits a node exactly when empty',
        nodes: [node('n1', { allocated: { cpus: 1, memoryMb: 0 } })],
        task: task('t', 1, { cpus: 4, memoryMb: 4096 }),
        unsatisfiable: false,
      },
    ]
    for (const c of cases) {
      it(c.name, () => {
        const result = plan(input(c.nodes, [c.task]))
        assert.equal(result.assignments.length, 0)
        assert.equal(pendingText(result, 't').unsatisfiable, c.unsatisfiable)
        // The submit-time check agrees with the plan.
        assert.equal(canEverPlace(c.task, c.nodes), !c.unsatisfiable)
      })
    }
  })

  describe('determinism', () => {
    const nodes = [
      node('n1', { labels: { zone: 'edge' }, allocated: { cpus: 1, memoryMb: 512 }, taskCount: 1 }),
      node('n2', { capacity: { cpus: 8, memoryMb: 8192 } }),
      node('n3', { draining: true }),
      node('n4', { capacity: { cpus: 2, memoryMb: 2048 } }),
    ]
    const pending = [
      task('t1', 1, { tenant: 'a', cpus: 2 }),
      task('t2', 2, { tenant: 'b', constraints: { zone: 'edge' }, deadlineMs: NOW + 100 }),
      task('t3', 3, { tenant: 'a', priority: 80, memoryMb: 2048 }),
      task('t4', 4, { tenant: 'b', cpus: 3, policy: 'bin-pack' }),
      task('t5', 5, { tenant: 'c', cpus: 0.5, deadlineMs: NOW - 1 }),
      task('t6', 6, { tenant: 'c', cpus: 16 }),
      task('t7', 7, { tenant: 'a', cpus: 1, policy: 'round-robin' }),
    ]

    for (const policy of ['spread', 'bin-pack', 'round-robin', 'edf', 'fair'] as const) {
      it(`${policy}: the same input gives the same plan, whatever the array order`, () => {
        const base = input(nodes, pending, {
          policy,
          tenantUsage: { a: { cpus: 1, memoryMb: 512 } },
          roundRobinAfter: 'n2',
        })
        const first = plan(base)
        assert.deepEqual(plan(structuredClone(base)), first)
        const reordered = {
          ...structuredClone(base),
          nodes: [...base.nodes].reverse(),
          pending: [...base.pending].reverse(),
        }
        assert.deepEqual(plan(reordered), first)
      })
    }

    it('does not modify its input', () => {
      const base = input(nodes, pending, { policy: 'fair', tenantUsage: { a: { cpus: 1, memoryMb: 512 } } })
      const copy = structuredClone(base)
      plan(base)
      assert.deepEqual(base, copy)
    })
  })
})
