// Draining a node as the replicated log applies it: the drain state machine (draining → drained
// → undrained), the fence that keeps assignments off a draining node, the eviction at a deadline
// that re-queues without costing a retry, the snapshot round trip, and the apply-side checks of
// the drain commands (schema bounds, who may forward them).
import assert from 'node:assert/strict'
import { TaskTable, DRAINED_OUTCOME, type TaskEvent } from '../../src/tasks/task-table.js'
import { DrainTable, MAX_DRAINS, drainRoomProblem } from '../../src/tasks/drain-table.js'
import { ClusterStateMachine } from '../../src/cluster/state-machine.js'
import { parseCommand } from '../../src/cluster/commands.js'
import { authorizeForward } from '../../src/cluster/forward-policy.js'
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
const assign = (id: string, node: string, attempt = 1): TaskCommand => ({
  type: 'task.assign',
  term: 2,
  assignments: [{ id, attempt, node, placement: 'test' }],
})
const started = (id: string, node: string, attempt = 1): TaskCommand => ({
  type: 'task.report',
  node,
  events: [{ kind: 'started', id, attempt, at: 2000 }],
})
const succeeded = (id: string, node: string, attempt = 1): TaskCommand => ({
  type: 'task.report',
  node,
  events: [
    {
      kind: 'finished',
      id,
      attempt,
      at: 3000,
      startedAt: 2000,
      reason: 'exited',
      exitCode: 0,
      signal: null,
      message: '',
    },
  ],
})
const drain = (node: string, at = 5000, deadlineAtMs: number | null = null): TaskCommand => ({
  type: 'node.drain',
  node,
  at,
  deadlineAtMs,
})
const evict = (node: string, tasks: Array<[string, number]>, at = 9000): TaskCommand => ({
  type: 'task.evict',
  node,
  tasks: tasks.map(([id, attempt]) => ({ id, attempt })),
  at,
  message: 'stopped at the drain deadline of n1; re-queued',
})

