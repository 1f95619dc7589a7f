import assert from 'node:assert/strict'
import { parseCommand } from '../../src/cluster/commands.js'
import { ClusterStateMachine } from '../../src/cluster/state-machine.js'
import { parseTaskSpec } from '../../src/tasks/spec.js'
import type { Entry } from '../../src/election/core/types.js'

function normal(index: number, data: unknown, term = 1): Entry {
  return { index, term, type: 'normal', data }
}

describe('ClusterStateMachine', function () {
  it('applies kv.put and kv.delete in log order', function () {
    const sm = new ClusterStateMachine()
    assert.equal(sm.apply(normal(1, { type: 'kv.put', key: 'a', value: '1' })), 'applied')
    assert.equal(sm.apply(normal(2, { type: 'kv.put', key: 'b', value: '2' })), 'applied')
    assert.equal(sm.apply(normal(3, { type: 'kv.put', key: 'a', value: '3' })), 'applied')
    assert.equal(sm.apply(normal(4, { type: 'kv.delete', key: 'b' })), 'applied')
    assert.equal(sm.get('a'), '3')
    assert.equal(sm.get('b'), undefined)
    assert.deepEqual(sm.list(), [{ key: 'a', value: '3' }])
    assert.equal(sm.stats.appliedCommands, 4)
  })

  it('ignores the leader no-op and config entries', function () {
    const sm = new ClusterStateMachine()
    assert.equal(sm.apply(normal(1, null)), 'ignored')
    assert.equal(sm.apply({ index: 2, term: 1, type: 'config', data: { voters: ['a'], learners: [] } }), 'ignored')
    assert.deepEqual(sm.list(), [])
    assert.deepEqual(sm.stats, { appliedCommands: 0, malformedEntries: 0, lastMalformed: null })
  })

  it('skips and counts malformed commands without throwing', function () {
    const sm = new ClusterStateMachine()
    const bad: unknown[] = [
      'kv.put a 1',
      { type: 'kv.put', key: 'a' },
      { type: 'kv.put', key: '', value: 'x' },
      { type: 'kv.put', key: 'a', value: 7 },
      { type: 'kv.rename', key: 'a' },
      { type: 'kv.put', key: 'k'.repeat(257), value: 'x' },
      [],
    ]
    bad.forEach((data, i) => {
      assert.equal(sm.apply(normal(i + 1, data)), 'malformed')
    })
    assert.equal(sm.apply(normal(100, { type: 'kv.put', key: 'ok', value: 'yes' })), 'applied')
    assert.deepEqual(sm.list(), [{ key: 'ok', value: 'yes' }])
    const stats = sm.stats
    assert.equal(stats.malformedEntries, bad.length)
    assert.equal(stats.appliedCommands, 1)
    assert.equal(stats.lastMalformed?.index, bad.length)
  })

  it('skips an assignment claiming a later term than its entry, so the term 1e15 attack fences nothing', function () {
    const sm = new ClusterStateMachine()
    const spec = parseTaskSpec({ command: 'true' })
    assert.ok(spec.ok)
    const task = (id: string) => ({ id, spec: spec.spec, submittedAt: 1 })
    const assign = (id: string, term: number) => ({
      type: 'task.assign',
      term,
      assignments: [{ id, attempt: 1, node: 'worker', placement: 'p' }],
    })
    assert.equal(sm.apply(normal(1, { type: 'task.submit', tasks: [task('a'), task('b')] }, 2)), 'applied')
    // The attack as it was committed by a leader that took any forwarded command: a term far past
    // any real one. Skipped on every replica alike.
    assert.equal(sm.apply(normal(2, assign('a', 1e15), 2)), 'malformed')
    assert.match(sm.stats.lastMalformed?.reason ?? '', /task\.assign: term 1000000000000000 is past its entry's term 2/)
    // The same inside a submission that carries placements.
    const placed = { ...task('c'), assign: { node: 'worker', placement: 'p' } }
    assert.equal(sm.apply(normal(3, { type: 'task.submit', tasks: [placed], term: 1e15 }, 2)), 'malformed')
    assert.equal(sm.tasks.get('c'), undefined)
    // A term beyond exact integers does not even parse.
    assert.equal(sm.apply(normal(4, assign('a', 2 ** 60), 2)), 'malformed')
    // Genuine assignments of the current and of a later leader still apply, and survive a snapshot.
    assert.equal(sm.apply(normal(5, assign('a', 2), 2)), 'applied')
    assert.equal(sm.tasks.get('a')?.state, 'assigned')
    const copy = new ClusterStateMachine()
    copy.restore(JSON.parse(JSON.stringify(sm.snapshot())))
    assert.equal(copy.snapshot().tasks?.maxAssignTerm, 2)
    assert.equal(copy.apply(normal(6, assign('b', 3), 3)), 'applied')
    assert.equal(copy.tasks.get('b')?.state, 'assigned')
    assert.equal(copy.tasks.get('b')?.assignTerm, 3)
  })

  it('skips a submission whose spec the HTTP API would refuse', function () {
    const sm = new ClusterStateMachine()
    const spec = parseTaskSpec({ command: 'true' })
    assert.ok(spec.ok)
    const forged = [
      { ...spec.spec, cpus: 1e300 },
      { ...spec.spec, memoryMb: -1 },
      { ...spec.spec, priority: 1000 },
      { ...spec.spec, retries: 1e9 },
      { ...spec.spec, env: { 'not a name': 'x' } },
      { ...spec.spec, command: undefined },
      { ...spec.spec, deadline: 2 ** 60 },
      { ...spec.spec, env: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`V${i}`, ''])) },
      { ...spec.spec, name: 'n'.repeat(256) },
    ]
    forged.forEach((s, i) => {
      assert.equal(
        sm.apply(normal(i + 1, { type: 'task.submit', tasks: [{ id: `t${i}`, spec: s, submittedAt: 1 }] })),
        'malformed',
      )
    })
    assert.equal(sm.tasks.size, 0)
  })

  it('strips unknown fields of a known command rather than skipping it', function () {
    const parsed = parseCommand({ type: 'kv.put', key: 'a', value: '1', ttlMs: 5 })
    assert.deepEqual(parsed, { ok: true, command: { type: 'kv.put', key: 'a', value: '1' } })
  })

  it('round-trips a snapshot through JSON, including awkward keys', function () {
    const sm = new ClusterStateMachine()
    sm.apply(normal(1, { type: 'kv.put', key: '__proto__', value: 'p' }))
    sm.apply(normal(2, { type: 'kv.put', key: 'z', value: '' }))
    sm.apply(normal(3, { type: 'kv.put', key: 'a', value: 'ä' }))
    const snapshot = sm.snapshot()
    const copy = new ClusterStateMachine()
    copy.restore(JSON.parse(JSON.stringify(snapshot)))
    assert.deepEqual(copy.list(), sm.list())
    assert.equal(copy.get('__proto__'), 'p')
    // The snapshot is a copy: later applies do not change it.
    sm.apply(normal(4, { type: 'kv.delete', key: 'a' }))
    assert.equal(snapshot.kv.length, 3)
  })

  it('restores null as the empty state and rejects a malformed snapshot', function () {
    const sm = new ClusterStateMachine()
    sm.apply(normal(1, { type: 'kv.put', key: 'a', value: '1' }))
    sm.restore(null)
    assert.deepEqual(sm.list(), [])
    assert.throws(() => {
      sm.restore({ version: 99, kv: [] })
    }, /invalid cluster snapshot/)
    assert.throws(() => {
      sm.restore({ version: 1, kv: [['a']] })
    }, /invalid cluster snapshot/)
  })
})
