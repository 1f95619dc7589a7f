// What keeps a task away from its agent, at the executor's level, on this machine's real kernel:
// a root executor runs tasks as the task user, in cgroups of their own (cgroup v1 here; v2 is
// covered against an imitation in cgroups-v2.test.ts), with the kernel enforcing memory and pids
// limits and a kill reaching processes that left the task's process group. Every case runs with
// both spawners. Needs root and cgroup v1 memory and pids; CI runs as root on such machines.
import assert from 'node:assert/strict'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Executor, type ExecutorOptions } from '../../src/executor/executor.js'
import { DEFAULT_EXECUTOR } from '../../src/executor/config.js'
import { setUpNodeCgroups } from '../../src/executor/cgroups/setup.js'
import { attemptCgroupName } from '../../src/executor/cgroups/cgroups.js'
import { LauncherSpawner } from '../../src/executor/spawn/launcher-spawner.js'
import { launcherAvailable, LAUNCHER_PATH, type SpawnerKind } from '../../src/executor/spawn/spawner.js'
import { resolveTaskUser } from '../../src/executor/task-user.js'
import type { TaskSandbox } from '../../src/executor/sandbox.js'
import type { LaunchRequest, TaskOutcome } from '../../src/executor/types.js'
import { nodeCgroupDirsOf, removeTestCgroups, whyNoCgroupV1 } from '../helpers/cgroups.js'
import { eventually, processDead } from '../helpers/proc.js'

const SILENT = { debug() {}, info() {}, warn() {}, error() {} }
const MIB = 1024 * 1024

/** The live `sleep <seconds>` processes (not the shells that started them). */
function sleeping(seconds: string): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue
    try {
      const [file, arg] = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0')
      if (file?.endsWith('sleep') === true && arg === seconds && !processDead(Number(name))) pids.push(Number(name))
    } catch {}
  }
  return pids
}

/** A sleep no other process on the machine runs: 1000-1999 s plus a fraction unique to the run. */
function uniqueSleep(): string {
  return `${1000 + Math.floor(Math.random() * 1000)}.${process.pid}`
}

async function within<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
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

class Sandboxed {
  readonly executor: Executor
  private readonly outcomes = new Map<string, (outcome: TaskOutcome) => void>()
  private readonly starts = new Map<string, () => void>()

  constructor(
    readonly dataDir: string,
    readonly sandbox: TaskSandbox,
    over: Partial<ExecutorOptions>,
  ) {
    this.executor = new Executor({
      ...DEFAULT_EXECUTOR,
      dataDir,
      capacity: { cpus: 8, memoryMb: 16384 },
      killGraceMs: 500,
      diskPollMs: 100,
      sandbox,
      logger: SILENT,
      ...over,
    })
    this.executor.listen({
      onStarted: task => this.starts.get(task.taskId)?.(),
      onFinished: outcome => this.outcomes.get(outcome.taskId)?.(outcome),
    })
  }

  /** Launches; resolves once it started, with its outcome to come. */
  async launch(taskId: string, over: Partial<LaunchRequest>): Promise<{ outcome: Promise<TaskOutcome> }> {
    const outcome = new Promise<TaskOutcome>(resolve => this.outcomes.set(taskId, resolve))
    const started = new Promise<void>(resolve => this.starts.set(taskId, resolve))
    const result = this.executor.launch({
      taskId,
      attempt: 1,
      env: {},
      cpus: 0.1,
      memoryMb: 64,
      timeoutMs: null,
      ...over,
    })
    assert.deepEqual(result, { ok: true })
    await within(Promise.race([started, outcome]), `start of ${taskId}`)
    return { outcome: within(outcome, `outcome of ${taskId}`) }
  }

  async run(taskId: string, over: Partial<LaunchRequest>): Promise<TaskOutcome> {
    return await (
      await this.launch(taskId, over)
    ).outcome
  }

  output(taskId: string, stream: 'stdout' | 'stderr' = 'stdout'): string {
    return readFileSync(join(this.dataDir, 'tasks', taskId, '1', `${stream}.log`), 'utf8')
  }
}

