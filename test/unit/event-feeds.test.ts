// What the node's event hub hears (src/node/event-feeds.ts), from fakes of membership and the
// replica and a real task table driven by commands: member transitions, leaders elected and
// lost, voter-set changes, task transitions, drains, and no task events for entries replayed at
// start.
import assert from 'node:assert/strict'
import { EventHub } from '../../src/events/event-hub.js'
import { DEFAULT_EVENTS } from '../../src/events/config.js'
import type { MeshEvent } from '../../src/events/types.js'
import { feedEvents } from '../../src/node/event-feeds.js'
import type { Membership, MemberListener } from '../../src/gossip/membership.js'
import type { Replica, RaftRoleView } from '../../src/cluster/replica.js'
import type { ClusterConfig, SoftState } from '../../src/election/core/types.js'
import { TaskTable } from '../../src/tasks/task-table.js'
import type { TaskCommand } from '../../src/tasks/commands.js'
import { parseTaskSpec } from '../../src/tasks/spec.js'
import { FakeClock } from '../helpers/fake-clock.js'

const names: Record<string, string> = { p1: 'one', p2: 'two', p3: 'three' }

class FakeMembership {
  listener: MemberListener = () => {}
  onChange(l: MemberListener): void {
    this.listener = l
  }
  nameOf(id: string): string | null {
    return names[id] ?? null
  }
}

class FakeReplica {
  role: RaftRoleView | null = 'follower'
  replayedThroughIndex = 0
  soft: (s: SoftState) => void = () => {}
  config: (c: ClusterConfig, p: ClusterConfig) => void = () => {}
  onSoftState(l: (s: SoftState) => void): void {
    this.soft = l
  }
  onConfigCommitted(l: (c: ClusterConfig, p: ClusterConfig) => void): void {
    this.config = l
  }
}

const spec = (() => {
  const r = parseTaskSpec({ command: 'true', tenant: 'team-a', retries: 1 })
  if (!r.ok) throw new Error(r.message)
  return r.spec
})()

