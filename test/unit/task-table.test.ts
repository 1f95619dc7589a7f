// The replicated task table, driven by commands as the log would deliver them: lifecycle,
// idempotence (every command may be applied after a retry), retries, loss, cancel, fencing,
// deadlines, and the snapshot round trip through the cluster state machine.
import assert from 'node:assert/strict'
import { TaskTable, type TaskEvent } from '../../src/tasks/task-table.js'
import { ClusterStateMachine } from '../../src/cluster/state-machine.js'
import { parseTaskSpec, type TaskSpec } from '../../src/tasks/spec.js'
import type { TaskCommand } from '../../src/tasks/commands.js'

function spec(extra: Record<string, unknown> = {}): TaskSpec {
  const r = parseTaskSpec({ command: 'true', ...extra })
  if (!r.ok) throw new Error(r.message)
  return r.spec
}

const submit = (id: string, s = spec()): TaskCommand => ({
  type: 'task.submit',
  tasks: [{ id, spec: s, submittedAt: 1000 }],
})
const assign = (id: string, node: string, term = 2, attempt = 1): TaskCommand => ({
  type: 'task.assign',
  term,
  assignments: [{ id, attempt, node, placement: 'test' }],
})
const started = (id: string, node: string, attempt = 1): TaskCommand => ({
  type: 'task.report',
  node,
  events: [{ kind: 'started', id, attempt, at: 2000 }],
})
const finished = (
  id: string,
  node: string,
  exitCode: number | null,
  reason: 'exited' | 'timeout' | 'cancelled' | 'refused' = 'exited',
  attempt = 1,
): TaskCommand => ({
  type: 'task.report',
  node,
  events: [{ kind: 'finished', id, attempt, at: 3000, startedAt: 2000, reason, exitCode, signal: null, message: 'm' }],
})

