// meshos-launcher on its own terms: what only it can get wrong (its lifetime, its protocol, many
// tasks through one poll loop). Its behaviour as a spawner is covered by executor.test.ts, which
// runs every case against both spawners.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Executor } from '../../src/executor/executor.js'
import { DEFAULT_EXECUTOR } from '../../src/executor/config.js'
import { LauncherSpawner } from '../../src/executor/spawn/launcher-spawner.js'
import { launcherAvailable, LAUNCHER_PATH, type SpawnEvents } from '../../src/executor/spawn/spawner.js'
import type { TaskOutcome } from '../../src/executor/types.js'
import { childrenOf, eventually, processDead } from '../helpers/proc.js'

const SILENT = { debug() {}, info() {}, warn() {}, error() {} }

/** Our own children named meshos-launcher (the launcher's comm is its file name). */
function launcherChildren(): number[] {
  return childrenOf(process.pid)
    .filter(child => child.comm === 'meshos-launcher')
    .map(child => child.pid)
}

/** Starts a launcher of its own, writes `frame`, and returns how it exited and what it said. */
async function feedRawLauncher(frame: Buffer): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(LAUNCHER_PATH, [], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const code = await new Promise<number | null>(resolve => {
    // 'close', not 'exit': stderr is read to its end by then.
    child.once('close', c => resolve(c))
    child.stdin.write(frame)
  })
  return { code, stderr }
}

function recorder(): { events: SpawnEvents; pid: Promise<number>; startTime: Promise<string | null>; log: string[] } {
  const log: string[] = []
  let resolvePid!: (pid: number) => void
  let resolveStartTime!: (startTime: string | null) => void
  const pid = new Promise<number>(resolve => {
    resolvePid = resolve
  })
  const startTime = new Promise<string | null>(resolve => {
    resolveStartTime = resolve
  })
  return {
    log,
    pid,
    startTime,
    events: {
      onSpawned: p => {
        log.push('spawned')
        resolvePid(p)
      },
      onStartTime: t => {
        log.push('start-time')
        resolveStartTime(t)
      },
      onSpawnFailed: message => {
        log.push(`failed ${message}`)
      },
      onExited: (code, signal) => {
        log.push(`exited ${code} ${signal}`)
      },
      onOutputClosed: () => {
        log.push('closed')
      },
    },
  }
}