describe('event feeds of a node', () => {
  let hub: EventHub
  let membership: FakeMembership
  let replica: FakeReplica
  let table: TaskTable
  let index: number
  const apply = (...cmds: TaskCommand[]): void => {
    for (const c of cmds) table.apply(c, ++index)
  }
  const published = (): MeshEvent[] => {
    const sub = hub.subscribe({ lastEventId: '1-0' }, () => {})
    const events: MeshEvent[] = []
    for (let item = sub.next(); item?.kind === 'event'; item = sub.next()) events.push(item.event)
    sub.close()
    return events
  }
  const summary = (): string[] => published().map(e => `${e.topic}:${e.type}`)

  beforeEach(() => {
    hub = new EventHub({ clock: new FakeClock(), config: DEFAULT_EVENTS, life: 1 })
    membership = new FakeMembership()
    replica = new FakeReplica()
    table = new TaskTable()
    index = 0
    feedEvents(hub, {
      membership: membership as unknown as Membership,
      replica: replica as unknown as Replica,
      table,
    })
  })

  it('publishes member transitions, a first sighting as joined', () => {
    membership.listener({ nodeId: 'p2', from: null, to: 'alive', reason: 'joined' })
    membership.listener({ nodeId: 'p2', from: 'alive', to: 'suspect', reason: 'no answer to 2 probes' })
    membership.listener({ nodeId: 'p9', from: 'suspect', to: 'dead', reason: 'suspected for 1 s' })
    assert.deepEqual(summary(), ['members:joined', 'members:suspect', 'members:dead'])
    assert.deepEqual(published()[1]?.data, {
      nodeId: 'p2',
      name: 'two',
      from: 'alive',
      to: 'suspect',
      reason: 'no answer to 2 probes',
    })
    assert.equal((published()[2]?.data as { name: string | null }).name, null)
  })

  it('publishes a leader once per leader and term, and its loss', () => {
    replica.soft({ role: 'follower', leader: null, term: 1 })
    replica.soft({ role: 'follower', leader: 'p1', term: 2 })
    replica.soft({ role: 'follower', leader: 'p1', term: 2 })
    replica.soft({ role: 'precandidate', leader: null, term: 2 })
    replica.role = 'leader'
    replica.soft({ role: 'leader', leader: 'p2', term: 3 })
    assert.deepEqual(summary(), ['leader:elected', 'leader:lost', 'leader:elected'])
    const [first, lost, second] = published()
    assert.deepEqual(first?.data, { leader: 'p1', name: 'one', term: 2, role: 'follower' })
    assert.deepEqual(lost?.data, { leader: null, name: null, term: 2, role: 'follower' })
    assert.deepEqual(second?.data, { leader: 'p2', name: 'two', term: 3, role: 'leader' })
  })

  it('publishes each node that entered or left the voters or learners', () => {
    replica.config({ voters: ['p1', 'p2'], learners: [] }, { voters: ['p1'], learners: ['p2'] })
    replica.config({ voters: ['p1', 'p3'], learners: [] }, { voters: ['p1', 'p2'], learners: [] })
    assert.deepEqual(
      published().map(e => `${e.type}:${(e.data as { nodeId: string }).nodeId}`),
      ['voter_added:p2', 'learner_removed:p2', 'voter_added:p3', 'voter_removed:p2'],
    )
    assert.deepEqual(published()[3]?.data, { nodeId: 'p2', name: 'two', voters: ['p1', 'p3'], learners: [] })
  })

  it("publishes every task transition with its node and reason, including a retry's return to pending", () => {
    apply(
      { type: 'task.submit', tasks: [{ id: 't1', spec, submittedAt: 1 }] },
      { type: 'task.assign', term: 2, assignments: [{ id: 't1', attempt: 1, node: 'p2', placement: 'x' }] },
      { type: 'task.report', node: 'p2', events: [{ kind: 'started', id: 't1', attempt: 1, at: 2 }] },
      {
        type: 'task.report',
        node: 'p2',
        events: [
          {
            kind: 'finished',
            id: 't1',
            attempt: 1,
            at: 3,
            startedAt: 2,
            reason: 'exited',
            exitCode: 1,
            signal: null,
            message: 'm',
          },
        ],
      },
      { type: 'task.assign', term: 2, assignments: [{ id: 't1', attempt: 2, node: 'p3', placement: 'x' }] },
      { type: 'task.report', node: 'p3', events: [{ kind: 'started', id: 't1', attempt: 2, at: 4 }] },
      {
        type: 'task.report',
        node: 'p3',
        events: [
          {
            kind: 'finished',
            id: 't1',
            attempt: 2,
            at: 5,
            startedAt: 4,
            reason: 'exited',
            exitCode: 0,
            signal: null,
            message: 'm',
          },
        ],
      },
    )
    const moves = published().map(e => {
      const d = e.data as {
        from: string | null
        to: string
        node: string | null
        attempt: number
        reason: string | null
      }
      return `${d.from ?? '-'}>${d.to}@${d.node ?? '-'}#${d.attempt}${d.reason === null ? '' : `(${d.reason})`}`
    })
    assert.deepEqual(moves, [
      '->pending@-#1',
      'pending>assigned@p2#1',
      'assigned>running@p2#1',
      'running>pending@p2#2(exit_code)',
      'pending>assigned@p3#2',
      'assigned>running@p3#2',
      'running>succeeded@p3#2',
    ])
    assert.ok(published().every(e => e.topic === 'tasks' && e.type === (e.data as { to: string }).to))
    assert.equal((published()[0]?.data as { tenant: string }).tenant, 'team-a')
  })

  it('publishes no task transition for entries replayed at start, only those after', () => {
    replica.replayedThroughIndex = 2
    apply(
      { type: 'task.submit', tasks: [{ id: 'old', spec, submittedAt: 1 }] },
      { type: 'task.cancel', ids: ['old'], at: 2 },
      { type: 'task.submit', tasks: [{ id: 'new', spec, submittedAt: 3 }] },
    )
    assert.deepEqual(
      published().map(e => (e.data as { id: string }).id),
      ['new'],
    )
    replica.replayedThroughIndex = Number.POSITIVE_INFINITY
    apply({ type: 'task.cancel', ids: ['new'], at: 4 })
    assert.equal(published().length, 1)
  })

  it('publishes a drain: started, progress as tasks leave the node or the deadline moves, drained, undrained', () => {
    const assign = (id: string): TaskCommand => ({
      type: 'task.assign',
      term: 2,
      assignments: [{ id, attempt: 1, node: 'p2', placement: 'x' }],
    })
    apply(
      { type: 'task.submit', tasks: [{ id: 'a', spec, submittedAt: 1 }] },
      { type: 'task.submit', tasks: [{ id: 'b', spec, submittedAt: 1 }] },
      assign('a'),
      assign('b'),
      { type: 'node.drain', node: 'p2', at: 10, deadlineAtMs: null },
      { type: 'task.report', node: 'p2', events: [{ kind: 'started', id: 'a', attempt: 1, at: 11 }] },
      { type: 'node.drain', node: 'p2', at: 12, deadlineAtMs: 5000 },
      { type: 'task.report', node: 'p2', events: [{ kind: 'started', id: 'b', attempt: 1, at: 13 }] },
      {
        type: 'task.report',
        node: 'p2',
        events: [
          {
            kind: 'finished',
            id: 'b',
            attempt: 1,
            at: 14,
            startedAt: 13,
            reason: 'exited',
            exitCode: 0,
            signal: null,
            message: '',
          },
        ],
      },
      {
        type: 'task.evict',
        node: 'p2',
        tasks: [{ id: 'a', attempt: 1 }],
        at: 5000,
        message: 'drain deadline',
      },
      { type: 'node.drained', node: 'p2', at: 5001 },
      { type: 'node.undrain', node: 'p2', at: 6000 },
    )
    const drains = published().filter(e => e.topic === 'drain')
    assert.deepEqual(
      drains.map(e => {
        const d = e.data as { running: number; deadlineAtMs: number | null; message: string | null }
        return `${e.type}:${d.running}:${d.deadlineAtMs ?? '-'}:${d.message ?? '-'}`
      }),
      [
        'started:2:-:-',
        'progress:2:5000:a new deadline replaced the old one',
        'progress:1:5000:task b left it (succeeded)',
        'progress:0:5000:task a left it (pending)',
        'drained:0:5000:-',
        'undrained:0:-:-',
      ],
    )
    assert.deepEqual(
      drains.map(e => [(e.data as { nodeId: string }).nodeId, (e.data as { name: string | null }).name]),
      Array.from({ length: 6 }, () => ['p2', 'two']),
    )
  })
})
