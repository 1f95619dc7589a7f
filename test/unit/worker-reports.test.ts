// The worker's task reports, with a log write the test answers by hand and a clock it moves by
// hand: one report in flight, what queues meanwhile goes out together, a start waits for company
// (its finish, or any other report) up to startReportDelayMs, and a start that was never sent is
// folded into the attempt's finish (which carries the start time).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { Worker } from '../../src/tasks/worker.js'
import { tableAssignments } from '../../src/tasks/assignments.js'
import { TaskTable } from '../../src/tasks/task-table.js'
import type { TaskExecutor } from '../../src/executor/executor.js'
import type { TaskCommand, TaskReportEvent } from '../../src/tasks/commands.js'
import { parseTaskSpec } from '../../src/tasks/spec.js'
import { CommandRefusedError } from '../../src/tasks/cluster-port.js'
import { FakeClock } from '../helpers/fake-clock.js'

const SELF = 'n1'

interface PendingWrite {
  events: TaskReportEvent[]
  commit: () => void
  fail: (err: Error) => void
}

describe('worker reports', () => {
  let dataDir: string
  let worker: Worker
  let writes: PendingWrite[]
  let table: TaskTable
  let clock: FakeClock

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'meshos-worker-'))
    writes = []
    table = new TaskTable()
    clock = new FakeClock()
    worker = makeWorker(0)
  })

  /** Replaces the worker made by beforeEach (stopped, so its timers cannot fire). */
  function makeWorker(startReportDelayMs: number, maxEventsPerReport = 100): Worker {
    worker?.stop()
    const executor = { isRunning: () => false, cancel: () => false, running: () => [] } as unknown as TaskExecutor
    return new Worker({
      self: SELF,
      dataDir,
      cluster: {
        table,
        leader: () => SELF,
        term: () => 1,
        holdsLog: () => true,
        isReadyLeader: () => true,
        caughtUp: () => true,
        write: async (command: TaskCommand) => {
          assert.equal(command.type, 'task.report')
          await new Promise<void>((resolve, reject) => {
            writes.push({ events: (command as { events: TaskReportEvent[] }).events, commit: resolve, fail: reject })
          })
        },
      },
      assignments: tableAssignments(table, SELF, () => true),
      executor,
      clock,
      maxEventsPerReport,
      startReportDelayMs,
      reconcileMs: 60_000,
      taskDirsMaxBytes: Infinity,
      taskDirRetentionMs: 60_000,
      taskDirGcIntervalMs: 60_000,
      logger: pino({ level: 'silent' }),
    })
  }

  afterEach(async () => {
    worker.stop()
    for (const w of writes) w.commit()
    await rm(dataDir, { recursive: true, force: true })
  })

  const started = (taskId: string): void => {
    worker.onStarted({ taskId, attempt: 1, pid: 100, startedAtMs: 2000, cpus: 0.1, memoryMb: 16 })
  }
  const finished = (taskId: string): void => {
    worker.onFinished({
      taskId,
      attempt: 1,
      reason: 'exited',
      exitCode: 0,
      signal: null,
      message: '',
      startedAtMs: 2000,
      finishedAtMs: 3000,
    })
  }
  /** Lets the worker's flush loop run up to its next write: event-loop turns, no time passes. */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve))
  }
  /** Commits write i and lets the worker go on to its next one. */
  const commit = async (i: number): Promise<void> => {
    writes[i]!.commit()
    await settle()
  }
  const kinds = (w: PendingWrite | undefined): string[] => (w?.events ?? []).map(ev => `${ev.kind} ${ev.id}`)

  it('sends a finish alone when its start was still queued, and a start already in flight is kept', async () => {
    started('a')
    clock.advance(0)
    await settle()
    assert.deepEqual(kinds(writes[0]), ['started a'], 'the start goes out when its delay (0 here) ends')
    // While that write is in flight: b starts and ends, a ends.
    started('b')
    finished('b')
    finished('a')
    assert.equal(worker.queuedReports, 3, "a start in flight plus two finishes; b's start no longer counts")
    await commit(0)
    assert.deepEqual(kinds(writes[1]), ['finished b', 'finished a'])
    const finish = writes[1]!.events[0]
    assert.equal(finish?.kind === 'finished' ? finish.startedAt : undefined, 2000, 'the finish carries the start time')
    await commit(1)
    assert.equal(worker.queuedReports, 0)
    assert.equal(writes.length, 2)
  })

  it('holds a start back until its finish or another report takes it along', async () => {
    worker = makeWorker(60_000)
    started('a')
    await settle()
    assert.equal(writes.length, 0, 'a start alone waits')
    finished('a')
    await settle()
    assert.deepEqual(kinds(writes[0]), ['finished a'], 'a task that ended meanwhile reports once')
    started('b')
    await commit(0)
    assert.equal(writes.length, 1, "b's start waits too")
    finished('c')
    await settle()
    assert.deepEqual(kinds(writes[1]), ['started b', 'finished c'], 'it rides along with the next report')
    await commit(1)
    assert.equal(worker.queuedReports, 0)
  })

  it('a start whose delay ran out during a write goes right after it, with the starts queued meanwhile', async () => {
    const delayMs = 30
    worker = makeWorker(delayMs)
    finished('x')
    await settle()
    assert.deepEqual(kinds(writes[0]), ['finished x'])
    started('a')
    clock.advance(delayMs) // a's delay runs out while write 0 is still in flight
    await settle()
    started('b')
    await commit(0)
    assert.deepEqual(kinds(writes[1]), ['started a', 'started b'], "a is overdue: it does not wait for a timer of b's")
    await commit(1)
    assert.equal(worker.queuedReports, 0)
  })

  it('a start alone goes out when its delay ends, not a millisecond before', async () => {
    const delayMs = 30
    worker = makeWorker(delayMs)
    started('a')
    await settle()
    clock.advance(delayMs - 1)
    await settle()
    assert.equal(writes.length, 0, 'still within its delay')
    clock.advance(1)
    await settle()
    assert.deepEqual(kinds(writes[0]), ['started a'])
    await commit(0)
    assert.equal(worker.queuedReports, 0)
  })

  it('retries a report of starts alone whose write failed, without waiting for another report', async () => {
    worker = makeWorker(0)
    started('a')
    clock.advance(0)
    await settle()
    assert.deepEqual(kinds(writes[0]), ['started a'])
    writes[0]!.fail(new Error('no leader'))
    await settle()
    // The worker backs off 50 ms after a failed write.
    clock.advance(49)
    await settle()
    assert.equal(writes.length, 1, 'not sent again before the backoff ends')
    clock.advance(1)
    await settle()
    assert.deepEqual(kinds(writes[1]), ['started a'], 'sent again after the backoff')
    await commit(1)
    assert.equal(worker.queuedReports, 0)
  })

  it('splits what queued beyond maxEventsPerReport over the following reports, in order', async () => {
    worker = makeWorker(0, 2)
    finished('a')
    await settle()
    assert.deepEqual(kinds(writes[0]), ['finished a'])
    for (const id of ['b', 'c', 'd', 'e', 'f']) finished(id)
    await commit(0)
    assert.deepEqual(kinds(writes[1]), ['finished b', 'finished c'])
    await commit(1)
    assert.deepEqual(kinds(writes[2]), ['finished d', 'finished e'])
    await commit(2)
    assert.deepEqual(kinds(writes[3]), ['finished f'])
    await commit(3)
    assert.equal(writes.length, 4)
    assert.equal(worker.queuedReports, 0)
  })

  it('drops a report the leader refuses as invalid, and later reports still go', async () => {
    finished('a')
    await settle()
    assert.deepEqual(kinds(writes[0]), ['finished a'])
    finished('b')
    finished('c')
    writes[0]!.fail(new CommandRefusedError('unknown command'))
    // No backoff after a refusal: what queued meanwhile goes next, without the refused event.
    await settle()
    assert.deepEqual(kinds(writes[1]), ['finished b', 'finished c'])
    await commit(1)
    assert.equal(writes.length, 2, 'the refused report is never sent again')
    assert.equal(worker.queuedReports, 0)
  })

  it('a finish that the table applies without its start still records the start time', () => {
    const spec = parseTaskSpec({ command: 'true' })
    if (!spec.ok) throw new Error(spec.message)
    table.apply(
      {
        type: 'task.submit',
        term: 2,
        tasks: [{ id: 'c', spec: spec.spec, submittedAt: 1000, assign: { node: SELF, placement: 'test' } }],
      },
      1,
    )
    table.apply(
      {
        type: 'task.report',
        node: SELF,
        events: [
          {
            kind: 'finished',
            id: 'c',
            attempt: 1,
            at: 3000,
            startedAt: 2000,
            reason: 'exited',
            exitCode: 0,
            signal: null,
            message: '',
          },
        ],
      },
      2,
    )
    const task = table.get('c')
    assert.deepEqual(
      { state: task?.state, startedAt: task?.startedAt, finishedAt: task?.finishedAt },
      { state: 'succeeded', startedAt: 2000, finishedAt: 3000 },
    )
  })
})
