// TaskRun's outcome rules against a scripted spawner: orders of events that real processes
// produce only by chance (a kill racing an exit), made deterministic.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SpawnEvents, Spawner } from '../../src/executor/spawn/spawner.js'
import { taskPaths } from '../../src/executor/files/task-dir.js'
import { TaskRun, type KillReason } from '../../src/executor/task-run.js'
import type { TaskOutcome } from '../../src/executor/types.js'
import { eventually } from '../helpers/proc.js'

/** Far above any pid in use, so the group kills TaskRun sends find nothing (ESRCH, ignored). */
const ABSENT_PID = 4_000_000
const SILENT = { debug() {}, info() {}, warn() {}, error() {} }

class ScriptedSpawner implements Spawner {
  readonly kind = 'launcher'
  readonly killsGroupOnExit = true
  readonly startTimeLater = true
  /** So the test drives TaskRun's own directory preparation and its asynchronous window. */
  readonly preparesWorkDir = false
  events: SpawnEvents | null = null
  spawn(_spec: unknown, events: SpawnEvents): { closeOutput: () => void } {
    this.events = events
    return { closeOutput() {} }
  }

  close(): void {}
}

describe('task run outcome rules', function () {
  let dir: string
  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'meshos-taskrun-'))
  })
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true })
  })

  function scripted(): { spawner: ScriptedSpawner; taskRun: TaskRun; outcome: () => TaskOutcome | null } {
    const spawner = new ScriptedSpawner()
    let outcome: TaskOutcome | null = null
    const taskRun = new TaskRun(
      { taskId: 't', attempt: 1, argv: ['/bin/true'], env: {}, cpus: 0.1, memoryMb: 1, timeoutMs: null },
      {
        paths: taskPaths(dir, 't', 1),
        maxLogBytes: 1024,
        killGraceMs: 50,
        logger: SILENT,
        spawner,
        user: null,
        cgroups: null,
        pidsMax: 1024,
        maxFileBytes: null,
        onStarted: () => {},
        onFinished: o => {
          outcome = o
        },
      },
    )
    return { spawner, taskRun, outcome: () => outcome }
  }

  async function run(
    kill: KillReason,
    exit: { code: number | null; signal: NodeJS.Signals | null },
  ): Promise<TaskOutcome> {
    const { spawner, taskRun, outcome: result } = scripted()
    taskRun.start()
    // The task directory is made off the event loop first.
    await eventually(() => spawner.events !== null, 'the spawn')
    const events = spawner.events
    assert.ok(events !== null)
    events.onSpawned(ABSENT_PID, null)
    assert.equal(taskRun.terminate(kill, `${kill} limit`, kill !== 'memory'), true)
    events.onExited(exit.code, exit.signal)
    events.onOutputClosed()
    await taskRun.done
    const outcome = result()
    assert.ok(outcome !== null)
    return outcome
  }

  it('a task cancelled while its directory is being made never spawns, and reports cancelled without a start', async function () {
    const { spawner, taskRun, outcome } = scripted()
    taskRun.start()
    assert.equal(taskRun.terminate('cancelled', 'cancelled by request', true), true)
    await taskRun.done
    assert.equal(spawner.events, null, 'nothing was spawned')
    assert.equal(outcome()?.reason, 'cancelled')
    assert.equal(outcome()?.startedAtMs, null)
  })

  it('a task cancelled after the spawn was asked for, before its pid is known, is killed as soon as it is', async function () {
    const { spawner, taskRun, outcome } = scripted()
    taskRun.start()
    await eventually(() => spawner.events !== null, 'the spawn')
    assert.equal(taskRun.terminate('cancelled', 'cancelled by request', false), true)
    spawner.events!.onSpawned(ABSENT_PID, null)
    spawner.events!.onExited(null, 'SIGKILL')
    spawner.events!.onOutputClosed()
    await taskRun.done
    assert.equal(outcome()?.reason, 'cancelled')
    assert.notEqual(outcome()?.startedAtMs, null)
  })

  it('a memory kill that a normal exit beat to it reports the exit', async function () {
    const outcome = await run('memory', { code: 0, signal: null })
    assert.equal(outcome.reason, 'exited')
    assert.equal(outcome.exitCode, 0)
  })

  it('a memory kill that landed reports memory', async function () {
    const outcome = await run('memory', { code: null, signal: 'SIGKILL' })
    assert.equal(outcome.reason, 'memory')
  })

  it('a task that exits with a code of its own after SIGTERM for its timeout or a cancel reports that reason', async function () {
    assert.equal((await run('timeout', { code: 143, signal: null })).reason, 'timeout')
    assert.equal((await run('cancelled', { code: 0, signal: null })).reason, 'cancelled')
  })
})
