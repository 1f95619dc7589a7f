import assert from 'node:assert/strict'
import { ProposalDroppedError } from '../../src/election/driver/raft-node-errors.js'
import { ProposalTracker } from '../../src/election/driver/raft-node-proposals.js'
import type { Entry, Snapshot } from '../../src/election/core/types.js'

function entry(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: { n: index } }
}

function snapshotAt(index: number, term: number): Snapshot {
  return { index, term, config: { voters: ['a'], learners: [] }, data: null }
}

function dropReason(reason: string): (err: unknown) => boolean {
  return err => err instanceof ProposalDroppedError && err.reason === reason
}

describe('ProposalTracker', function () {
  it('resolves when the entry with the same index and term is applied', async function () {
    const tracker = new ProposalTracker()
    const done = tracker.add(3, 2)
    tracker.applied(entry(2, 2))
    tracker.applied(entry(3, 2))
    assert.deepEqual(await done, { index: 3, term: 2 })
    assert.equal(tracker.size, 0)
  })

  it('rejects as overwritten when another term is applied at its index, settling every waiter there', async function () {
    const tracker = new ProposalTracker()
    // A leader of term 2 and, after losing and regaining leadership, of term 4 used index 5.
    const old = tracker.add(5, 2)
    const reused = tracker.add(5, 4)
    tracker.applied(entry(5, 4))
    await assert.rejects(old, dropReason('overwritten'))
    assert.deepEqual(await reused, { index: 5, term: 4 })
  })

  it('settles proposals covered by an installed snapshot', async function () {
    const tracker = new ProposalTracker()
    const exact = tracker.add(10, 3)
    const newerTerm = tracker.add(8, 4)
    const unknown = tracker.add(7, 3)
    const after = tracker.add(11, 3)
    tracker.snapshotInstalled(snapshotAt(10, 3))
    assert.deepEqual(await exact, { index: 10, term: 3 })
    // Terms never decrease along a log, so nothing covered by a term-3 snapshot has term 4.
    await assert.rejects(newerTerm, dropReason('overwritten'))
    await assert.rejects(unknown, dropReason('unknown'))
    assert.equal(tracker.size, 1)
    tracker.applied(entry(11, 3))
    assert.deepEqual(await after, { index: 11, term: 3 })
  })

  it('rejects everything on rejectAll', async function () {
    const tracker = new ProposalTracker()
    const a = tracker.add(1, 1)
    const b = tracker.add(2, 1)
    tracker.rejectAll((index, term) => new ProposalDroppedError('stopped', index, term, 'stopped'))
    await assert.rejects(a, dropReason('stopped'))
    await assert.rejects(b, dropReason('stopped'))
    assert.equal(tracker.size, 0)
  })
})
