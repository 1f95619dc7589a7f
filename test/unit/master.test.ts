// The master's two ways of placing tasks sharing one node's capacity: a scheduling round that is
// waiting for a write while a submission is placed as it is proposed. The log is a hand-driven
// fake: each write resolves when the test says so, applying its command to the task table.
import assert from 'node:assert/strict'
import pino from 'pino'
import { Master } from '../../src/tasks/master.js'
import { Placer } from '../../src/tasks/placer.js'
import type { TaskCluster } from '../../src/tasks/cluster-port.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { TaskTable } from '../../src/tasks/task-table.js'
import { parseTaskSpec, type TaskSpec } from '../../src/tasks/spec.js'
import type { MemberInfo } from '../../src/gossip/core/types.js'
import { memberInfo, memberView, staticMembers } from '../helpers/fixtures.js'
import { TASK_COMMAND_LIMITS, type TaskCommand } from '../../src/tasks/commands.js'
import { parseCommand } from '../../src/cluster/commands.js'

function info(nodeId: string, cpus: number): MemberInfo {
  return memberInfo(nodeId, { addrs: [], capacity: { cpus, memoryMb: 4096 }, startedAt: 0 })
}

function spec(extra: Record<string, unknown> = {}): TaskSpec {
  const r = parseTaskSpec({ command: 'true', cpus: 1, memoryMb: 64, ...extra })
  if (!r.ok) throw new Error(r.message)
  return r.spec
}

describe('master', () => {
  it('counts a submission placed while a round waits for its writes before planning that round', async () => {
    const self = info('n1', 1)
    const members = staticMembers(self, [memberView(info('n2', 1), 'dead')])
    const table = new TaskTable()
    let index = 0
    const apply = (command: TaskCommand): void => {
      table.apply(command, ++index)
    }
    // A task with a retry left, running on n2, which has died.
    apply({
      type: 'task.submit',
      term: 2,
      tasks: [{ id: 'lost', spec: spec({ retries: 1 }), submittedAt: 1, assign: { node: 'n2', placement: 'test' } }],
    })

    const writes: Array<{ command: TaskCommand; commit: () => void }> = []
    const cluster: TaskCluster = {
      table,
      leader: () => 'n1',
      term: () => 2,
      holdsLog: () => true,
      isReadyLeader: () => true,
      caughtUp: () => true,
      write: async command => {
        await new Promise<void>(resolve => {
          writes.push({
            command,
            commit: () => {
              apply(command)
              resolve()
            },
          })
        })
      },
    }
    const placer = new Placer({ self: 'n1', cluster, members, policy: 'spread', maxTasksPerRound: 100 })
    const master = new Master({
      cluster,
      members,
      placer,
      clock: new FakeClock(),
      pollMs: 60_000,
      unknownWorkerGraceMs: 0,
      logger: pino({ level: 'silent' }),
    })
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
    }
    try {
      master.poke()
      await settle()
      assert.deepEqual(
        writes.map(w => w.command.type),
        ['task.lost'],
        'the round waits for the lost write',
      )

      // Meanwhile a submission arrives: nothing is pending, so it takes n1's only cpu at once.
      const placed = placer.placeSubmission(
        { type: 'task.submit', tasks: [{ id: 'new', spec: spec(), submittedAt: 2 }] },
        2,
      )
      assert.equal(placed.command.tasks[0]?.assign?.node, 'n1')
      apply(placed.command)
      placed.done()

      writes[0]!.commit() // 'lost' is re-queued and pending again
      await settle()
      assert.equal(table.get('lost')?.state, 'pending')
      const assigns = writes.filter(w => w.command.type === 'task.assign')
      assert.deepEqual(
        assigns.map(w => w.command),
        [],
        'n1 is full: the re-queued task waits',
      )
    } finally {
      master.stop()
      for (const w of writes) w.commit()
    }
  })

  it('splits the tasks of a dead worker over task.lost entries no longer than a command may carry', async () => {
    const members = staticMembers(info('n1', 0), [memberView(info('n2', 1), 'dead')])
    const table = new TaskTable()
    const count = TASK_COMMAND_LIMITS.maxItems + 1
    const ids = Array.from({ length: count }, (_, i) => `t${i}`)
    for (let i = 0; i < count; i += 1000)
      table.apply(
        {
          type: 'task.submit',
          term: 2,
          tasks: ids
            .slice(i, i + 1000)
            .map(id => ({ id, spec: spec({ cpus: 0.001 }), submittedAt: 1, assign: { node: 'n2', placement: 'p' } })),
        },
        i + 1,
      )
    const written: TaskCommand[] = []
    const cluster: TaskCluster = {
      table,
      leader: () => 'n1',
      term: () => 2,
      holdsLog: () => true,
      isReadyLeader: () => true,
      caughtUp: () => true,
      write: async command => {
        written.push(command)
      },
    }
    const master = new Master({
      cluster,
      members,
      placer: new Placer({ self: 'n1', cluster, members, policy: 'spread', maxTasksPerRound: 100 }),
      clock: new FakeClock(),
      pollMs: 60_000,
      unknownWorkerGraceMs: 0,
      logger: pino({ level: 'silent' }),
    })
    try {
      master.poke()
      for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
      const lost = written.filter(c => c.type === 'task.lost')
      assert.deepEqual(
        lost.map(c => (c.type === 'task.lost' ? c.tasks.length : 0)),
        [TASK_COMMAND_LIMITS.maxItems, 1],
      )
      for (const c of lost) assert.ok(parseCommand(c).ok, 'each part is a command the log accepts')
    } finally {
      master.stop()
    }
  })
})
