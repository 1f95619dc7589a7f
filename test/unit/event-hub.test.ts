// The event hub (src/events/event-hub.ts) on a fake clock: ids and times, live delivery, replay
// after a Last-Event-ID, resync notices for ids it cannot resume from, topic filters, the bound
// on what a subscriber that does not read can hold, and the end of every stream on close.
import assert from 'node:assert/strict'
import { EventHub, type StreamItem, type Subscription } from '../../src/events/event-hub.js'
import { DEFAULT_EVENTS } from '../../src/events/config.js'
import type { MeshEventInput } from '../../src/events/types.js'
import { FakeClock } from '../helpers/fake-clock.js'

const member = (nodeId: string, to: 'alive' | 'suspect' | 'dead' = 'suspect'): MeshEventInput => ({
  topic: 'members',
  type: to,
  data: { nodeId, name: nodeId, from: 'alive', to, reason: 'test' },
})
const task = (id: string): MeshEventInput => ({
  topic: 'tasks',
  type: 'running',
  data: {
    id,
    from: 'assigned',
    to: 'running',
    node: 'n1',
    nodeName: 'one',
    attempt: 1,
    reason: null,
    tenant: 'default',
  },
})

/** Everything a subscription has now, up to (not counting) the first null. */
function drain(sub: Subscription): StreamItem[] {
  const items: StreamItem[] = []
  for (let item = sub.next(); item !== null; item = sub.next()) {
    items.push(item)
    if (item.kind === 'end') break
  }
  return items
}

const ids = (items: StreamItem[]): string[] =>
  items.map(i => (i.kind === 'event' ? i.event.id : i.kind === 'resync' ? `resync:${i.notice.reason}` : 'end'))