describe('task table', () => {
  let table: TaskTable
  let index: number
  const apply = (...cmds: TaskCommand[]): void => {
    for (const c of cmds) table.apply(c, ++index)
  }
  beforeEach(() => {
    table = new TaskTable()
    index = 0
  })

  it('runs the lifecycle pending → assigned → running → succeeded, recording times and the attempt', () => {
    apply(submit('a'))
    assert.equal(table.get('a')?.state, 'pending')
    apply(assign('a', 'n1'))
    assert.equal(table.get('a')?.state, 'assigned')
    assert.equal([...table.activeTasks()].length, 1)
    apply(started('a', 'n1'), finished('a', 'n1', 0))
    const t = table.get('a')!
    assert.equal(t.state, 'succeeded')
    assert.equal(t.startedAt, 2000)
    assert.equal(t.finishedAt, 3000)
    assert.equal([...table.activeTasks()].length, 0)
    assert.deepEqual(
      t.history.map(h => h.outcome),
      ['succeeded'],
    )
  })

  it('emits one transition per state change, with the state left, the node, the reason and the log index', () => {
    const moves: string[] = []
    table.onEvent(ev => {
      if (ev.type === 'transition')
        moves.push(
          `${ev.index}:${ev.from ?? '-'}>${ev.task.state}@${ev.node ?? '-'}${ev.reason === null ? '' : `(${ev.reason})`}`,
        )
    })
    apply(submit('a', spec({ retries: 1 })), assign('a', 'n1'), started('a', 'n1'))
    apply({ type: 'task.lost', node: 'n1', tasks: [{ id: 'a', attempt: 1 }], at: 4000, message: 'gone' })
    apply(assign('a', 'n2', 2, 2), finished('a', 'n2', 0, 'exited', 2), finished('a', 'n2', 0, 'exited', 2))
    apply(submit('b'), { type: 'task.cancel', ids: ['b'], at: 5000 })
    assert.deepEqual(moves, [
      '1:->pending@-',
      '2:pending>assigned@n1',
      '3:assigned>running@n1',
      '4:running>pending@n1(lost)',
      '5:pending>assigned@n2',
      '6:assigned>succeeded@n2',
      '8:->pending@-',
      '9:pending>cancelled@-(cancelled)',
    ])
  })

  it('ignores repeats: a resubmitted id, a second assignment, a report from another node or attempt', () => {
    apply(submit('a', spec({ name: 'first' })), submit('a', spec({ name: 'second' })))
    assert.equal(table.get('a')?.spec.name, 'first')
    apply(assign('a', 'n1'), assign('a', 'n2'))
    assert.equal(table.get('a')?.node, 'n1')
    apply(finished('a', 'n2', 0), finished('a', 'n1', 0, 'exited', 2))
    assert.equal(table.get('a')?.state, 'assigned')
    apply(finished('a', 'n1', 0), finished('a', 'n1', 1))
    assert.equal(table.get('a')?.state, 'succeeded')
  })

  it('re-queues a failed attempt while retries last, then fails with the reason', () => {
    apply(submit('a', spec({ retries: 1 })), assign('a', 'n1'), finished('a', 'n1', 3))
    assert.equal(table.get('a')?.state, 'pending')
    assert.equal(table.get('a')?.attempt, 2)
    apply(assign('a', 'n2', 2, 2), finished('a', 'n2', null, 'timeout', 2))
    const t = table.get('a')!
    assert.equal(t.state, 'failed')
    assert.equal(t.reason, 'timeout')
    assert.deepEqual(
      t.history.map(h => [h.attempt, h.node, h.outcome]),
      [
        [1, 'n1', 'exit_code'],
        [2, 'n2', 'timeout'],
      ],
    )
  })

  it('a refusal (capacity race) re-queues without spending a retry', () => {
    apply(submit('a'), assign('a', 'n1'), finished('a', 'n1', null, 'refused'))
    assert.equal(table.get('a')?.state, 'pending')
    assert.equal(table.get('a')?.failures, 0)
  })

  it('tasks of a lost worker are re-queued or fail as lost; a stale loss report changes nothing', () => {
    apply(submit('a', spec({ retries: 1 })), submit('b'), assign('a', 'n1'), assign('b', 'n1'), started('a', 'n1'))
    apply({ type: 'task.lost', node: 'n2', tasks: [{ id: 'a', attempt: 1 }], at: 5, message: 'x' })
    assert.equal(table.get('a')?.state, 'running')
    apply({
      type: 'task.lost',
      node: 'n1',
      tasks: [
        { id: 'a', attempt: 1 },
        { id: 'b', attempt: 1 },
      ],
      at: 5,
      message: 'gone',
    })
    assert.equal(table.get('a')?.state, 'pending')
    assert.equal(table.get('a')?.attempt, 2)
    assert.equal(table.get('b')?.state, 'failed')
    assert.equal(table.get('b')?.reason, 'lost')
  })

  it('says when a task enters the queue: once per submission, and again for each new attempt', () => {
    const queued: string[] = []
    table.onEvent(e => {
      if (e.type === 'transition' && e.task.state === 'pending') queued.push(`${e.task.id}/${e.task.attempt}`)
    })
    apply(submit('a', spec({ retries: 1 })), submit('a'))
    assert.deepEqual(queued, ['a/1'])
    apply(assign('a', 'n1'), finished('a', 'n1', 1))
    assert.deepEqual(queued, ['a/1', 'a/2'])
    apply(assign('a', 'n1', 2, 2), finished('a', 'n1', 1, 'exited', 2))
    assert.equal(table.get('a')?.state, 'failed')
    assert.deepEqual(queued, ['a/1', 'a/2'])
  })

  it('cancels a pending task at once, a running one once its worker reports, and tells the worker', () => {
    const events: TaskEvent[] = []
    table.onEvent(e => {
      if (e.type === 'assigned' || e.type === 'cancel_requested') events.push(e)
    })
    apply(submit('a'), submit('b'), assign('b', 'n1'), started('b', 'n1'))
    apply({ type: 'task.cancel', ids: ['a', 'b'], at: 9 })
    assert.equal(table.get('a')?.state, 'cancelled')
    assert.equal(table.get('b')?.state, 'running')
    assert.deepEqual(
      events.map(e => e.type),
      ['assigned', 'cancel_requested'],
    )
    apply(finished('b', 'n1', null, 'cancelled'))
    assert.equal(table.get('b')?.state, 'cancelled')
    // A cancelled pending task is never assigned.
    apply(assign('a', 'n1'))
    assert.equal(table.get('a')?.state, 'cancelled')
  })

  it('a submission placed by the leader is assigned in the same entry, fenced by its term', () => {
    const events: TaskEvent[] = []
    table.onEvent(e => {
      if (e.type === 'assigned') events.push(e)
    })
    apply({
      type: 'task.submit',
      term: 3,
      tasks: [
        { id: 'a', spec: spec(), submittedAt: 1, assign: { node: 'n2', placement: 'p' } },
        { id: 'b', spec: spec(), submittedAt: 1 },
      ],
    })
    assert.equal(table.get('a')?.state, 'assigned')
    assert.equal(table.get('a')?.node, 'n2')
    assert.equal(table.get('b')?.state, 'pending')
    assert.deepEqual(
      events.map(e => (e.type === 'assigned' ? e.task.id : '')),
      ['a'],
    )
    apply({
      type: 'task.submit',
      term: 2,
      tasks: [{ id: 'c', spec: spec(), submittedAt: 1, assign: { node: 'n2', placement: 'p' } }],
    })
    assert.equal(table.get('c')?.state, 'pending', 'an older term places nothing; the task still enters the queue')
  })

  it('refuses an assignment from an older term than one already applied (fencing)', () => {
    apply(submit('a'), submit('b'), assign('a', 'n1', 5), assign('b', 'n1', 4))
    assert.equal(table.get('b')?.state, 'pending')
  })

  it('fails a pending task whose deadline passed; a placed one is not touched', () => {
    apply(submit('a'), submit('b'), assign('b', 'n1'), { type: 'task.expire', ids: ['a', 'b'], at: 7 })
    assert.equal(table.get('a')?.reason, 'deadline_missed')
    assert.equal(table.get('b')?.state, 'assigned')
  })

  it('counts unfinished tasks per tenant and in all, through retries, cancels, loss and a restore', () => {
    apply(
      submit('a', spec({ tenant: 't1', retries: 1 })),
      submit('b', spec({ tenant: 't1' })),
      submit('c', spec({ tenant: 't2' })),
    )
    const counts = (): number[] => [table.unfinished('t1'), table.unfinished('t2'), table.unfinished()]
    assert.deepEqual(counts(), [2, 1, 3])
    // Placed, running, retried: still unfinished.
    apply(assign('a', 'n1'), started('a', 'n1'), finished('a', 'n1', 1))
    assert.equal(table.get('a')?.state, 'pending')
    assert.deepEqual(counts(), [2, 1, 3])
    apply(assign('a', 'n1', 2, 2), finished('a', 'n1', 0, 'exited', 2))
    apply({ type: 'task.cancel', ids: ['b', 'b'], at: 9 })
    apply(assign('c', 'n2'), {
      type: 'task.lost',
      node: 'n2',
      tasks: [{ id: 'c', attempt: 1 }],
      at: 9,
      message: 'gone',
    })
    assert.deepEqual(counts(), [0, 0, 0])
    apply(submit('d', spec({ tenant: 't2' })), submit('d', spec({ tenant: 't2' })))
    assert.deepEqual(counts(), [0, 1, 1])
    const copy = new TaskTable()
    copy.restore(JSON.parse(JSON.stringify(table.snapshot())))
    assert.deepEqual([copy.unfinished('t1'), copy.unfinished('t2'), copy.unfinished()], [0, 1, 1])
  })

  it('round-trips through the cluster snapshot with indexes intact', () => {
    const sm = new ClusterStateMachine()
    let i = 0
    const entry = (data: unknown): { index: number; term: number; type: 'normal'; data: unknown } => ({
      index: ++i,
      term: 1,
      type: 'normal',
      data,
    })
    sm.apply(entry(submit('a')))
    sm.apply(entry(submit('b')))
    sm.apply(entry(assign('b', 'n1', 1)))
    const copy = new ClusterStateMachine()
    copy.restore(JSON.parse(JSON.stringify(sm.snapshot())))
    assert.deepEqual([...copy.tasks.all()], [...sm.tasks.all()])
    assert.deepEqual(
      [...copy.tasks.pending()].map(t => t.id),
      ['a'],
    )
    assert.deepEqual(
      [...copy.tasks.activeTasks()].map(t => t.id),
      ['b'],
    )
    // A version-1 snapshot (before tasks) restores with an empty table.
    copy.restore({ version: 1, kv: [['k', 'v']] })
    assert.equal(copy.tasks.size, 0)
    assert.equal(copy.get('k'), 'v')
  })
})

