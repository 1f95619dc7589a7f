// The spawn floors: this process spawning /bin/true itself, with Node's child_process (the issue's
// floor) and through meshos-launcher (posix_spawn, what the meshos executor uses; its log files
// are written to a temp dir as the executor's are). No queue, so this is the cost of the spawn.
import { spawn } from 'node:child_process'
import { TempDirs } from '../../harness/temp-dirs.js'
import { LauncherSpawner } from '../../src/executor/spawn/launcher-spawner.js'
import { LAUNCHER_PATH } from '../../src/executor/spawn/spawner.js'
import type { Log } from '../lib/log.js'
import { summarize } from '../lib/stats.js'
import { paced } from './open-loop.js'
import { THROUGHPUT_TIMEOUT_MS, type TasksPlan } from './plan.js'
import { LAUNCHER_FLOOR, SPAWN_FLOOR, type TasksSystemResult } from './results.js'

/** Spawns /bin/true; resolves with ms from the call to the 'spawn' event once it exited 0. */
async function spawnTrue(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const t = performance.now()
    let spawnMs = NaN
    const child = spawn('/bin/true', [], { stdio: 'ignore' })
    child.once('spawn', () => {
      spawnMs = performance.now() - t
    })
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(spawnMs)
      else reject(new Error(`/bin/true exited with ${code ?? signal}`))
    })
  })
}

/** The same spawn through meshos-launcher: request → its SPAWNED event, once the task exited 0. */
function launcherSpawnTrue(launcher: LauncherSpawner, logDir: string): () => Promise<number> {
  let n = 0
  return async () =>
    await new Promise((resolve, reject) => {
      const i = n++ % 64
      const t = performance.now()
      let spawnMs = NaN
      let code: number | null = null
      let exited = false
      let closed = false
      const done = (): void => {
        if (!exited || !closed) return
        if (code === 0) resolve(spawnMs)
        else reject(new Error(`/bin/true exited with ${code}`))
      }
      launcher.spawn(
        {
          file: '/bin/true',
          args: [],
          cwd: logDir,
          env: { PATH: '/usr/bin:/bin' },
          log: { stdout: `${logDir}/${i}.out`, stderr: `${logDir}/${i}.err` },
          truncatedMarker: { stdout: `${logDir}/${i}.out.cut`, stderr: `${logDir}/${i}.err.cut` },
          maxLogBytes: 1 << 20,
        },
        {
          onSpawned: () => {
            spawnMs = performance.now() - t
          },
          onStartTime: () => {},
          onSpawnFailed: message => reject(new Error(message)),
          onExited: c => {
            code = c
            exited = true
            done()
          },
          onOutputClosed: () => {
            closed = true
            done()
          },
        },
      )
    })
}

async function benchSpawnFloor(
  plan: TasksPlan,
  log: Log,
  system: string,
  latencyMeasures: string,
  spawnOne: () => Promise<number>,
): Promise<TasksSystemResult> {
  log(`  ${system}: this process spawning /bin/true directly (${latencyMeasures})`)
  await paced(plan.warmupTasks, plan.intervalMs, spawnOne)
  const light = await paced(plan.lightLatencyTasks, plan.lightIntervalMs, spawnOne)
  const lat = await paced(plan.latencyTasks, plan.intervalMs, spawnOne)
  const total = plan.throughputTasks
  const start = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: plan.spawnInFlight }, async () => {
      while (next < total) {
        next++
        await spawnOne()
        if (performance.now() - start > THROUGHPUT_TIMEOUT_MS)
          throw new Error(`${system}: ${total} spawns took over ${THROUGHPUT_TIMEOUT_MS / 1000} s`)
      }
    }),
  )
  const elapsedMs = performance.now() - start
  log(`    ${plan.latencyTasks} paced and ${total} back-to-back spawns (${plan.spawnInFlight} in flight) done`)
  return {
    system,
    latencyMeasures,
    startLatencyMs: summarize(lat.values),
    lightStartLatencyMs: summarize(light.values),
    acceptLatencyMs: null,
    throughput: { tasks: total, submitMs: elapsedMs, elapsedMs, tasksPerSecond: total / (elapsedMs / 1000) },
    rssMiB: null,
    cpuMsPerTask: null,
    heldTasks: null,
    notes: [`${plan.spawnInFlight} in flight`],
  }
}

export async function benchNodeSpawnFloor(plan: TasksPlan, log: Log): Promise<TasksSystemResult> {
  return await benchSpawnFloor(plan, log, SPAWN_FLOOR, "child_process.spawn() call → 'spawn' event", spawnTrue)
}

/** Needs meshos-launcher built at LAUNCHER_PATH (launcherAvailable()). */
export async function benchLauncherFloor(plan: TasksPlan, log: Log): Promise<TasksSystemResult> {
  const dirs = new TempDirs()
  const launcher = new LauncherSpawner(LAUNCHER_PATH, { debug() {}, info() {}, warn() {}, error() {} }, reason =>
    log(`  ${reason}`),
  )
  try {
    return await benchSpawnFloor(
      plan,
      log,
      LAUNCHER_FLOOR,
      'meshos-launcher request → SPAWNED (posix_spawn)',
      launcherSpawnTrue(launcher, await dirs.make('bench-launcher-')),
    )
  } finally {
    launcher.close()
    await dirs.cleanup()
  }
}