describe('meshos-launcher', function () {
  let dir: string
  before(function () {
    if (!launcherAvailable()) {
      console.log(`      SKIPPED: meshos-launcher is not built at ${LAUNCHER_PATH} (no C compiler at npm run build)`)
      this.skip()
    }
  })
  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'meshos-launcher-'))
  })
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true })
  })

  function spec(name: string, args: string[]): Parameters<LauncherSpawner['spawn']>[0] {
    return {
      file: '/bin/sh',
      args,
      cwd: dir,
      env: { PATH: '/usr/bin:/bin' },
      log: { stdout: join(dir, `${name}.out`), stderr: join(dir, `${name}.err`) },
      truncatedMarker: { stdout: join(dir, `${name}.out.cut`), stderr: join(dir, `${name}.err.cut`) },
      maxLogBytes: 1 << 20,
    }
  }

  it('kills every task group still running when its executor goes away, then exits', async function () {
    const died: string[] = []
    const before = new Set(launcherChildren())
    const launcher = new LauncherSpawner(LAUNCHER_PATH, SILENT, reason => died.push(reason))
    const mine = launcherChildren().filter(p => !before.has(p))
    assert.equal(mine.length, 1)
    const task = recorder()
    launcher.spawn(spec('sleeper', ['-c', 'sleep 30 & sleep 30']), task.events)
    const pid = await task.pid
    assert.ok(!processDead(pid))
    launcher.close()
    await eventually(() => processDead(pid), 'the task group to be killed')
    await eventually(() => processDead(mine[0]), 'the launcher to exit')
    assert.deepEqual(died, [], 'a requested close is not a death')
  })

  it('ignores the SIGINT, SIGTERM and SIGHUP a terminal sends to the whole process group, so its agent can still stop gracefully', async function () {
    const died: string[] = []
    const before = new Set(launcherChildren())
    const launcher = new LauncherSpawner(LAUNCHER_PATH, SILENT, reason => died.push(reason))
    try {
      const mine = launcherChildren().filter(p => !before.has(p))
      assert.equal(mine.length, 1)
      // A first task, so that the launcher is past its start-up and has set its signal dispositions.
      const first = recorder()
      launcher.spawn(spec('first', ['-c', 'true']), first.events)
      await eventually(() => first.log.includes('closed'), 'the first task to finish')
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.kill(mine[0]!, signal)
      const after = recorder()
      launcher.spawn(spec('after', ['-c', 'echo still here']), after.events)
      await eventually(() => {
        if (died.length > 0) throw new Error(`the launcher died: ${died.join('; ')}`)
        return after.log.includes('closed') && after.log.some(e => e.startsWith('exited'))
      }, 'a task spawned after the signals to finish')
      assert.ok(after.log.includes('exited 0 null'), after.log.join(', '))
      assert.equal(readFileSync(join(dir, 'after.out'), 'utf8'), 'still here\n')
      assert.ok(!processDead(mine[0]!))
      assert.deepEqual(died, [])
    } finally {
      launcher.close()
    }
  })

  it('copies the output of 300 concurrent tasks completely and reports each once', async function () {
    this.timeout(60_000)
    const launcher = new LauncherSpawner(LAUNCHER_PATH, SILENT, () => {})
    try {
      const runs = Array.from({ length: 300 }, (_, i) => {
        const r = recorder()
        // 64 KiB per task on stdout, one line on stderr: several reads per pipe, interleaved.
        launcher.spawn(
          spec(`t${i}`, ['-c', `head -c 65536 /dev/zero | tr '\\0' a; echo err${i} >&2; exit ${i % 7}`]),
          r.events,
        )
        return r
      })
      await eventually(
        () => runs.every(r => r.log.includes('closed') && r.log.some(e => e.startsWith('exited'))),
        'all 300 tasks to finish',
      )
      runs.forEach((r, i) => {
        assert.equal(r.log[0], 'spawned')
        // START_TIME comes only for a task that outlived the delay: some of these do.
        const log = r.log.filter(event => event !== 'start-time')
        assert.equal(log.length, 3, r.log.join(', '))
        assert.ok(r.log.filter(event => event === 'start-time').length <= 1)
        assert.ok(r.log.includes(`exited ${i % 7} null`), r.log.join(', '))
        assert.equal(readFileSync(join(dir, `t${i}.out`), 'utf8'), 'a'.repeat(65536))
        assert.equal(readFileSync(join(dir, `t${i}.err`), 'utf8'), `err${i}\n`)
      })
    } finally {
      launcher.close()
    }
  })

  it('creates the working directory with its parents, and says so when it cannot', async function () {
    const launcher = new LauncherSpawner(LAUNCHER_PATH, SILENT, () => {})
    try {
      const nested = join(dir, 'tasks', 'x', '1')
      const made = recorder()
      launcher.spawn(
        {
          ...spec('made', ['-c', 'pwd']),
          cwd: nested,
          log: { stdout: join(nested, 'out'), stderr: join(nested, 'err') },
        },
        made.events,
      )
      await eventually(() => made.log.includes('closed'), 'the task to finish')
      assert.equal(readFileSync(join(nested, 'out'), 'utf8'), `${nested}\n`)

      writeFileSync(join(dir, 'file'), '')
      const blocked = recorder()
      launcher.spawn({ ...spec('blocked', ['-c', 'true']), cwd: join(dir, 'file', '1') }, blocked.events)
      await eventually(() => blocked.log.length > 0, 'an answer')
      assert.deepEqual(blocked.log, [`failed cannot prepare ${join(dir, 'file', '1')}: ENOTDIR`])
    } finally {
      launcher.close()
    }
  })

  it('reports the start time /proc gives a task that keeps running, for its pid file', async function () {
    const launcher = new LauncherSpawner(LAUNCHER_PATH, SILENT, () => {})
    try {
      const task = recorder()
      launcher.spawn(spec('long', ['-c', 'sleep 30']), task.events)
      const pid = await task.pid
      const startTime = await task.startTime
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
      assert.equal(startTime, stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
      process.kill(-pid, 'SIGKILL')
    } finally {
      launcher.close()
    }
  })

  it("gives a recycled pid's exit to the new task, not to an exited one still holding its output", async function () {
    if (process.getuid?.() !== 0) {
      console.log(
        '      SKIPPED: needs root to steer pid allocation through /proc/sys/kernel/ns_last_pid (CI runs as root)',
      )
      this.skip()
    }
    const launcher = new LauncherSpawner(LAUNCHER_PATH, SILENT, () => {})
    try {
      // A: exits at once, but a process that left its group keeps A's output pipes open, so the
      // launcher keeps A listed after reaping it.
      const a = recorder()
      launcher.spawn(spec('a', ['-c', 'setsid sleep 3 & echo a']), a.events)
      const aPid = await a.pid
      await eventually(() => a.log.some(e => e.startsWith('exited')), 'A to exit')
      // B gets A's pid: the next pid handed out is ns_last_pid + 1 (other processes may take it
      // first, so try a few times).
      let b: ReturnType<typeof recorder> | null = null
      for (let i = 0; i < 20 && b === null; i++) {
        writeFileSync('/proc/sys/kernel/ns_last_pid', String(aPid - 1))
        const candidate = recorder()
        launcher.spawn(spec(`b${i}`, ['-c', 'sleep 0.3']), candidate.events)
        if ((await candidate.pid) === aPid) b = candidate
        else await eventually(() => candidate.log.some(e => e.startsWith('exited')), 'a missed candidate to exit')
      }
      assert.ok(b !== null, `could not get pid ${aPid} handed out again`)
      await eventually(() => b!.log.some(e => e.startsWith('exited')), 'B, which holds the recycled pid, to exit')
      assert.deepEqual(
        a.log.filter(e => e.startsWith('exited')),
        ['exited 0 null'],
        'A exited once',
      )
      assert.deepEqual(
        b.log.filter(e => e.startsWith('exited')),
        ['exited 0 null'],
      )
    } finally {
      launcher.close()
    }
  })

  it('on a request it cannot parse, says so, kills its task groups and exits with status 2', async function () {
    const cases: Array<{ frame: Buffer; message: RegExp }> = []
    const unknownType = Buffer.alloc(12)
    unknownType.writeUInt32LE(8, 0)
    unknownType.writeUInt32LE(99, 4) // no such request type
    cases.push({ frame: unknownType, message: /unknown request type 99/ })
    const spawnWithoutStrings = Buffer.alloc(20)
    spawnWithoutStrings.writeUInt32LE(16, 0)
    spawnWithoutStrings.writeUInt32LE(1, 4) // SPAWN
    spawnWithoutStrings.writeUInt32LE(7, 8) // id
    cases.push({ frame: spawnWithoutStrings, message: /malformed spawn request 7/ })

    for (const { frame, message } of cases) {
      const { code, stderr } = await feedRawLauncher(frame)
      assert.equal(code, 2)
      assert.match(stderr, message)
    }

    // With a task running: the task group dies with the launcher.
    let resolveDied!: (reason: string) => void
    const died = new Promise<string>(resolve => {
      resolveDied = resolve
    })
    const launcher = new LauncherSpawner(LAUNCHER_PATH, SILENT, resolveDied)
    const task = recorder()
    launcher.spawn(spec('victim', ['-c', 'sleep 30']), task.events)
    const pid = await task.pid
    // The executor never sends such a frame; write it past the client, as a bug would.
    ;(launcher as unknown as { child: ChildProcess }).child.stdin?.write(spawnWithoutStrings)
    assert.match(await died, /meshos-launcher exited \(code 2, signal null\)/)
    await eventually(() => processDead(pid), 'the task group to be killed')
  })

  it('tells the executor when it dies, so the agent can stop instead of losing track of tasks', async function () {
    let resolveDied!: (reason: string) => void
    const died = new Promise<string>(resolve => {
      resolveDied = resolve
    })
    const outcomes: TaskOutcome[] = []
    const before = new Set(launcherChildren())
    const executor = new Executor({
      dataDir: dir,
      capacity: { cpus: 4, memoryMb: 4096 },
      ...DEFAULT_EXECUTOR,
      spawner: 'launcher',
      killGraceMs: 200,
      onSpawnerDied: resolveDied,
    })
    executor.listen({ onStarted: () => {}, onFinished: outcome => outcomes.push(outcome) })
    try {
      const mine = launcherChildren().filter(pid => !before.has(pid))
      assert.equal(mine.length, 1, 'one launcher per executor')
      process.kill(mine[0], 'SIGKILL')
      assert.match(await died, /meshos-launcher exited \(code null, signal SIGKILL\)/)
    } finally {
      await executor.stop()
    }
    assert.deepEqual(outcomes, [])
  })

  it('reports its death only after every SPAWNED it sent, so each task it started can be killed', async function () {
    const events: string[] = []
    const launcher = new LauncherSpawner(LAUNCHER_PATH, SILENT, () => events.push('died'))
    const child = (launcher as unknown as { child: ChildProcess }).child
    const task = recorder()
    let taskPid: number | undefined
    try {
      launcher.spawn(spec('spawned', ['-c', 'sleep 30']), {
        ...task.events,
        onSpawned: (pid, t) => {
          events.push('spawned')
          task.events.onSpawned(pid, t)
        },
      })
      // Stop reading the launcher's events, then let it spawn and die: its SPAWNED is in the pipe,
      // unread, when its exit becomes known (Node resumes the pipe only after telling the exit).
      child.stdout?.pause()
      await eventually(() => {
        taskPid = childrenOf(child.pid!)[0]?.pid
        return taskPid !== undefined
      }, 'the task process to appear')
      process.kill(child.pid!, 'SIGKILL')
      await eventually(() => events.length === 2, "the task's spawn and the launcher's death to be reported")
      assert.deepEqual(events, ['spawned', 'died'])
    } finally {
      if (taskPid !== undefined) process.kill(-taskPid, 'SIGKILL')
      launcher.close()
    }
  })
})