describe('task spec', () => {
  it('fills in the defaults and converts the deadline to epoch ms', () => {
    const r = parseTaskSpec({ argv: ['/bin/true'], deadline: '2026-11-27T18:00:00Z' })
    assert.ok(r.ok)
    assert.deepEqual(r.spec, {
      argv: ['/bin/true'],
      name: null,
      env: {},
      cpus: 0.1,
      memoryMb: 64,
      timeoutMs: null,
      retries: 0,
      priority: 50,
      deadline: Date.parse('2026-11-27T18:00:00Z'),
      tenant: 'default',
      constraints: {},
      policy: null,
    })
  })

  it('names the field and the problem', () => {
    const cases: Array<[unknown, string]> = [
      [{ command: 'x', env: { '1BAD': 'v' } }, 'env.1BAD: must be a shell variable name'],
      [{ command: 'x', retries: 1.5 }, 'retries: must be a whole number'],
      [{ command: 'x', tenant: 'a b' }, 'tenant: must be 1-64 letters'],
      [{ command: 'x', policy: 'edf' }, 'policy: '],
      [{ command: '' }, 'command: must not be empty'],
      [{ argv: [] }, 'argv: must have at least the program'],
      [{ command: 'x', deadline: -5 }, 'deadline: must be epoch milliseconds'],
      [{ command: 'x', deadline: 2 ** 53 - 1 }, 'deadline: must be epoch milliseconds'],
      [{ command: 'x', cpus: 1e300 }, 'cpus: '],
      [
        { command: 'x', env: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`V${i}`, ''])) },
        'env: at most 256 variables',
      ],
      [{ command: 'x', memoryMb: 16 * 1024 * 1024 + 1 }, 'memoryMb: '],
    ]
    for (const [input, message] of cases) {
      const r = parseTaskSpec(input)
      assert.ok(!r.ok, JSON.stringify(input))
      assert.ok(r.message.startsWith(message), `${JSON.stringify(input)} → ${r.message}`)
    }
  })
})