describe('event hub', () => {
  let clock: FakeClock
  const hubOf = (replayEvents = 100, life = 7): EventHub =>
    new EventHub({ clock, config: { ...DEFAULT_EVENTS, replayEvents }, life })
  beforeEach(() => {
    clock = new FakeClock(Date.UTC(2030, 0, 2, 3, 4, 5))
  })

  it('numbers events <life>-<seq> from 1 and stamps them with the clock', () => {
    const hub = hubOf()
    assert.equal(hub.headId, '7-0')
    const a = hub.publish(member('a'))
    clock.advance(1500)
    const b = hub.publish(task('t1'))
    assert.equal(a.id, '7-1')
    assert.equal(b.id, '7-2')
    assert.equal(a.time, '2030-01-02T03:04:05.000Z')
    assert.equal(b.time, '2030-01-02T03:04:06.500Z')
    assert.equal(b.topic, 'tasks')
    assert.deepEqual(b.data, task('t1').data)
    assert.equal(hub.headId, '7-2')
  })

  it('gives a new subscriber the events published after it subscribed, and wakes it for each', () => {
    const hub = hubOf()
    hub.publish(member('before'))
    let wakes = 0
    const sub = hub.subscribe({}, () => wakes++)
    assert.equal(sub.next(), null)
    hub.publish(member('x'))
    hub.publish(member('y'))
    assert.equal(wakes, 2)
    assert.deepEqual(ids(drain(sub)), ['7-2', '7-3'])
    assert.equal(sub.next(), null)
  })

  it('replays the events after a Last-Event-ID it still holds, then goes on live', () => {
    const hub = hubOf()
    for (let i = 0; i < 5; i++) hub.publish(member(`n${i}`))
    const sub = hub.subscribe({ lastEventId: '7-2' }, () => {})
    assert.deepEqual(ids(drain(sub)), ['7-3', '7-4', '7-5'])
    hub.publish(member('n5'))
    assert.deepEqual(ids(drain(sub)), ['7-6'])
    // The newest id resumes with nothing missed; `<life>-0` (nothing seen yet) replays everything held.
    assert.deepEqual(ids(drain(hub.subscribe({ lastEventId: '7-6' }, () => {}))), [])
    assert.equal(drain(hub.subscribe({ lastEventId: '7-0' }, () => {})).length, 6)
  })

  it('tells a client whose Last-Event-ID fell out of the buffer to resync, then continues live from the newest', () => {
    const hub = hubOf(5)
    for (let i = 0; i < 10; i++) hub.publish(member(`n${i}`))
    assert.equal(hub.size, 5)
    assert.equal(hub.oldestSeq, 6)
    // 7-5 is the last one before the oldest held: nothing missed.
    assert.deepEqual(ids(drain(hub.subscribe({ lastEventId: '7-5' }, () => {}))), ['7-6', '7-7', '7-8', '7-9', '7-10'])
    const sub = hub.subscribe({ lastEventId: '7-4' }, () => {})
    const [first, ...rest] = drain(sub)
    assert.equal(first?.kind, 'resync')
    assert.equal(first.notice.reason, 'too_far_behind')
    assert.equal(first.notice.lastEventId, '7-10')
    assert.match(first.notice.message, /older than the 5 events kept for replay/)
    assert.deepEqual(rest, [])
    hub.publish(member('later'))
    assert.deepEqual(ids(drain(sub)), ['7-11'])
    assert.equal(sub.closed, false)
  })

  it('tells a client with an id of an earlier run, or one never sent, to resync', () => {
    const hub = hubOf(5, 7)
    hub.publish(member('a'))
    const reasonFor = (lastEventId: string): string | undefined => {
      const item = hub.subscribe({ lastEventId }, () => {}).next()
      return item?.kind === 'resync' ? item.notice.reason : undefined
    }
    assert.equal(reasonFor('6-1'), 'node_restarted')
    assert.equal(reasonFor('7-2'), 'unknown_id')
    assert.equal(reasonFor('8-1'), 'unknown_id')
    assert.equal(reasonFor('nonsense'), 'unknown_id')
    assert.equal(reasonFor('7-1'), undefined)
  })

  it('gives a filtered subscriber only its topics, in replay and live', () => {
    const hub = hubOf()
    hub.publish(member('a'))
    hub.publish(task('t1'))
    hub.publish(member('b'))
    const sub = hub.subscribe({ lastEventId: '7-0', topics: ['tasks', 'leader'] }, () => {})
    assert.deepEqual(ids(drain(sub)), ['7-2'])
    hub.publish(member('c'))
    hub.publish(task('t2'))
    assert.deepEqual(ids(drain(sub)), ['7-5'])
    // An empty list means every topic.
    assert.equal(drain(hub.subscribe({ lastEventId: '7-0', topics: [] }, () => {})).length, 5)
  })

  it('holds at most replayEvents events; a subscriber that does not read falls behind and is dropped with a resync', () => {
    const hub = hubOf(50)
    const slow = hub.subscribe({}, () => {})
    const keeping = hub.subscribe({}, () => {})
    let kept = 0
    for (let i = 0; i < 500; i++) {
      hub.publish(member(`n${i}`))
      kept += drain(keeping).length
      assert.ok(hub.size <= 50, `hub holds ${hub.size} events`)
    }
    assert.equal(kept, 500)
    assert.equal(keeping.behind, false)
    assert.equal(slow.behind, true)
    assert.equal(slow.ending, true)
    const items = drain(slow)
    assert.deepEqual(ids(items), ['resync:slow_consumer', 'end'])
    assert.equal(items[0]?.kind === 'resync' && items[0].notice.lastEventId, '7-500')
    assert.equal(slow.closed, true)
    assert.equal(hub.subscriberCount, 1)
  })

  it('a subscriber exactly replayEvents behind has missed nothing yet', () => {
    const hub = hubOf(50)
    const sub = hub.subscribe({}, () => {})
    for (let i = 0; i < 50; i++) hub.publish(member(`n${i}`))
    assert.equal(sub.behind, false)
    hub.publish(member('one more'))
    assert.equal(sub.behind, true)
  })

  it('ends every subscription on close, and any made afterwards', () => {
    const hub = hubOf()
    let woken = 0
    const sub = hub.subscribe({}, () => woken++)
    hub.publish(member('a'))
    hub.close()
    assert.equal(woken, 2)
    assert.equal(sub.ending, true)
    assert.deepEqual(ids(drain(sub)), ['end'])
    assert.equal(hub.subscriberCount, 0)
    assert.deepEqual(ids(drain(hub.subscribe({}, () => {}))), ['end'])
    assert.equal(hub.subscriberCount, 0)
  })
})
