import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, linkSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Executor, type ExecutorListener, type ExecutorOptions } from '../../src/executor/executor.js'
import { DEFAULT_EXECUTOR } from '../../src/executor/config.js'
import { launcherAvailable, LAUNCHER_PATH, type SpawnerKind } from '../../src/executor/spawn/spawner.js'
import type { LaunchRequest, RunningTask, TaskOutcome } from '../../src/executor/types.js'
import { readPidFile } from '../../src/executor/files/task-dir.js'
import { eventually, processDead } from '../helpers/proc.js'

/** Upper bound on any single wait: far above what a healthy run needs, so it only catches hangs. */
const WAIT_MS = 20_000

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  const promise = new Promise<T>(r => {
    resolve = r
  })
  return { promise, resolve }
}

async function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Live processes whose command line mentions `marker`. */
function sleepersWith(marker: string): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name) || Number(name) === process.pid) continue
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'latin1').includes(marker)) pids.push(Number(name))
    } catch {}
  }
  return pids
}

function request(taskId: string, over: Partial<LaunchRequest> = {}): LaunchRequest {
  return { taskId, attempt: 1, env: {}, cpus: 0.1, memoryMb: 256, timeoutMs: null, ...over }
}

function key(taskId: string, attempt: number): string {
  return `${taskId}/${attempt}`
}

/** An Executor whose callbacks can be awaited per attempt; counts outcomes to check "exactly once". */
class Harness {
  readonly executor: Executor
  private readonly startedBy = new Map<string, Deferred<RunningTask>>()
  private readonly finishedBy = new Map<string, Deferred<TaskOutcome>>()
  readonly finishCounts = new Map<string, number>()
  readonly startCounts = new Map<string, number>()

  /** `over` may replace options and either listener callback. */
  constructor(
    readonly dataDir: string,
    over: Partial<ExecutorOptions & ExecutorListener> = {},
  ) {
    const { onStarted, onFinished, ...options } = over
    this.executor = new Executor({
      ...DEFAULT_EXECUTOR,
      dataDir,
      capacity: { cpus: 8, memoryMb: 16384 },
      killGraceMs: 500,
      memoryPollMs: 50,
      ...options,
    })
    this.executor.listen({
      onStarted:
        onStarted ??
        (task => {
          const k = key(task.taskId, task.attempt)
          this.startCounts.set(k, (this.startCounts.get(k) ?? 0) + 1)
          this.startedDeferred(k).resolve(task)
        }),
      onFinished:
        onFinished ??
        (outcome => {
          const k = key(outcome.taskId, outcome.attempt)
          this.finishCounts.set(k, (this.finishCounts.get(k) ?? 0) + 1)
          this.finishedDeferred(k).resolve(outcome)
        }),
    })
  }

  private startedDeferred(k: string): Deferred<RunningTask> {
    let d = this.startedBy.get(k)
    if (d === undefined) this.startedBy.set(k, (d = deferred()))
    return d
  }

  private finishedDeferred(k: string): Deferred<TaskOutcome> {
    let d = this.finishedBy.get(k)
    if (d === undefined) this.finishedBy.set(k, (d = deferred()))
    return d
  }

  launch(req: LaunchRequest): void {
    const result = this.executor.launch(req)
    assert.deepEqual(result, { ok: true }, `launch of ${req.taskId} refused`)
  }

  async started(taskId: string, attempt = 1): Promise<RunningTask> {
    return await within(this.startedDeferred(key(taskId, attempt)).promise, `start of ${taskId}/${attempt}`)
  }

  async finished(taskId: string, attempt = 1): Promise<TaskOutcome> {
    const outcome = await within(this.finishedDeferred(key(taskId, attempt)).promise, `outcome of ${taskId}/${attempt}`)
    assert.equal(this.finishCounts.get(key(taskId, attempt)), 1)
    return outcome
  }

  /** Launches and waits for the outcome. */
  async run(req: LaunchRequest): Promise<TaskOutcome> {
    this.launch(req)
    return await this.finished(req.taskId, req.attempt)
  }

  workDir(taskId: string, attempt = 1): string {
    return join(this.dataDir, 'tasks', taskId, String(attempt))
  }

  /** Beside the work dir, where the task cannot write (task-dir.ts). */
  pidFile(taskId: string, attempt = 1): string {
    return `${this.workDir(taskId, attempt)}.pid`
  }

