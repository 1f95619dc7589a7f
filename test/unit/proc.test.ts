// Reading the process table for the memory poll, which runs on the agent's own loop: in slices
// that yield between them, and no more often than its cost allows.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parseStat, readProcessTable, readProcessTableInSlices, type ProcEntry } from '../../src/executor/proc/proc.js'
import { nextPollDelayMs } from '../../src/executor/proc/memory-watch.js'

describe('process table', () => {
  it('read in slices finds what a whole read finds, this process with its group', async () => {
    const self = parseStat(process.pid, readFileSync('/proc/self/stat', 'latin1'))
    assert.ok(self !== null)
    const { entries, busyMs } = await readProcessTableInSlices(4)
    const whole = readProcessTable()
    assert.deepEqual(entries.find(e => e.pid === process.pid)?.pgid, self.pgid)
    assert.ok(whole.some(e => e.pid === process.pid))
    // Processes come and go between the two reads, but not most of them.
    const slicedPids = new Set(entries.map(e => e.pid))
    assert.ok(
      whole.filter(e => slicedPids.has(e.pid)).length >= whole.length / 2,
      `${entries.length} sliced, ${whole.length} whole`,
    )
    assert.ok(busyMs > 0)
  })

  it('yields to the event loop between slices', async () => {
    let turns = 0
    let reading = true
    const count = (): void => {
      if (reading) {
        turns++
        setImmediate(count)
      }
    }
    setImmediate(count)
    let entries: ProcEntry[] = []
    try {
      entries = (await readProcessTableInSlices(1)).entries
    } finally {
      reading = false
    }
    // This process and its parent at least; one slice each.
    assert.ok(entries.length >= 2, `only ${entries.length} processes visible`)
    assert.ok(turns >= entries.length - 1, `${turns} turns of the loop ran during ${entries.length} slices`)
  })

  it('polls memory no more often than keeps its reading to 5% of the loop', () => {
    assert.equal(nextPollDelayMs(250, 1), 250)
    assert.equal(nextPollDelayMs(250, 12.5), 250)
    assert.equal(nextPollDelayMs(250, 20), 400)
    assert.equal(nextPollDelayMs(250, 100), 2000)
  })
})
