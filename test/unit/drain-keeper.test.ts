// The leader's part in a drain, with a fake clock: a draining node that holds nothing is marked
// drained; at the deadline (not a moment before) what still runs there is evicted and re-queued,
// and placed elsewhere by the same master; the placer never gives a draining node anything, and
// gives it tasks again once it is undrained.
import assert from 'node:assert/strict'
import pino from 'pino'
import { Master } from '../../src/tasks/master.js'
import { Placer } from '../../src/tasks/placer.js'
import { planDrains } from '../../src/tasks/drain-keeper.js'
import type { TaskCluster } from '../../src/tasks/cluster-port.js'
import { TaskTable } from '../../src/tasks/task-table.js'
import { parseTaskSpec, type TaskSpec } from '../../src/tasks/spec.js'
import type { TaskCommand } from '../../src/tasks/commands.js'
import { parseCommand } from '../../src/cluster/commands.js'
import type { DrainRecord } from '../../src/tasks/drain-table.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { memberInfo, memberView, staticMembers } from '../helpers/fixtures.js'

function spec(extra: Record<string, unknown> = {}): TaskSpec {
  const r = parseTaskSpec({ command: 'true', cpus: 1, memoryMb: 64, ...extra })
  if (!r.ok) throw new Error(r.message)
  return r.spec
}

const draining = (node: string, deadlineAtMs: number | null): DrainRecord => ({
  node,
  state: 'draining',
  sinceMs: 0,
  deadlineAtMs,
})

describe('planDrains', () => {
  const active = [
    { id: 'a', attempt: 1, node: 'n1' },
    { id: 'b', attempt: 3, node: 'n1' },
    { id: 'c', attempt: 1, node: 'n2' },
    { id: 'd', attempt: 1, node: null },
  ]

  it('nothing to do while no node drains', () => {
    assert.deepEqual(planDrains([], active, 1e12), { drained: [], evict: [] })
    assert.deepEqual(planDrains([{ ...draining('n3', null), state: 'drained' }], active, 1e12), {
      drained: [],
      evict: [],
    })
  })

  it('a draining node holding nothing is drained, whatever its deadline', () => {
    assert.deepEqual(planDrains([draining('n3', null), draining('n4', 50)], active, 10), {
      drained: ['n3', 'n4'],
      evict: [],
    })
  })

  it('evicts exactly at the deadline and after, never before, and never without one', () => {
    const drains = [draining('n1', 1000), draining('n2', null)]
    assert.deepEqual(planDrains(drains, active, 999), { drained: [], evict: [] })
    const expected = {
      drained: [],
      evict: [
        {
          node: 'n1',
          tasks: [
            { id: 'a', attempt: 1 },
            { id: 'b', attempt: 3 },
          ],
        },
      ],
    }
    assert.deepEqual(planDrains(drains, active, 1000), expected)
    assert.deepEqual(planDrains(drains, active, 1e12), expected)
  })
})