describe('drains in the task table', () => {
  let table: TaskTable
  let index: number
  let events: TaskEvent[]
  const apply = (...cmds: TaskCommand[]): void => {
    for (const c of cmds) table.apply(c, ++index)
  }
  const drainEvents = (): string[] =>
    events.flatMap(e => (e.type === 'drain' ? [`${e.change.type} ${e.change.node} running=${e.running}`] : []))
  beforeEach(() => {
    table = new TaskTable()
    index = 0
    events = []
    table.onEvent(e => events.push(e))
  })

  it('draining → drained once the node holds nothing → undrained; each change is an event', () => {
    apply(submit('a'), assign('a', 'n1'), started('a', 'n1'))
    apply(drain('n1', 5000, null))
    assert.deepEqual(table.drains.get('n1'), { state: 'draining', sinceMs: 5000, deadlineAtMs: null })
    // The leader's drained mark is applied only once nothing is left on the node.
    apply({ type: 'node.drained', node: 'n1', at: 6000 })
    assert.equal(table.drains.get('n1')?.state, 'draining')
    apply(succeeded('a', 'n1'))
    apply({ type: 'node.drained', node: 'n1', at: 7000 })
    assert.deepEqual(table.drains.get('n1'), { state: 'drained', sinceMs: 7000, deadlineAtMs: null })
    apply({ type: 'node.undrain', node: 'n1', at: 8000 })
    assert.equal(table.drains.get('n1'), undefined)
    assert.deepEqual(drainEvents(), ['draining n1 running=1', 'drained n1 running=0', 'undrained n1 running=0'])
  })

  it('draining again replaces the deadline (an event saying so); the same drain twice changes nothing', () => {
    apply(submit('a'), assign('a', 'n1'), drain('n1', 5000, 60_000))
    apply(drain('n1', 5500, 60_000))
    apply(drain('n1', 6000, 90_000))
    assert.deepEqual(table.drains.get('n1'), { state: 'draining', sinceMs: 5000, deadlineAtMs: 90_000 })
    const changes = events.flatMap(e => (e.type === 'drain' ? [e.change] : []))
    assert.deepEqual(
      changes.map(c => [c.type, c.deadlineReplaced, c.drain?.deadlineAtMs]),
      [
        ['draining', false, 60_000],
        ['draining', true, 90_000],
      ],
    )
  })

  it('an assignment to a draining or drained node is skipped: the task stays pending for another', () => {
    apply(submit('a'), submit('b'), drain('n1'))
    apply(assign('a', 'n1'))
    assert.equal(table.get('a')?.state, 'pending')
    apply({ type: 'node.drained', node: 'n1', at: 6000 })
    apply({
      type: 'task.submit',
      term: 2,
      tasks: [{ id: 'c', spec: spec(), submittedAt: 1, assign: { node: 'n1', placement: 'p' } }],
    })
    assert.equal(table.get('c')?.state, 'pending', 'a placement riding in the submission is fenced too')
    apply(assign('b', 'n2'))
    assert.equal(table.get('b')?.node, 'n2')
    apply({ type: 'node.undrain', node: 'n1', at: 7000 })
    apply(assign('a', 'n1'))
    assert.equal(table.get('a')?.node, 'n1', 'placements return after an undrain')
  })

  it('an eviction re-queues the attempt as the next one without spending a retry; the history says drained', () => {
    apply(submit('a', spec({ retries: 0 })), assign('a', 'n1'), started('a', 'n1'), drain('n1', 5000, 8000))
    apply(evict('n1', [['a', 1]]))
    const t = table.get('a')!
    assert.equal(t.state, 'pending')
    assert.equal(t.attempt, 2)
    assert.equal(t.failures, 0)
    assert.equal(t.node, null)
    assert.equal(t.message, 'stopped at the drain deadline of n1; re-queued')
    assert.deepEqual(
      t.history.map(h => [h.attempt, h.node, h.outcome]),
      [[1, 'n1', DRAINED_OUTCOME]],
    )
    const moved = events.filter(e => e.type === 'transition').at(-1)
    assert.ok(moved?.type === 'transition')
    assert.deepEqual([moved.from, moved.task.state, moved.node, moved.reason], ['running', 'pending', 'n1', 'drained'])
    // Its next attempt runs elsewhere and succeeds, although it had no retry to spare.
    apply(assign('a', 'n2', 2), started('a', 'n2', 2), succeeded('a', 'n2', 2))
    assert.equal(table.get('a')?.state, 'succeeded')
  })

  it('an eviction is a no-op after an undrain, for another node, another attempt, or a finished task', () => {
    apply(submit('a'), assign('a', 'n1'), submit('b'), assign('b', 'n2'), submit('c'), assign('c', 'n1'))
    apply(drain('n1', 5000, 8000), { type: 'node.undrain', node: 'n1', at: 6000 })
    apply(evict('n1', [['a', 1]]))
    assert.equal(table.get('a')?.state, 'assigned', 'undrained before the eviction applied')
    apply(drain('n1', 7000, 8000))
    apply(
      evict('n1', [
        ['b', 1],
        ['a', 2],
      ]),
    )
    assert.equal(table.get('b')?.state, 'assigned', 'b runs on n2')
    assert.equal(table.get('a')?.attempt, 1, 'attempt 2 of a was never assigned')
    apply(started('c', 'n1'), succeeded('c', 'n1'), evict('n1', [['c', 1]]))
    assert.equal(table.get('c')?.state, 'succeeded')
    // The same eviction applied twice (a retried write) re-queues once.
    apply(evict('n1', [['a', 1]]), evict('n1', [['a', 1]]))
    assert.equal(table.get('a')?.attempt, 2)
    assert.equal(table.get('a')?.history.length, 1)
  })

  it('an evicted task whose cancel was requested ends cancelled instead of going back to the queue', () => {
    apply(submit('a'), assign('a', 'n1'), { type: 'task.cancel', ids: ['a'], at: 4000 }, drain('n1', 5000, 6000))
    apply(evict('n1', [['a', 1]]))
    assert.equal(table.get('a')?.state, 'cancelled')
  })

  it('activeOn counts what is assigned to or running on a node', () => {
    apply(submit('a'), submit('b'), submit('c'), assign('a', 'n1'), assign('b', 'n1'), assign('c', 'n2'))
    apply(started('a', 'n1'))
    assert.equal(table.activeOn('n1'), 2)
    assert.equal(table.activeOn('n2'), 1)
    assert.equal(table.activeOn('n3'), 0)
  })

  it('the drains survive a snapshot and its restore (a restart, or a new replica)', () => {
    const sm = new ClusterStateMachine()
    const entries: TaskCommand[] = [submit('a'), assign('a', 'n1'), drain('n1', 5000, 90_000), drain('n2', 6000)]
    entries.forEach((data, i) => sm.apply({ index: i + 1, term: 2, type: 'normal', data }))
    sm.apply({ index: 5, term: 2, type: 'normal', data: { type: 'node.drained', node: 'n2', at: 7000 } })
    const snapshot = JSON.parse(JSON.stringify(sm.snapshot())) as unknown
    assert.equal(sm.validateSnapshot(snapshot), null)
    const copy = new ClusterStateMachine()
    copy.restore(snapshot)
    assert.deepEqual(
      [...copy.tasks.drains.all()],
      [
        { node: 'n1', state: 'draining', sinceMs: 5000, deadlineAtMs: 90_000 },
        { node: 'n2', state: 'drained', sinceMs: 7000, deadlineAtMs: null },
      ],
    )
    // A snapshot from before drains existed restores with none; an empty state clears them.
    const { drains: _drains, ...older } = snapshot as Record<string, unknown>
    copy.restore(older)
    assert.equal(copy.tasks.drains.size, 0)
    sm.restore(null)
    assert.equal(sm.tasks.drains.size, 0)
  })

  it('a snapshot with a malformed drain is refused whole', () => {
    const sm = new ClusterStateMachine()
    const base = sm.snapshot() as unknown as Record<string, unknown>
    for (const drains of [
      [{ node: 'n1', state: 'resting', sinceMs: 1, deadlineAtMs: null }],
      [{ node: '', state: 'draining', sinceMs: 1, deadlineAtMs: null }],
      [{ node: 'n1', state: 'draining', sinceMs: 1e300, deadlineAtMs: null }],
      [{ node: 'n1', state: 'draining', sinceMs: 1 }],
      'n1',
    ])
      assert.match(sm.validateSnapshot({ ...base, drains }) ?? '', /^invalid cluster snapshot: drains/)
  })
})