  log(taskId: string, stream: 'stdout' | 'stderr' = 'stdout', attempt = 1): string {
    return readFileSync(join(this.workDir(taskId, attempt), `${stream}.log`), 'utf8')
  }
}

// Every test runs against both ways of spawning: they must be indistinguishable from above.
for (const spawner of ['launcher', 'child_process'] as SpawnerKind[])
  describe(`Executor (spawner: ${spawner})`, function () {
    before(function () {
      if (spawner === 'launcher' && !launcherAvailable()) {
        // CI builds with MESHOS_REQUIRE_LAUNCHER=1, so there this never skips.
        console.log(`      SKIPPED: meshos-launcher is not built at ${LAUNCHER_PATH} (no C compiler at npm run build)`)
        this.skip()
      }
    })

    const dirs: string[] = []
    const executors: Executor[] = []
    const envKeys: string[] = []

    async function harness(over: Partial<ExecutorOptions & ExecutorListener> = {}, dataDir?: string): Promise<Harness> {
      if (dataDir === undefined) {
        dataDir = await mkdtemp(join(tmpdir(), 'meshos-executor-'))
        dirs.push(dataDir)
      }
      const h = new Harness(dataDir, { spawner, ...over })
      executors.push(h.executor)
      return h
    }

    afterEach(async function () {
      for (const executor of executors.splice(0)) await executor.stop()
      for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
      for (const name of envKeys.splice(0)) Reflect.deleteProperty(process.env, name)
    })

    describe('running tasks', function () {
      it('captures stdout and stderr in the task directory and reports exit 0', async function () {
        const h = await harness()
        h.launch(request('echo', { command: 'echo out; echo err >&2' }))
        const task = await h.started('echo')
        assert.equal(task.taskId, 'echo')
        assert.ok(task.pid > 0)
        const outcome = await h.finished('echo')
        assert.equal(outcome.reason, 'exited')
        assert.equal(outcome.exitCode, 0)
        assert.equal(outcome.signal, null)
        assert.equal(outcome.message, 'exit code 0')
        assert.equal(outcome.startedAtMs, task.startedAtMs)
        assert.ok(outcome.finishedAtMs >= task.startedAtMs)
        assert.equal(h.log('echo', 'stdout'), 'out\n')
        assert.equal(h.log('echo', 'stderr'), 'err\n')
        assert.equal(h.startCounts.get('echo/1'), 1)
        assert.equal(h.executor.isRunning('echo', 1), false)
        assert.equal(existsSync(h.pidFile('echo')), false, 'no pid file is left once the task exited')
      })

      it("keeps a pid file with the process's /proc start time while the task runs", async function () {
        const h = await harness()
        h.launch(request('long', { command: 'sleep 30' }))
        const task = await h.started('long')
        const stat = readFileSync(`/proc/${task.pid}/stat`, 'latin1')
        const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
        const pidFile = h.pidFile('long')
        // The launcher learns the start time a few ms after the spawn (native/launcher.c says why),
        // and the file is written then: a read may catch it half written (readPidFile: null).
        await eventually(() => readPidFile(pidFile)?.startTime === startTime, 'the pid file to carry the start time')
        assert.deepEqual(readPidFile(pidFile), { taskId: 'long', attempt: 1, pid: task.pid, startTime })
        h.executor.cancel('long')
        await h.finished('long')
        assert.equal(existsSync(pidFile), false, 'removed before the outcome is reported')
      })

      it('reports only after the logs are complete', async function () {
        let seenAtOutcome = -1
        const h = await harness({
          onFinished: outcome => {
            seenAtOutcome = statSync(join(h.workDir(outcome.taskId), 'stdout.log')).size
            finished.resolve()
          },
        })
        const finished = deferred<void>()
        h.launch(request('bulk', { command: 'head -c 3000000 /dev/zero' }))
        await within(finished.promise, 'outcome of bulk')
        assert.equal(seenAtOutcome, 3_000_000)
      })

      it('runs argv without a shell', async function () {
        const h = await harness()
        const outcome = await h.run(request('argv', { argv: ['/bin/echo', 'a b', '$HOME', '*'] }))
        assert.equal(outcome.reason, 'exited')
        assert.equal(h.log('argv'), 'a b $HOME *\n')
      })

      it("finds a bare program name on the task's PATH, not the agent's", async function () {
        const h = await harness()
        const bin = join(h.dataDir, 'bin')
        await mkdir(bin)
        writeFileSync(join(bin, 'meshos-test-tool'), '#!/bin/sh\necho tool "$@"\n', { mode: 0o755 })
        const outcome = await h.run(
          request('path', { argv: ['meshos-test-tool', 'x'], env: { PATH: `${bin}:/usr/bin:/bin` } }),
        )
        assert.equal(outcome.reason, 'exited', outcome.message)
        assert.equal(h.log('path'), 'tool x\n')
        const missing = await h.run(request('nopath', { argv: ['meshos-test-tool'] }))
        assert.equal(missing.reason, 'spawn_error')
        assert.match(missing.message, /meshos-test-tool: ENOENT/)
        assert.equal(h.executor.spawnerKind, spawner)
      })

      it('passes the task env over a minimal base, in the task directory, without the agent env', async function () {
        process.env.MESHOS_EXECUTOR_TEST_SECRET = 'must-not-leak'
        envKeys.push('MESHOS_EXECUTOR_TEST_SECRET')
        const h = await harness()
        const outcome = await h.run(
          request('env', {
            attempt: 2,
            command: 'env; echo "cwd=$(pwd)"',
            env: { FOO: 'bar baz', MESHOS_TASK_ID: 'spoofed' },
          }),
        )
        assert.equal(outcome.reason, 'exited')
        const lines = h.log('env', 'stdout', 2).split('\n')
        const workDir = h.workDir('env', 2)
        assert.ok(lines.includes('FOO=bar baz'))
        assert.ok(lines.includes(`HOME=${workDir}`))
        assert.ok(lines.includes('MESHOS_TASK_ID=env'), 'the task cannot override its identity')
        assert.ok(lines.includes('MESHOS_TASK_ATTEMPT=2'))
        assert.ok(lines.includes(`PATH=${process.env.PATH ?? ''}`))
        assert.ok(lines.includes(`cwd=${workDir}`))
        assert.ok(!lines.some(line => line.startsWith('MESHOS_EXECUTOR_TEST_SECRET=')))
      })

      it('propagates a non-zero exit code', async function () {
        const h = await harness()
        const outcome = await h.run(request('exit3', { command: 'exit 3' }))
        assert.equal(outcome.reason, 'exited')
        assert.equal(outcome.exitCode, 3)
        assert.equal(outcome.message, 'exit code 3')
      })

      it('reports a signal it did not send', async function () {
        const h = await harness()
        const outcome = await h.run(request('selfkill', { command: 'kill -KILL $$' }))
        assert.equal(outcome.reason, 'signal')
        assert.equal(outcome.signal, 'SIGKILL')
        assert.equal(outcome.exitCode, null)
      })

      it('names a signal as Node does (SIGABRT, not its alias SIGIOT)', async function () {
        const h = await harness()
        const outcome = await h.run(request('abort', { command: 'kill -ABRT $$' }))
        assert.equal(outcome.signal, 'SIGABRT')
      })

      it('runs an executable script without #! with /bin/sh, as execvp does', async function () {
        const h = await harness()
        const script = join(h.dataDir, 'no-shebang')
        writeFileSync(script, 'echo ran "$1"\n', { mode: 0o755 })
        const outcome = await h.run(request('script', { argv: [script, 'x'] }))
        assert.equal(outcome.reason, 'exited', outcome.message)
        assert.equal(h.log('script'), 'ran x\n')
      })

      it('reports a missing binary as spawn_error without throwing', async function () {
        const h = await harness()
        const outcome = await h.run(request('missing', { argv: ['/nonexistent/meshos-binary', 'x'] }))
        assert.equal(outcome.reason, 'spawn_error')
        assert.match(outcome.message, /\/nonexistent\/meshos-binary: ENOENT/)
        assert.equal(outcome.startedAtMs, null)
        assert.equal(h.startCounts.get('missing/1'), undefined, 'never reported as started')
        assert.deepEqual(h.executor.allocated(), { cpus: 0, memoryMb: 0 })
      })

      it('reports an argument the kernel cannot take as spawn_error', async function () {
        const h = await harness()
        const outcome = await h.run(request('nul', { argv: ['/bin/echo', 'a\u0000b'] }))
        assert.equal(outcome.reason, 'spawn_error')
      })

      it('kills what the task left in the background when it exits', async function () {
        const h = await harness()
        const outcome = await h.run(request('bg', { command: 'sleep 30 & echo $!' }))
        assert.equal(outcome.reason, 'exited')
        assert.equal(outcome.exitCode, 0)
        const pid = Number(h.log('bg').trim())
        assert.ok(pid > 0)
        await eventually(() => processDead(pid), `background sleep ${pid} to die`)
      })

      it('reports even when a process that left the group holds the output open', async function () {
        const h = await harness({ killGraceMs: 200 })
        // The escaped sleep has its own session, out of reach of the group kill, and inherits stdout.
        const outcome = await h.run(
          request('escape', {
            command:
              "setsid sh -c 'echo $$ > escaped.pid; exec sleep 30' & while [ ! -s escaped.pid ]; do :; done; echo hi",
          }),
        )
        const escaped = Number(readFileSync(join(h.workDir('escape'), 'escaped.pid'), 'utf8').trim())
        try {
          assert.equal(outcome.reason, 'exited')
          assert.equal(outcome.exitCode, 0)
          assert.match(h.log('escape'), /^hi\n/)
        } finally {
          if (escaped > 0) process.kill(escaped, 'SIGKILL')
        }
      })
    })

    describe('killing tasks', function () {
      it('on timeout kills the whole process group, grandchildren included', async function () {
        const h = await harness()
        h.launch(request('timeout', { command: 'sleep 30 & echo $!; sleep 30; wait', timeoutMs: 1000 }))
        const task = await h.started('timeout')
        const outcome = await h.finished('timeout')
        assert.equal(outcome.reason, 'timeout')
        assert.equal(outcome.message, 'killed after 1000 ms timeout')
        assert.equal(outcome.signal, 'SIGTERM')
        const grandchild = Number(h.log('timeout').trim())
        assert.ok(grandchild > 0 && grandchild !== task.pid)
        await eventually(() => processDead(grandchild), `grandchild ${grandchild} to die`)
      })

      it('on timeout escalates to SIGKILL when SIGTERM is ignored', async function () {
        const h = await harness({ killGraceMs: 200 })
        const outcome = await h.run(request('stubborn', { command: 'trap "" TERM; sleep 30', timeoutMs: 300 }))
        assert.equal(outcome.reason, 'timeout')
        assert.equal(outcome.signal, 'SIGKILL')
      })

      it('cancels a running task', async function () {
        const h = await harness()
        h.launch(request('cancel', { command: 'sleep 30' }))
        await h.started('cancel')
        assert.equal(h.executor.cancel('cancel'), true)
        assert.equal(h.executor.cancel('no-such-task'), false)
        const outcome = await h.finished('cancel')
        assert.equal(outcome.reason, 'cancelled')
        assert.equal(outcome.signal, 'SIGTERM')
        assert.equal(h.executor.cancel('cancel'), false, 'nothing left to cancel')
      })

      it('cancels a task in the very turn it was launched: it never starts', async function () {
        const h = await harness()
        h.launch(request('early', { command: 'echo ran > ran.txt; sleep 30' }))
        assert.equal(h.executor.cancel('early'), true)
        const outcome = await h.finished('early')
        assert.equal(outcome.reason, 'cancelled')
        assert.equal(outcome.startedAtMs, null)
        assert.equal(existsSync(join(h.workDir('early'), 'ran.txt')), false, 'the command never ran')
      })

      it('ends a task whose work dir outgrows its bound, or that writes a file past it, with reason disk', async function () {
        const h = await harness({ maxWorkDirBytes: 1024 * 1024, diskPollMs: 50 })
        const many = await h.run(
          request('many', {
            command: 'head -c 700000 /dev/zero > a; head -c 700000 /dev/zero > b; sleep 30',
            timeoutMs: 15_000,
          }),
        )
        assert.equal(many.reason, 'disk', many.message)
        assert.match(many.message, /work dir holds 1\.\d MiB, over its 1 MiB bound/)
        const one = await h.run(request('one', { command: 'exec head -c 5000000 /dev/zero > big' }))
        assert.deepEqual(
          [one.reason, one.signal, one.message],
          ['disk', 'SIGXFSZ', 'killed by SIGXFSZ: a file reached the 1 MiB file-size limit'],
        )
        const few = await harness({ maxWorkDirEntries: 100, diskPollMs: 50 })
        const files = await few.run(
          request('files', { command: 'mkdir d; cd d; touch $(seq 1 300); sleep 30', timeoutMs: 15_000 }),
        )
        assert.deepEqual([files.reason, files.message], ['disk', 'work dir holds more than 100 files'])
      })

      it('kills a task whose process tree exceeds its memory limit', async function () {
        const h = await harness()
        const allocate = 'const a=[];for(let i=0;i<20;i++)a.push(Buffer.alloc(1e7,1));setInterval(()=>{},1000)'
        const outcome = await h.run(request('hog', { argv: [process.execPath, '-e', allocate], memoryMb: 64 }))
        assert.equal(outcome.reason, 'memory')
        assert.equal(outcome.signal, 'SIGKILL')
        assert.match(outcome.message, /^used \d+ MiB of 64 MiB limit$/)
        assert.ok(Number(/^used (\d+)/.exec(outcome.message)?.[1]) > 64)
      })
    })

    describe('admission', function () {
      it('never runs more than the capacity', async function () {
        const h = await harness({ capacity: { cpus: 2, memoryMb: 1024 } })
        h.launch(request('a', { command: 'sleep 30', cpus: 1.5, memoryMb: 512 }))
        const tooManyCpus = h.executor.launch(request('b', { command: 'sleep 30', cpus: 1, memoryMb: 1 }))
        assert.equal(tooManyCpus.ok, false)
        assert.match(tooManyCpus.ok ? '' : tooManyCpus.reason, /insufficient capacity/)
        const tooMuchMemory = h.executor.launch(request('c', { command: 'sleep 30', cpus: 0.1, memoryMb: 600 }))
        assert.equal(tooMuchMemory.ok, false)
        assert.equal(existsSync(h.workDir('b')), false, 'a refused task is not spawned')
        h.launch(request('d', { command: 'sleep 30', cpus: 0.5, memoryMb: 512 }))
        assert.deepEqual(h.executor.allocated(), { cpus: 2, memoryMb: 1024 })
        await h.started('a')
        await h.started('d')
        assert.deepEqual(
          h.executor
            .running()
            .map(t => t.taskId)
            .sort(),
          ['a', 'd'],
        )

        h.executor.cancel('a')
        await h.finished('a')
        assert.deepEqual(h.executor.allocated(), { cpus: 0.5, memoryMb: 512 })
        h.launch(request('b', { command: 'true', cpus: 1, memoryMb: 16 })) // above sh's own RSS: the memory poll must not catch it
        assert.equal((await h.finished('b')).reason, 'exited')
      })

      it('refuses a duplicate attempt, running or finished', async function () {
        const h = await harness()
        h.launch(request('dup', { command: 'sleep 30' }))
        const again = h.executor.launch(request('dup', { command: 'sleep 30' }))
        assert.deepEqual(again, { ok: false, reason: 'task dup attempt 1 is already running' })
        assert.equal(h.executor.isRunning('dup', 1), true)
        h.executor.cancel('dup')
        await h.finished('dup')
        const afterwards = h.executor.launch(request('dup', { command: 'true' }))
        assert.deepEqual(afterwards, { ok: false, reason: 'task dup attempt 1 already ran on this node' })
        const retry = await h.run(request('dup', { attempt: 2, command: 'true' }))
        assert.equal(retry.reason, 'exited')
      })

      it('refuses a malformed request', async function () {
        const h = await harness()
        for (const bad of [
          request('both', { command: 'true', argv: ['/bin/true'] }),
          request('neither'),
          request('../escape', { command: 'true' }),
          request('a/b', { command: 'true' }),
          request('attempt', { command: 'true', attempt: 0 }),
          request('argv', { argv: [] }),
        ]) {
          const result = h.executor.launch(bad)
          assert.equal(result.ok, false, `${bad.taskId} should be refused`)
        }
        assert.deepEqual(h.executor.allocated(), { cpus: 0, memoryMb: 0 })
      })
    })

    describe('logs', function () {
      it('caps each stream, marks it truncated, and keeps draining the pipe', async function () {
        const h = await harness({ maxLogBytes: 100_000 })
        const outcome = await h.run(request('yes', { command: 'yes | head -c 5000000; echo done >&2' }))
        assert.equal(outcome.reason, 'exited')
        assert.equal(outcome.exitCode, 0)
        assert.equal(statSync(join(h.workDir('yes'), 'stdout.log')).size, 100_000)
        const stdout = await h.executor.readLog('yes', 1, 'stdout', 99_990, 1000)
        assert.ok(stdout !== null)
        assert.equal(stdout.truncated, true)
        assert.equal(Buffer.from(stdout.data).toString(), 'y\ny\ny\ny\ny\n')
        assert.equal(stdout.nextOffset, 100_000)
        const stderr = await h.executor.readLog('yes', 1, 'stderr', 0, 1000)
        assert.equal(stderr?.truncated, false)
        assert.equal(Buffer.from(stderr?.data ?? []).toString(), 'done\n')
      })

      it('starts the logs of an attempt relaunched after a restart afresh, truncation marks included', async function () {
        const first = await harness({ maxLogBytes: 100 })
        assert.equal((await first.run(request('again', { command: 'head -c 5000 /dev/zero' }))).reason, 'exited')
        assert.equal((await first.executor.readLog('again', 1, 'stdout', 0, 10))?.truncated, true)
        await first.executor.stop()
        const second = await harness({ maxLogBytes: 100 }, first.dataDir)
        assert.equal((await second.run(request('again', { command: 'echo short' }))).reason, 'exited')
        const log = await second.executor.readLog('again', 1, 'stdout', 0, 100)
        assert.deepEqual(log && { text: Buffer.from(log.data).toString(), truncated: log.truncated }, {
          text: 'short\n',
          truncated: false,
        })
      })

      it('is not stalled by a FIFO the task put where its truncation marker goes', async function () {
        const h = await harness({ maxLogBytes: 100 })
        // Nobody ever opens the FIFO for reading: a blocking open() of it would hang forever.
        const outcome = await h.run(
          request('fifo', { command: 'rm -f stdout.truncated; mkfifo stdout.truncated; head -c 5000 /dev/zero' }),
        )
        assert.equal(outcome.reason, 'exited')
        assert.equal(statSync(join(h.workDir('fifo'), 'stdout.log')).size, 100)
        const next = await h.run(request('after-fifo', { command: 'echo fine' }))
        assert.equal(next.reason, 'exited')
        assert.equal(h.log('after-fifo'), 'fine\n')
      })

      it('refuses to follow a symlink planted where a log goes', async function () {
        const h = await harness()
        const target = join(h.dataDir, 'not-a-log')
        writeFileSync(target, 'keep me')
        await mkdir(h.workDir('planted'), { recursive: true })
        symlinkSync(target, join(h.workDir('planted'), 'stdout.log'))
        const outcome = await h.run(request('planted', { command: 'echo overwritten' }))
        assert.equal(outcome.reason, 'spawn_error')
        assert.match(outcome.message, /ELOOP/)
        assert.equal(readFileSync(target, 'utf8'), 'keep me')
      })

      it('refuses to empty a file a hard link planted where a log goes points to', async function () {
        const h = await harness()
        const target = join(h.dataDir, 'linked')
        writeFileSync(target, 'keep me')
        await mkdir(h.workDir('linked'), { recursive: true })
        linkSync(target, join(h.workDir('linked'), 'stdout.log'))
        const outcome = await h.run(request('linked', { command: 'echo overwritten' }))
        assert.equal(outcome.reason, 'spawn_error')
        assert.equal(readFileSync(target, 'utf8'), 'keep me')
      })

      it('serves nothing through a symlink the task swapped in for its log', async function () {
        const h = await harness()
        const secret = join(h.dataDir, 'secret')
        writeFileSync(secret, 'the agent only')
        const outcome = await h.run(
          request('swap', { command: `echo mine; rm stdout.log; ln -s ${secret} stdout.log` }),
        )
        assert.equal(outcome.reason, 'exited', outcome.message)
        const log = await h.executor.readLog('swap', 1, 'stdout', 0, 100)
        assert.deepEqual(log && { text: Buffer.from(log.data).toString(), nextOffset: log.nextOffset }, {
          text: '',
          nextOffset: 0,
        })
      })

      it('reads from offsets, and after a restart', async function () {
        const h = await harness()
        await h.run(request('read', { command: 'printf "hello world"' }))
        const first = await h.executor.readLog('read', 1, 'stdout', 0, 5)
        assert.deepEqual(
          first && {
            text: Buffer.from(first.data).toString(),
            nextOffset: first.nextOffset,
            truncated: first.truncated,
          },
          { text: 'hello', nextOffset: 5, truncated: false },
        )
        const rest = await h.executor.readLog('read', 1, 'stdout', first?.nextOffset ?? -1, 100)
        assert.equal(Buffer.from(rest?.data ?? []).toString(), ' world')
        assert.equal(rest?.nextOffset, 11)
        const atEnd = await h.executor.readLog('read', 1, 'stdout', 11, 100)
        assert.equal(atEnd?.data.length, 0)
        assert.equal(atEnd?.nextOffset, 11)
        const beyond = await h.executor.readLog('read', 1, 'stdout', 50, 100)
        assert.equal(beyond?.data.length, 0)
        assert.equal(beyond?.nextOffset, 50)

        assert.equal(await h.executor.readLog('read', 2, 'stdout', 0, 100), null)
        assert.equal(await h.executor.readLog('nope', 1, 'stdout', 0, 100), null)
        assert.equal(await h.executor.readLog('../..', 1, 'stdout', 0, 100), null)
        await assert.rejects(h.executor.readLog('read', 1, 'stdout', -1, 100), RangeError)

        const restarted = await harness({}, h.dataDir)
        const again = await restarted.executor.readLog('read', 1, 'stdout', 6, 100)
        assert.equal(Buffer.from(again?.data ?? []).toString(), 'world')
      })
    })

    describe('agent restart and stop', function () {
      it('killOrphans kills a group left by a previous executor and spares its own', async function () {
        const previous = await harness()
        previous.launch(request('orphan', { command: 'sleep 30 & sleep 30; wait' }))
        await previous.started('orphan')
        // Written a few ms after the start with the launcher (task-run.ts says why).
        await eventually(() => readPidFile(previous.pidFile('orphan')) !== null, "the orphan's pid file")
        assert.deepEqual(await previous.executor.killOrphans(), [], 'its own task is not an orphan')

        const current = await harness({}, previous.dataDir)
        current.launch(request('own', { command: 'sleep 30' }))
        const own = await current.started('own')
        const killed = await current.executor.killOrphans()
        assert.deepEqual(
          killed.map(({ taskId, attempt }) => ({ taskId, attempt })),
          [{ taskId: 'orphan', attempt: 1 }],
        )

        const outcome = await previous.finished('orphan')
        assert.equal(outcome.reason, 'signal')
        assert.equal(outcome.signal, 'SIGKILL')
        assert.equal(current.executor.isRunning('own', 1), true)
        assert.equal(processDead(own.pid), false)
      })

      it('killOrphans leaves alone a process that reuses a recorded pid', async function () {
        const h = await harness()
        // A live process group of our own, recorded with a start time that is not its own, as a
        // recycled pid would be.
        const stranger = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' })
        const spawned = deferred<void>()
        stranger.once('spawn', () => spawned.resolve())
        await within(spawned.promise, 'stranger spawn')
        const pid = stranger.pid ?? 0
        try {
          const dir = h.workDir('recycled')
          await mkdir(dir, { recursive: true })
          writeFileSync(h.pidFile('recycled'), JSON.stringify({ taskId: 'recycled', attempt: 1, pid, startTime: '1' }))
          assert.deepEqual(await h.executor.killOrphans(), [])
          assert.equal(processDead(pid), false)
          assert.equal(existsSync(h.pidFile('recycled')), false, 'the stale pid file is cleaned up')
        } finally {
          stranger.kill('SIGKILL')
        }
      })

      it('stop() in the very turn of a launch kills that task once it has spawned', async function () {
        const h = await harness()
        const before = new Set(sleepersWith('meshos-stop-early'))
        h.launch(request('leaving-early', { argv: ['/bin/sh', '-c', 'sleep 30; echo meshos-stop-early'] }))
        await h.executor.stop()
        assert.deepEqual(
          sleepersWith('meshos-stop-early').filter(pid => !before.has(pid) && !processDead(pid)),
          [],
        )
        assert.equal(h.finishCounts.get('leaving-early/1'), undefined)
      })

      it('stop() kills running tasks without reporting them and refuses new launches', async function () {
        const h = await harness()
        h.launch(request('leaving', { command: 'sleep 30 & echo $!; sleep 30; wait' }))
        const task = await h.started('leaving')
        await h.executor.stop()
        assert.equal(processDead(task.pid), true)
        assert.equal(h.finishCounts.get('leaving/1'), undefined)
        assert.deepEqual(h.executor.running(), [])
        const after = h.executor.launch(request('late', { command: 'true' }))
        assert.deepEqual(after, { ok: false, reason: 'executor is stopped' })
      })
    })
  })