describe('master: drains, with a fake clock', () => {
  it('keeps new tasks off a draining node, evicts at the deadline, marks it drained; undrain brings placements back', async () => {
    const clock = new FakeClock()
    const t0 = clock.nowMs()
    const members = staticMembers(memberInfo('n1', { capacity: { cpus: 2, memoryMb: 4096 } }), [
      memberView(memberInfo('n2', { capacity: { cpus: 8, memoryMb: 4096 } })),
    ])
    const table = new TaskTable()
    let index = 0
    const written: TaskCommand[] = []
    const apply = (command: TaskCommand): void => {
      assert.ok(parseCommand(command).ok, `${command.type} is a command the log accepts`)
      table.apply(command, ++index)
    }
    const cluster: TaskCluster = {
      table,
      leader: () => 'n1',
      term: () => 2,
      holdsLog: () => true,
      isReadyLeader: () => true,
      caughtUp: () => true,
      write: async command => {
        written.push(command)
        apply(command)
      },
    }
    const master = new Master({
      cluster,
      members,
      // Bin-packing would put every new task on n2, the node already in use, but for its drain.
      placer: new Placer({ self: 'n1', cluster, members, policy: 'bin-pack', maxTasksPerRound: 100 }),
      clock,
      pollMs: 250,
      unknownWorkerGraceMs: 0,
      logger: pino({ level: 'silent' }),
    })
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 10; i++) await new Promise(resolve => setImmediate(resolve))
    }
    const written$ = (type: TaskCommand['type']): TaskCommand[] => written.filter(c => c.type === type)
    master.start()
    try {
      // A long task on n2, with no retry to spare.
      apply({
        type: 'task.submit',
        term: 2,
        tasks: [{ id: 'long', spec: spec({ retries: 0 }), submittedAt: t0, assign: { node: 'n2', placement: 'p' } }],
      })
      assert.equal(table.get('long')?.node, 'n2')
      apply({ type: 'task.report', node: 'n2', events: [{ kind: 'started', id: 'long', attempt: 1, at: t0 }] })
      apply({ type: 'node.drain', node: 'n2', at: t0, deadlineAtMs: t0 + 60_000 })
      await settle()

      // New work goes to n1 only, though n2 has far more room.
      apply({ type: 'task.submit', tasks: [{ id: 'new', spec: spec(), submittedAt: t0 }] })
      await settle()
      assert.equal(table.get('new')?.node, 'n1')

      clock.advance(59_999)
      await settle()
      assert.deepEqual(written$('task.evict'), [], 'nothing is evicted before the deadline')
      assert.equal(table.drains.get('n2')?.state, 'draining')

      clock.advance(1)
      await settle()
      const evictions = written$('task.evict')
      assert.equal(evictions.length, 1)
      assert.deepEqual(evictions[0], {
        type: 'task.evict',
        node: 'n2',
        tasks: [{ id: 'long', attempt: 1 }],
        at: t0 + 60_000,
        message: 'stopped at the drain deadline of n2; re-queued',
      })
      const long = table.get('long')!
      assert.equal(long.attempt, 2)
      assert.equal(long.failures, 0)
      assert.equal(long.node, 'n1', 're-queued and placed on the node that is not draining')
      assert.deepEqual(table.drains.get('n2'), { state: 'drained', sinceMs: t0 + 60_000, deadlineAtMs: t0 + 60_000 })
      assert.equal(written$('node.drained').length, 1)

      // Later rounds write nothing more about the drain.
      clock.advance(5000)
      await settle()
      assert.equal(written$('node.drained').length + written$('task.evict').length, 2)

      // n1 is full (2 cpus); once n2 is undrained, the next task goes there.
      apply({ type: 'task.submit', tasks: [{ id: 'waits', spec: spec(), submittedAt: t0 }] })
      await settle()
      assert.equal(table.get('waits')?.state, 'pending')
      apply({ type: 'node.undrain', node: 'n2', at: clock.nowMs() })
      await settle()
      assert.equal(table.get('waits')?.node, 'n2')
    } finally {
      master.stop()
    }
  })

  it('a drain of the leader itself keeps placements off it too', () => {
    const members = staticMembers(memberInfo('n1', { capacity: { cpus: 8, memoryMb: 4096 } }), [
      memberView(memberInfo('n2', { capacity: { cpus: 1, memoryMb: 4096 } })),
    ])
    const table = new TaskTable()
    table.apply({ type: 'node.drain', node: 'n1', at: 1, deadlineAtMs: null }, 1)
    table.apply({ type: 'task.submit', tasks: ['a', 'b', 'c'].map(id => ({ id, spec: spec(), submittedAt: 1 })) }, 2)
    const cluster = { table, isReadyLeader: () => true, term: () => 2 } as unknown as TaskCluster
    const placer = new Placer({ self: 'n1', cluster, members, policy: 'bin-pack', maxTasksPerRound: 100 })
    const plan = placer.planRound(1000)
    assert.deepEqual(
      plan?.assignments.map(a => a.nodeId),
      ['n2'],
    )
    assert.match(plan?.pending[0]?.placement ?? '', /1 draining/)
    assert.equal(placer.schedulerNodes().find(n => n.id === 'n1')?.draining, true)
  })
})