describe('the drain table on its own', () => {
  it('holds at most MAX_DRAINS nodes: a drain of one more is not taken, and the leader refuses it first', () => {
    const drains = new DrainTable()
    for (let i = 0; i < MAX_DRAINS; i++) drains.drain(`n${i}`, 1, null)
    assert.equal(drainRoomProblem(drains, 'n0'), null, 'a node already drained may be drained again')
    assert.match(drainRoomProblem(drains, 'extra') ?? '', /10000 nodes are drained or draining already/)
    assert.equal(drains.drain('extra', 1, null), null)
    assert.equal(drains.has('extra'), false)
    drains.undrain('n0')
    assert.equal(drainRoomProblem(drains, 'extra'), null)
  })

  it('a drained node stays drained when drained again; only a draining one is marked drained', () => {
    const drains = new DrainTable()
    assert.equal(drains.markDrained('n1', 5), null)
    drains.drain('n1', 1, null)
    drains.markDrained('n1', 5)
    assert.equal(drains.drain('n1', 9, 100), null)
    assert.equal(drains.get('n1')?.state, 'drained')
    assert.equal(drains.markDrained('n1', 10), null)
    assert.equal(drains.get('n1')?.sinceMs, 5)
    assert.equal(drains.anyDraining(), false)
  })
})

describe('drain commands as the log carries them', () => {
  const valid: unknown[] = [
    { type: 'node.drain', node: 'n1', at: 1, deadlineAtMs: null },
    { type: 'node.drain', node: 'n1', at: 1, deadlineAtMs: 2 },
    { type: 'node.undrain', node: 'n1', at: 1 },
    { type: 'node.drained', node: 'n1', at: 1 },
    { type: 'task.evict', node: 'n1', tasks: [{ id: 'a', attempt: 1 }], at: 1, message: '' },
  ]
  for (const command of valid)
    it(`parses ${JSON.stringify(command)}`, () => {
      assert.equal(parseCommand(command).ok, true)
    })

  const malformed: Array<[string, unknown]> = [
    ['a drain without a deadline field', { type: 'node.drain', node: 'n1', at: 1 }],
    ['a drain of an empty node id', { type: 'node.drain', node: '', at: 1, deadlineAtMs: null }],
    ['a drain of a 129-character node id', { type: 'node.drain', node: 'x'.repeat(129), at: 1, deadlineAtMs: null }],
    ['a deadline past what a date holds', { type: 'node.drain', node: 'n1', at: 1, deadlineAtMs: 1e300 }],
    ['a negative time', { type: 'node.undrain', node: 'n1', at: -1 }],
    ['an eviction of nothing', { type: 'task.evict', node: 'n1', tasks: [], at: 1, message: '' }],
    [
      'an eviction of 5,001 attempts',
      {
        type: 'task.evict',
        node: 'n1',
        tasks: Array.from({ length: 5001 }, () => ({ id: 'a', attempt: 1 })),
        at: 1,
        message: '',
      },
    ],
    [
      'an eviction of attempt 0',
      { type: 'task.evict', node: 'n1', tasks: [{ id: 'a', attempt: 0 }], at: 1, message: '' },
    ],
    [
      'an eviction with a long message',
      { type: 'task.evict', node: 'n1', tasks: [{ id: 'a', attempt: 1 }], at: 1, message: 'm'.repeat(1025) },
    ],
  ]
  for (const [what, command] of malformed)
    it(`refuses ${what}, and the state machine skips it`, () => {
      assert.equal(parseCommand(command).ok, false)
      const sm = new ClusterStateMachine()
      assert.equal(sm.apply({ index: 1, term: 1, type: 'normal', data: command }), 'malformed')
      assert.equal(sm.tasks.drains.size, 0)
    })

  it('a member may forward a drain or an undrain; the drained mark and evictions are the leader’s alone', () => {
    const member = (): boolean => true
    for (const command of valid) {
      const parsed = parseCommand(command)
      assert.ok(parsed.ok)
      const verdict = authorizeForward('peer', parsed.command, member)
      const ownDecision = parsed.command.type === 'node.drained' || parsed.command.type === 'task.evict'
      assert.deepEqual(verdict.ok ? 'ok' : verdict.reason, ownDecision ? 'leader_only' : 'ok', parsed.command.type)
    }
    const drainCmd = parseCommand(valid[0])
    assert.ok(drainCmd.ok)
    assert.equal(authorizeForward('stranger', drainCmd.command, () => false).ok, false)
  })
})