describe('task isolation on a root executor (cgroup v1)', function () {
  this.timeout(60_000)
  before(function () {
    const why = whyNoCgroupV1()
    if (why !== null) {
      console.log(`      SKIPPED: ${why}; CI runs these as root with cgroup v1 memory and pids`)
      this.skip()
    }
  })

  const nobody = (): ReturnType<typeof resolveTaskUser> => resolveTaskUser('nobody')
  let cgroupNames: string[] = []
  /** Each executor's node cgroup has a name of its own: a stopped one's launcher removes its own as it exits. */
  let made = 0
  let dirs: string[] = []
  let executors: Executor[] = []

  async function sandboxed(spawner: SpawnerKind, over: Partial<ExecutorOptions> = {}): Promise<Sandboxed> {
    const dataDir = await mkdtemp(join(tmpdir(), 'meshos-isolation-'))
    // mkdtemp makes it 0700; the task user must pass through to its work dir.
    await chmod(dataDir, 0o711)
    dirs.push(dataDir)
    const name = `test-${process.pid}-${++made}`
    cgroupNames.push(name)
    const cgroups = setUpNodeCgroups(name)
    assert.ok(cgroups.ok, cgroups.ok ? '' : cgroups.reason)
    const s = new Sandboxed(dataDir, { user: nobody(), cgroups: cgroups.setup }, { spawner, ...over })
    executors.push(s.executor)
    return s
  }

  afterEach(async function () {
    for (const executor of executors.splice(0)) await executor.stop()
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
    for (const name of cgroupNames.splice(0)) await removeTestCgroups(name)
  })

  after(async function () {
    executors = []
    dirs = []
    cgroupNames = []
  })

  for (const spawner of ['launcher', 'child_process'] as SpawnerKind[])
    describe(`spawner: ${spawner}`, function () {
      before(function () {
        if (spawner === 'launcher' && !launcherAvailable()) {
          console.log(`      SKIPPED: meshos-launcher is not built at ${LAUNCHER_PATH}`)
          this.skip()
        }
      })

      it('runs the task as the task user, with no supplementary groups, in a work dir of its own', async function () {
        const s = await sandboxed(spawner)
        const outcome = await s.run('who', { command: 'id -u; id -g; id -G' })
        assert.equal(outcome.reason, 'exited', outcome.message)
        const user = nobody()
        assert.equal(s.output('who'), `${user.uid}\n${user.gid}\n${user.gid}\n`)
        const workDir = statSync(join(s.dataDir, 'tasks', 'who', '1'))
        assert.equal(workDir.uid, user.uid)
        assert.equal(workDir.mode & 0o777, 0o700)
        assert.equal(statSync(join(s.dataDir, 'tasks', 'who')).mode & 0o777, 0o711)
      })

      it("cannot read the agent's files beside its work dir", async function () {
        const s = await sandboxed(spawner)
        writeFileSync(join(s.dataDir, 'peer-key'), 'secret', { mode: 0o600 })
        const outcome = await s.run('key', { command: `cat ${join(s.dataDir, 'peer-key')}` })
        assert.equal(outcome.reason, 'exited')
        assert.notEqual(outcome.exitCode, 0)
        assert.match(s.output('key', 'stderr'), /Permission denied/)
        const listing = await s.run('list', { command: `ls ${join(s.dataDir, 'tasks')}` })
        assert.notEqual(listing.exitCode, 0, 'the tasks dir cannot be listed')
      })

      it('a cancel kills what left the process group with setsid', async function () {
        const s = await sandboxed(spawner)
        const seconds = uniqueSleep()
        const { outcome } = await s.launch('escape', { command: `setsid sleep ${seconds} & sleep ${seconds}` })
        await eventually(() => sleeping(seconds).length === 2, 'both sleeps to run')
        const escaped = sleeping(seconds)
        assert.equal(s.executor.cancel('escape'), true)
        assert.equal((await outcome).reason, 'cancelled')
        await eventually(() => escaped.every(processDead), 'the escaped sleep to die')
      })

      it('the escaped process dies when its main process exits, too', async function () {
        const s = await sandboxed(spawner)
        const seconds = uniqueSleep()
        const outcome = await s.run('leftover', { command: `setsid sleep ${seconds} > /dev/null 2>&1 & exit 3` })
        assert.equal(outcome.exitCode, 3)
        await eventually(() => sleeping(seconds).length === 0, 'the escaped sleep to die')
      })

      it('the kernel enforces the memory limit, reported as memory', async function () {
        const s = await sandboxed(spawner, { memoryPollMs: 3_600_000 })
        const outcome = await s.run('hog', { command: 'dd if=/dev/zero of=/dev/null bs=200M count=1', memoryMb: 32 })
        assert.equal(outcome.reason, 'memory', outcome.message)
        assert.match(outcome.message, /the kernel killed .* at its 32 MiB memory limit/)
      })

      it('pids.max bounds a fork bomb, and the task still ends on time', async function () {
        const s = await sandboxed(spawner, { pidsMax: 16 })
        const started = Date.now()
        // The main shell forks once, while the cgroup is empty, then becomes the sleep (no fork).
        const outcome = await s.run('bomb', {
          command: 'bomb() { bomb | bomb & }; bomb; exec sleep 30',
          timeoutMs: 2000,
        })
        assert.equal(outcome.reason, 'timeout')
        assert.ok(Date.now() - started < 10_000, `ended after ${Date.now() - started} ms`)
        assert.match(s.output('bomb', 'stderr'), /fork/i, 'forks past pids.max failed')
      })

      it('a work dir past its bound ends the task with reason disk', async function () {
        const s = await sandboxed(spawner, { maxWorkDirBytes: 1 * MIB })
        const outcome = await s.run('fill', {
          command: 'head -c 700000 /dev/zero > a; head -c 700000 /dev/zero > b; sleep 30',
          timeoutMs: 15_000,
        })
        assert.equal(outcome.reason, 'disk', outcome.message)
        assert.match(outcome.message, /work dir holds 1\.\d MiB, over its 1 MiB bound/)
      })

      it('a file past the size limit ends the task with reason disk', async function () {
        const s = await sandboxed(spawner, { maxWorkDirBytes: 1 * MIB })
        const outcome = await s.run('big', { command: 'exec head -c 5000000 /dev/zero > big' })
        assert.equal(outcome.reason, 'disk', outcome.message)
        assert.equal(outcome.signal, 'SIGXFSZ')
        assert.equal(statSync(join(s.dataDir, 'tasks', 'big', '1', 'big')).size, 1 * MIB)
      })

      it("removes the attempt's cgroup when it ends, and leftovers of an earlier run at start", async function () {
        const s = await sandboxed(spawner)
        const [memoryDir] = nodeCgroupDirsOf(cgroupNames.at(-1)!)
        assert.ok(memoryDir !== undefined)
        const { outcome } = await s.launch('gone', { command: 'sleep 30' })
        const cgroup = attemptCgroupName('gone', 1)
        assert.ok(readdirSync(memoryDir).includes(cgroup), 'the attempt runs in its own cgroup')
        s.executor.cancel('gone')
        await outcome
        await eventually(
          () => nodeCgroupDirsOf(cgroupNames.at(-1)!).every(dir => !readdirSync(dir).includes(cgroup)),
          'its cgroup to go',
        )

        // An earlier run's attempt cgroup, with a process in it.
        const seconds = uniqueSleep()
        const { outcome: orphanOutcome } = await s.launch('orphan', {
          command: `setsid sleep ${seconds} & sleep ${seconds}`,
        })
        await eventually(() => sleeping(seconds).length === 2, 'both sleeps to run')
        const orphans = sleeping(seconds)
        await s.executor.killOrphans()
        await eventually(() => orphans.every(processDead), 'the leftovers to die')
        assert.ok(!readdirSync(memoryDir).includes(attemptCgroupName('orphan', 1)))
        assert.notEqual((await orphanOutcome).reason, 'exited')
      })
    })

  it('a launcher whose executor is gone kills what escaped its tasks and removes the cgroups', async function () {
    if (!launcherAvailable()) this.skip()
    const dataDir = await mkdtemp(join(tmpdir(), 'meshos-isolation-'))
    await chmod(dataDir, 0o711)
    dirs.push(dataDir)
    const name = `test-${process.pid}-launcher`
    cgroupNames.push(name)
    const cgroups = setUpNodeCgroups(name)
    assert.ok(cgroups.ok && cgroups.setup.version === 'v1')
    const nodeDirs = Object.values(cgroups.setup.nodeDirs).filter((d): d is string => d !== null)
    const attemptDirs = nodeDirs.map(dir => join(dir, 'a@1'))
    for (const dir of attemptDirs) mkdirSync(dir)
    const launcher = new LauncherSpawner(LAUNCHER_PATH, SILENT, () => {}, nodeDirs)
    const seconds = uniqueSleep()
    const spawned = new Promise<void>((resolve, reject) =>
      launcher.spawn(
        {
          file: '/bin/sh',
          args: ['-c', `setsid sleep ${seconds} & sleep ${seconds}`],
          cwd: join(dataDir, 'a', '1'),
          env: { PATH: '/usr/bin:/bin' },
          log: { stdout: join(dataDir, 'out'), stderr: join(dataDir, 'err') },
          truncatedMarker: { stdout: join(dataDir, 'out.cut'), stderr: join(dataDir, 'err.cut') },
          maxLogBytes: 1024,
          user: { uid: nobody().uid, gid: nobody().gid },
          cgroupProcs: attemptDirs.map(dir => join(dir, 'cgroup.procs')),
          maxFileBytes: MIB,
        },
        {
          onSpawned: () => resolve(),
          onStartTime() {},
          onSpawnFailed: message => reject(new Error(message)),
          onExited() {},
          onOutputClosed() {},
        },
      ),
    )
    await spawned
    await eventually(() => sleeping(seconds).length === 2, 'both sleeps to run')
    const sleeps = sleeping(seconds)
    launcher.close()
    await eventually(() => sleeps.every(processDead), 'every sleep to die')
    await eventually(() => nodeCgroupDirsOf(name).length === 0, "the node's cgroups to go")
  })
})
