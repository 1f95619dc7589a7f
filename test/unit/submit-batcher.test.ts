import assert from 'node:assert/strict'
import { NoLeaderError } from '../../src/cluster/errors.js'
import { CommandRefusedError } from '../../src/tasks/cluster-port.js'
import { MAX_WRITES_IN_FLIGHT, SubmitBatcher, type SubmittedTask } from '../../src/tasks/submit-batcher.js'
import type { TaskSpec } from '../../src/tasks/spec.js'

function tasks(prefix: string, n: number): SubmittedTask[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, spec: {} as TaskSpec, submittedAt: 0 }))
}

/** A write the test completes by hand, recording what each call carried. */
class ManualWrites {
  readonly calls: Array<{ ids: string[]; settle: (err?: Error) => void }> = []

  readonly write = async (batch: SubmittedTask[]): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      this.calls.push({
        ids: batch.map(t => t.id),
        settle: err => {
          if (err === undefined) resolve()
          else reject(err)
        },
      })
    })
  }

  prefixes(call: number): string[] {
    return [...new Set(this.calls[call].ids.map(id => id.split('-')[0]))]
  }
}

const tick = async (): Promise<void> => {
  await new Promise(resolve => setImmediate(resolve))
}

describe('submit batcher (group commit of submissions)', function () {
  it('writes a lone submission at once, as it is', async function () {
    const w = new ManualWrites()
    const b = new SubmitBatcher(w.write)
    const done = b.submit(tasks('a', 3))
    assert.equal(w.calls.length, 1)
    assert.deepEqual(w.calls[0].ids, ['a-0', 'a-1', 'a-2'])
    w.calls[0].settle()
    await done
  })

  it('sends what arrives while the writes in flight are busy as one write, and answers each caller', async function () {
    assert.equal(MAX_WRITES_IN_FLIGHT, 2)
    const w = new ManualWrites()
    const b = new SubmitBatcher(w.write)
    const resolved: string[] = []
    const submit = (p: string): Promise<void> =>
      b.submit(tasks(p, 1)).then(() => {
        resolved.push(p)
      })
    const all = ['a', 'b', 'c', 'd', 'e'].map(submit)
    assert.equal(w.calls.length, 2, 'two writes in flight, the rest wait')
    w.calls[0].settle()
    await tick()
    assert.deepEqual(resolved, ['a'])
    assert.equal(w.calls.length, 3)
    assert.deepEqual(w.prefixes(2), ['c', 'd', 'e'], 'the three waiting went out together')
    w.calls[2].settle()
    w.calls[1].settle()
    await Promise.all(all)
    assert.deepEqual(resolved.sort(), ['a', 'b', 'c', 'd', 'e'])
  })

  it('never puts more than 1000 tasks in one write, and keeps the order', async function () {
    const w = new ManualWrites()
    const b = new SubmitBatcher(w.write)
    const all = ['a', 'b', 'c', 'd', 'e'].map(p => b.submit(tasks(p, 400)))
    w.calls[0].settle()
    await tick()
    assert.deepEqual(w.prefixes(2), ['c', 'd'], '400 + 400; a third 400 would pass 1000')
    w.calls[1].settle()
    await tick()
    assert.deepEqual(w.prefixes(3), ['e'])
    for (const call of w.calls.slice(2)) call.settle()
    await Promise.all(all)
    assert.ok(w.calls.every(c => c.ids.length <= 1000))
  })

  it('joins submissions only while the batch stays under its byte limit (a bigger one still goes, alone)', async function () {
    const w = new ManualWrites()
    const oneBytes = JSON.stringify(tasks('a', 1)).length
    const b = new SubmitBatcher(w.write, 2.5 * oneBytes)
    const all = ['a', 'b', 'c', 'd', 'e'].map(p => b.submit(tasks(p, 1)))
    const huge = b.submit(tasks('f', 5))
    w.calls[0].settle()
    await tick()
    assert.deepEqual(w.prefixes(2), ['c', 'd'], "two fit under 2.5 submissions' worth, a third does not")
    w.calls[1].settle()
    await tick()
    assert.deepEqual(w.prefixes(3), ['e'])
    w.calls[2].settle()
    await tick()
    assert.deepEqual(w.calls[4]?.ids.length, 5, 'a submission over the limit by itself is sent whole')
    for (const call of w.calls.slice(3)) call.settle()
    await Promise.all([...all, huge])
  })

  it('resends a refused batch one submission at a time, so only the refused one fails', async function () {
    const w = new ManualWrites()
    const b = new SubmitBatcher(w.write)
    const outcomes = new Map<string, string>()
    const submit = (p: string): Promise<void> =>
      b.submit(tasks(p, 1)).then(
        () => {
          outcomes.set(p, 'ok')
        },
        (err: Error) => {
          outcomes.set(p, err.message)
        },
      )
    const all = ['a', 'b', 'c', 'd', 'e'].map(submit)
    w.calls[0].settle()
    w.calls[1].settle()
    await tick()
    assert.deepEqual(w.prefixes(2), ['c', 'd', 'e'])
    w.calls[2].settle(new CommandRefusedError('the leader refused the write: [0].spec.cpus'))
    await tick()
    for (const p of ['c', 'd', 'e']) {
      const call = w.calls.at(-1)
      assert.ok(call !== undefined)
      assert.deepEqual(call.ids, [`${p}-0`])
      call.settle(p === 'd' ? new CommandRefusedError('refused d') : undefined)
      await tick()
    }
    await Promise.all(all)
    assert.deepEqual(Object.fromEntries(outcomes), { a: 'ok', b: 'ok', c: 'ok', d: 'refused d', e: 'ok' })
  })

  it('fails every submission of a batch whose write failed for want of a leader, then goes on', async function () {
    const w = new ManualWrites()
    const b = new SubmitBatcher(w.write)
    const failures: string[] = []
    const all = ['a', 'b', 'c', 'd'].map(p =>
      b.submit(tasks(p, 1)).catch((err: Error) => {
        failures.push(`${p}: ${err.message}`)
      }),
    )
    w.calls[0].settle(new NoLeaderError('no leader elected'))
    await tick()
    assert.deepEqual(w.prefixes(2), ['c', 'd'])
    w.calls[2].settle(new NoLeaderError('still none'))
    w.calls[1].settle()
    await Promise.all(all)
    assert.deepEqual(failures.sort(), ['a: no leader elected', 'c: still none', 'd: still none'])
    const later = b.submit(tasks('e', 1))
    assert.deepEqual(w.calls.at(-1)?.ids, ['e-0'])
    w.calls.at(-1)?.settle()
    await later
  })
})
