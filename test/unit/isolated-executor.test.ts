// The executor as the agent runs it with child_process spawning, in its own process: the agent-side books (admission,
// running, allocation) follow the executor's reports, outcomes and logs arrive, cancel reaches
// it, stop() ends it, and it does not outlive its agent. The Executor itself is covered by
// executor.test.ts.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IsolatedExecutor } from '../../src/executor/isolation/isolated-executor.js'
import { DEFAULT_EXECUTOR } from '../../src/executor/config.js'
import type { LaunchRequest, RunningTask, TaskOutcome } from '../../src/executor/types.js'
import { childrenOf, eventually, processDead, signalPending } from '../helpers/proc.js'

const WAIT_MS = 20_000

function request(taskId: string, over: Partial<LaunchRequest> = {}): LaunchRequest {
  return { taskId, attempt: 1, env: {}, cpus: 0.5, memoryMb: 64, timeoutMs: null, ...over }
}

describe('isolated executor', function () {
  this.timeout(60_000)
  let dir: string
  let executor: IsolatedExecutor
  const outcomes = new Map<string, (o: TaskOutcome) => void>()
  const starts: RunningTask[] = []
  const startWaiters = new Map<string, (t: RunningTask) => void>()
  const outcome = async (taskId: string): Promise<TaskOutcome> =>
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no outcome for ${taskId}`))
      }, WAIT_MS)
      outcomes.set(taskId, o => {
        clearTimeout(timer)
        resolve(o)
      })
    })
  /** Resolves when the agent side hears that the task spawned (at once if it already did). */
  const started = async (taskId: string): Promise<RunningTask> =>
    await new Promise((resolve, reject) => {
      const seen = starts.find(t => t.taskId === taskId)
      if (seen !== undefined) {
        resolve(seen)
        return
      }
      const timer = setTimeout(() => {
        reject(new Error(`no start for ${taskId}`))
      }, WAIT_MS)
      startWaiters.set(taskId, t => {
        clearTimeout(timer)
        resolve(t)
      })
    })

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshos-isolated-'))
    starts.length = 0
    startWaiters.clear()
    executor = new IsolatedExecutor({
      dataDir: dir,
      capacity: { cpus: 1, memoryMb: 1024 },
      ...DEFAULT_EXECUTOR,
      killGraceMs: 500,
      spawner: 'child_process',
    })
    executor.listen({
      onStarted: t => {
        starts.push(t)
        startWaiters.get(t.taskId)?.(t)
      },
      onFinished: o => outcomes.get(o.taskId)?.(o),
    })
  })
  afterEach(async () => {
    await executor.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('runs a task in the executor process; books, outcome and output reach the agent side', async () => {
    const done = outcome('t1')
    assert.deepEqual(executor.launch(request('t1', { command: 'echo hello; echo oops >&2; exit 3' })), { ok: true })
    assert.ok(executor.isRunning('t1', 1))
    assert.deepEqual(executor.allocated(), { cpus: 0.5, memoryMb: 64 })
    const o = await done
    assert.equal(o.reason, 'exited')
    assert.equal(o.exitCode, 3)
    assert.equal(starts.length, 1)
    assert.equal(starts[0]?.taskId, 't1')
    assert.ok(!executor.isRunning('t1', 1))
    assert.deepEqual(executor.allocated(), { cpus: 0, memoryMb: 0 })
    const out = await executor.readLog('t1', 1, 'stdout', 0, 1024)
    assert.equal(Buffer.from(out!.data).toString(), 'hello\n')
    assert.equal(executor.launch(request('t1', { command: 'true' })).ok, false, 'an attempt runs once per process')
  })

  it('sends its debug lines only to a logger that keeps them', async () => {
    for (const keepDebug of [true, false]) {
      const lines: string[] = []
      const record =
        (level: string) =>
        (_obj: object, msg: string): void => {
          lines.push(`${level} ${msg}`)
        }
      const taskId = `debug-${String(keepDebug)}`
      const done = outcome(taskId)
      const own = new IsolatedExecutor({
        dataDir: dir,
        capacity: { cpus: 1, memoryMb: 1024 },
        ...DEFAULT_EXECUTOR,
        killGraceMs: 500,
        spawner: 'child_process',
        logger: {
          isLevelEnabled: level => level !== 'debug' || keepDebug,
          debug: record('debug'),
          info: record('info'),
          warn: record('warn'),
          error: record('error'),
        },
      })
      own.listen({ onStarted: () => {}, onFinished: o => outcomes.get(o.taskId)?.(o) })
      try {
        assert.equal(own.launch(request(taskId, { command: 'true' })).ok, true)
        assert.equal((await done).reason, 'exited')
      } finally {
        await own.stop()
      }
      // The outcome travels behind the lines logged before it, on the same channel.
      const debugLines = lines.filter(line => line.startsWith('debug '))
      if (keepDebug)
        assert.ok(
          debugLines.includes('debug launching task') && debugLines.includes('debug task finished'),
          lines.join('; '),
        )
      else assert.deepEqual(debugLines, [])
    }
  })

  it('admits synchronously against capacity and cancels through the executor process', async () => {
    const done = outcome('long')
    assert.equal(executor.launch(request('long', { argv: ['sleep', '30'], cpus: 0.75 })).ok, true)
    const refused = executor.launch(request('other', { command: 'true', cpus: 0.5 }))
    assert.equal(refused.ok, false)
    assert.match(refused.ok ? '' : refused.reason, /insufficient capacity/)
    // Cancel once it has spawned, so the outcome is the cancellation and not a spawn race.
    await started('long')
    assert.equal(executor.cancel('long'), true)
    assert.equal((await done).reason, 'cancelled')
    assert.equal(executor.cancel('long'), false)
  })

  it('survives the Ctrl-C (SIGINT) and SIGTERM a terminal sends to the whole process group, so the agent can still stop gracefully', async () => {
    // First a task, so that the executor process is up and has set its signal handlers.
    const first = outcome('before-signals')
    assert.equal(executor.launch(request('before-signals', { command: 'true' })).ok, true)
    assert.equal((await first).reason, 'exited')
    const pid = executor.pid
    assert.ok(pid !== undefined)
    const launcher = childrenOf(pid).find(child => child.comm === 'meshos-launcher')
    const targets = [pid, launcher?.pid].filter((p): p is number => p !== undefined)
    for (const target of targets) {
      process.kill(target, 'SIGINT')
      process.kill(target, 'SIGTERM')
    }
    // Delivered (handled, ignored or fatal) before anything is checked: otherwise the checks below
    // could pass before a signal that ends the process arrives.
    const delivered = (target: number): boolean =>
      processDead(target) || (!signalPending(target, 'SIGINT') && !signalPending(target, 'SIGTERM'))
    await eventually(() => targets.every(delivered), 'the signals to be delivered', WAIT_MS)
    for (const target of targets) assert.ok(!processDead(target), `process ${target} survives the signals`)
    const done = outcome('after-signals')
    assert.equal(executor.launch(request('after-signals', { command: 'echo still here' })).ok, true)
    assert.equal((await done).reason, 'exited')
    const out = await executor.readLog('after-signals', 1, 'stdout', 0, 1024)
    assert.equal(Buffer.from(out!.data).toString(), 'still here\n')
  })
})
