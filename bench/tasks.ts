// Tasks benchmark: meshos on 3 local nodes next to BullMQ + Redis and the machine's raw spawn
// floor, in the same run. Every task is `/bin/true` (argv, no shell), so the figures are the
// systems' own overhead around the cheapest possible process.
//  - submit→start latency: 1,000 tasks submitted open-loop at 100/s (one every 10 ms whatever
//    the completions), one per request. meshos: HTTP POST on a follower; latency = the task's
//    startedAt (set by the worker when the process spawned) − the client's clock just before the
//    POST (performance.timeOrigin + performance.now()). BullMQ: queue.add → the worker's 'spawn'
//    event time, reported back as the job's return value. Spawn floor: spawn() → 'spawn' event.
//    Same machine, so one clock; 20 untimed warm-up tasks go first.
//  - throughput: 5,000 tasks submitted as fast as the system accepts them, in batches of 100
//    with 4 batches in flight (meshos: POST of an array on the follower; BullMQ: addBulk),
//    timed from the first submit to the moment a poll (every 20 ms) sees all 5,000 succeeded.
//    Spawn floor: this process spawning /bin/true itself, 8 in flight, 5,000 times, with Node's
//    child_process (the floor) and again through meshos-launcher (posix_spawn, what the
//    meshos executor uses; its log files are written to a temp dir as the executor's are).
//  - memory: the meshos cluster is topped up to 10,000 finished tasks, then the RSS of the leader
//    and of a follower is read; for BullMQ, redis-server's and one worker's RSS holding the jobs of
//    the runs above (not topped up, to keep the run short).
// meshos tasks ask for cpus 0.01 and memoryMb 16 (above /bin/true's own ~1 MiB RSS, which the
// memory limit polls) so node capacity never limits throughput; BullMQ
// runs 3 worker processes with concurrencies 3+3+2, i.e. 8 jobs in flight like the floor.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { Queue } from 'bullmq'
import { AgentProcess } from '../harness/agent-process.js'
import { freePort } from '../harness/free-port.js'
import { TempDirs } from '../harness/temp-dirs.js'
import { waitFor } from '../harness/wait-for.js'
import { LauncherSpawner } from '../src/executor/spawn/launcher-spawner.js'
import { LAUNCHER_PATH, launcherAvailable } from '../src/executor/spawn/spawner.js'
import { summarize, type Summary } from './lib/stats.js'
import { cpuSeconds, descendants, rssMiB } from './lib/proc.js'
import { JsonHttp } from './lib/http.js'

export type TasksSystem = 'meshos' | 'bullmq' | 'spawn' | 'launcher'
export const TASKS_SYSTEMS: readonly TasksSystem[] = ['meshos', 'bullmq', 'spawn', 'launcher']

export interface TasksPlan {
  latencyTasks: number
  intervalMs: number
  /** A second, light load (10/s): the pipeline's own latency when it is not queueing. */
  lightLatencyTasks: number
  lightIntervalMs: number
  warmupTasks: number
  throughputTasks: number
  batchSize: number
  batchesInFlight: number
  spawnInFlight: number
  heldTasks: number
  bullmqWorkerConcurrency: number[]
}

/** The plan; `scale` shrinks the counts for a quick try (BENCH_TASKS_SCALE). */
export function tasksPlan (scale = 1): TasksPlan {
  const n = (v: number): number => Math.max(10, Math.round(v * scale))
  return {
    latencyTasks: n(1000),
    intervalMs: 10,
    lightLatencyTasks: n(200),
    lightIntervalMs: 100,
    warmupTasks: 20,
    throughputTasks: n(5000),
    batchSize: 100,
    batchesInFlight: 4,
    spawnInFlight: 8,
    heldTasks: n(10_000),
    bullmqWorkerConcurrency: [3, 3, 2]
  }
}

export interface ThroughputResult {
  tasks: number
  /** First submit → last submission accepted. */
  submitMs: number
  /** First submit → every task seen succeeded. */
  elapsedMs: number
  tasksPerSecond: number
}

export interface TasksSystemResult {
  system: string
  /** What startLatencyMs measures, in words. */
  latencyMeasures: string
  startLatencyMs: Summary
  /** The same at lightIntervalMs (10/s). */
  lightStartLatencyMs: Summary
  /** Submit → the system acknowledged the submission (201 / add() resolved). */
  acceptLatencyMs: Summary | null
  throughput: ThroughputResult
  /** RSS per process holding `heldTasks` finished tasks. */
  rssMiB: Record<string, number> | null
  /** CPU (user + system) of the system's own processes per task, over each run from its first
   * submission until all its tasks finished (the bench's status polling included; the task
   * processes themselves not). Null for the spawn floors. */
  cpuMsPerTask: { light: number, paced: number, throughput: number, processes: string } | null
  heldTasks: number | null
  notes: string[]
}

export interface TasksBenchResult {
  plan: TasksPlan
  results: TasksSystemResult[]
  skipped: string[]
}

type Log = (line: string) => void

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
async function mapLimit<T, R> (items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }))
  return out
}

/** Open loop: call `submit` every `intervalMs` (absolute schedule, never waiting for answers).
 * Returns each call's result, its send time (epoch ms) and how long it took to resolve. */
async function paced<T> (n: number, intervalMs: number, submit: () => Promise<T>): Promise<{ values: T[], sentAt: number[], resolveMs: number[] }> {
  const values: T[] = new Array(n)
  const sentAt: number[] = new Array(n)
  const resolveMs: number[] = new Array(n)
  const inFlight: Array<Promise<void>> = []
  let failure: unknown = null
  const t0 = performance.now()
  const deadline = t0 + n * intervalMs + 30_000
  for (let i = 0; i < n && failure == null; i++) {
    const wait = t0 + i * intervalMs - performance.now()
    // Behind schedule: still yield, so earlier submissions get sent and answered (an open loop
    // must not turn into a synchronous burst that delays its own requests).
    if (wait > 0) await sleep(wait)
    else await new Promise(resolve => setImmediate(resolve))
    if (performance.now() > deadline) throw new Error(`paced submission overran its time bound at ${i} of ${n}`)
    const sendPerf = performance.now()
    sentAt[i] = performance.timeOrigin + sendPerf
    inFlight.push(submit().then(v => {
      values[i] = v
      resolveMs[i] = performance.now() - sendPerf
    }, err => { failure ??= err }))
  }
  await Promise.all(inFlight)
  if (failure != null) throw failure
  return { values, sentAt, resolveMs }
}

/** A task system as the benchmark drives it. */
interface TaskQueue {
  /** Submits one task; resolves with its id once the system has accepted it. */
  submit: () => Promise<string>
  /** Submits `n` tasks in one request; resolves once all are accepted. */
  submitBatch: (n: number) => Promise<void>
  finished: () => Promise<{ succeeded: number, failed: number }>
  /** Why some task failed, for the error message. */
  failureDetail: () => Promise<string>
  /** Epoch ms at which each task's process spawned. */
  startedAt: (ids: string[]) => Promise<number[]>
  rss: () => Promise<Record<string, number>>
  /** CPU seconds used so far by the system's own processes (named in `processes`). */
  cpuSeconds: () => Promise<number>
  processes: string
}

/** CPU seconds of `pids` together; a pid that has exited reads as 0. */
async function totalCpuSeconds (pids: number[]): Promise<number> {
  const each = await Promise.all(pids.map(async pid => await cpuSeconds(pid).catch(() => 0)))
  return each.reduce((a, b) => a + b, 0)
}

async function waitFinished (q: TaskQueue, succeeded: number, failedBefore: number, timeoutMs: number, intervalMs = 20): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const f = await q.finished()
    if (f.failed > failedBefore) throw new Error(`${f.failed - failedBefore} tasks failed (${await q.failureDetail().catch(e => (e as Error).message)})`)
    if (f.succeeded >= succeeded) return
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${f.succeeded} of ${succeeded} tasks succeeded`)
    await sleep(intervalMs)
  }
}

/** Submits `total` tasks in batches of `batch`, `inFlight` batches at a time. */
async function submitAll (q: TaskQueue, total: number, batch: number, inFlight: number): Promise<void> {
  let next = 0
  let failed = false
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < total && !failed) {
      const k = Math.min(batch, total - next)
      next += k
      try {
        await q.submitBatch(k)
      } catch (err) {
        failed = true
        throw err
      }
    }
  }))
}

async function measureLatency (q: TaskQueue, plan: TasksPlan, tasks = plan.latencyTasks, intervalMs = plan.intervalMs): Promise<{ start: Summary, accept: Summary, cpuMsPerTask: number }> {
  const before = await q.finished()
  const warm = await paced(plan.warmupTasks, intervalMs, q.submit)
  await waitFinished(q, before.succeeded + warm.values.length, before.failed, 30_000, 50)
  const cpuBefore = await q.cpuSeconds()
  const run = await paced(tasks, intervalMs, q.submit)
  await waitFinished(q, before.succeeded + warm.values.length + tasks, before.failed, THROUGHPUT_TIMEOUT_MS, 50)
  const cpuMsPerTask = (await q.cpuSeconds() - cpuBefore) * 1000 / tasks
  const started = await q.startedAt(run.values)
  const latency = started.map((s, i) => s - run.sentAt[i]!)
  if (latency.some(l => !Number.isFinite(l))) throw new Error('some tasks have no startedAt')
  return { start: summarize(latency), accept: summarize(run.resolveMs), cpuMsPerTask }
}

/** Bounds one throughput or top-up run. Process creation on a small VM can be ~100/s, so
 * 5,000 tasks may take a minute; this only stops a run that is stuck. */
const THROUGHPUT_TIMEOUT_MS = 300_000

async function measureThroughput (q: TaskQueue, plan: TasksPlan): Promise<ThroughputResult & { cpuMsPerTask: number }> {
  const before = await q.finished()
  const cpuBefore = await q.cpuSeconds()
  const start = performance.now()
  await submitAll(q, plan.throughputTasks, plan.batchSize, plan.batchesInFlight)
  const submitMs = performance.now() - start
  await waitFinished(q, before.succeeded + plan.throughputTasks, before.failed, THROUGHPUT_TIMEOUT_MS)
  const elapsedMs = performance.now() - start
  const cpuMsPerTask = (await q.cpuSeconds() - cpuBefore) * 1000 / plan.throughputTasks
  return { tasks: plan.throughputTasks, submitMs, elapsedMs, tasksPerSecond: plan.throughputTasks / (elapsedMs / 1000), cpuMsPerTask }
}

/** Tops the system up to `target` finished tasks (null: as it is), then reads RSS. */
async function measureHeld (q: TaskQueue, target: number | null): Promise<{ held: number, rss: Record<string, number> }> {
  const before = await q.finished()
  const need = target == null ? 0 : target - before.succeeded - before.failed
  if (need > 0) {
    await submitAll(q, need, 1000, 2)
    await waitFinished(q, before.succeeded + need, before.failed, THROUGHPUT_TIMEOUT_MS, 50)
  }
  // Let the last completions' bookkeeping settle; no forced GC, so this is what a user would see.
  await sleep(2000)
  const after = await q.finished()
  return { held: after.succeeded + after.failed, rss: await q.rss() }
}

async function measureQueue (system: string, latencyMeasures: string, q: TaskQueue, plan: TasksPlan, holdTarget: number | null, log: Log, notes: string[]): Promise<TasksSystemResult> {
  const light = await measureLatency(q, plan, plan.lightLatencyTasks, plan.lightIntervalMs)
  log(`    latency: ${plan.lightLatencyTasks} tasks at ${1000 / plan.lightIntervalMs}/s done`)
  const lat = await measureLatency(q, plan)
  log(`    latency: ${plan.latencyTasks} tasks at ${1000 / plan.intervalMs}/s done`)
  const { cpuMsPerTask: throughputCpuMs, ...throughput } = await measureThroughput(q, plan)
  log(`    throughput: ${plan.throughputTasks} tasks in ${throughput.elapsedMs.toFixed(0)} ms`)
  const held = await measureHeld(q, holdTarget)
  log(`    holding ${held.held} finished tasks`)
  const cpuMsPerTask = { light: light.cpuMsPerTask, paced: lat.cpuMsPerTask, throughput: throughputCpuMs, processes: q.processes }
  return { system, latencyMeasures, startLatencyMs: lat.start, lightStartLatencyMs: light.start, acceptLatencyMs: lat.accept, throughput, rssMiB: held.rss, cpuMsPerTask, heldTasks: held.held, notes }
}

// ---------------------------------------------------------------- spawn floor

export const SPAWN_FLOOR = 'spawn floor'
export const LAUNCHER_FLOOR = 'posix_spawn floor'

/** Spawns /bin/true; resolves with ms from the call to the 'spawn' event once it exited 0. */
async function spawnTrue (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const t = performance.now()
    let spawnMs = NaN
    const child = spawn('/bin/true', [], { stdio: 'ignore' })
    child.once('spawn', () => { spawnMs = performance.now() - t })
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(spawnMs)
      else reject(new Error(`/bin/true exited with ${code ?? signal}`))
    })
  })
}

/** The same spawn through meshos-launcher: request → its SPAWNED event, once the task exited 0. */
function launcherSpawnTrue (launcher: LauncherSpawner, logDir: string): () => Promise<number> {
  let n = 0
  return async () => await new Promise((resolve, reject) => {
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
    launcher.spawn({
      file: '/bin/true',
      args: [],
      cwd: logDir,
      env: { PATH: '/usr/bin:/bin' },
      log: { stdout: `${logDir}/${i}.out`, stderr: `${logDir}/${i}.err` },
      truncatedMarker: { stdout: `${logDir}/${i}.out.cut`, stderr: `${logDir}/${i}.err.cut` },
      maxLogBytes: 1 << 20
    }, {
      onSpawned: () => { spawnMs = performance.now() - t },
      onStartTime: () => {},
      onSpawnFailed: (message) => reject(new Error(message)),
      onExited: (c) => { code = c; exited = true; done() },
      onOutputClosed: () => { closed = true; done() }
    })
  })
}

async function benchSpawnFloor (plan: TasksPlan, log: Log, system: string, latencyMeasures: string, spawnOne: () => Promise<number>): Promise<TasksSystemResult> {
  log(`  ${system}: this process spawning /bin/true directly (${latencyMeasures})`)
  await paced(plan.warmupTasks, plan.intervalMs, spawnOne)
  const light = await paced(plan.lightLatencyTasks, plan.lightIntervalMs, spawnOne)
  const lat = await paced(plan.latencyTasks, plan.intervalMs, spawnOne)
  const total = plan.throughputTasks
  const start = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: plan.spawnInFlight }, async () => {
    while (next < total) {
      next++
      await spawnOne()
      if (performance.now() - start > THROUGHPUT_TIMEOUT_MS) throw new Error(`${system}: ${total} spawns took over ${THROUGHPUT_TIMEOUT_MS / 1000} s`)
    }
  }))
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
    notes: [`${plan.spawnInFlight} in flight`]
  }
}

// ---------------------------------------------------------------- meshos

/** The node answered 404 to POST /v1/tasks: this build has no task API. */
class TaskApiUnavailable extends Error {}

/** Above the most submissions ever unanswered at 100/s (latency × rate), so none waits for a socket. */
const OPEN_LOOP_MAX_SOCKETS = 1024

const MESHOS_SPEC = { argv: ['/bin/true'], cpus: 0.01, memoryMb: 16 }

interface TaskView { id: string, state: string, startedAt: number | null, reason?: string | null, exitCode?: number | null }
interface TaskList { tasks: TaskView[], next: string | null, total: number }

async function startMeshos (dirs: TempDirs): Promise<AgentProcess[]> {
  // Per-task info logs would cost the agents CPU and fill the harness's log buffer; the
  // environment variable still wins when set.
  const prevLevel = process.env.MESHOS_TEST_LOG_LEVEL
  process.env.MESHOS_TEST_LOG_LEVEL = prevLevel ?? 'warn'
  const agents: AgentProcess[] = []
  try {
    agents.push(await AgentProcess.start({ name: 't1', dataDir: await dirs.make('meshos-tasks-') }))
    for (const name of ['t2', 't3']) {
      agents.push(await AgentProcess.start({ name, dataDir: await dirs.make('meshos-tasks-'), bootstrap: [agents[0]!.addr] }))
    }
    await waitFor('3 meshos nodes agreeing on a leader, with 3 voters', async () => {
      const statuses = await Promise.all(agents.map(async a => await a.client.status()))
      const leaders = new Set(statuses.map(s => s.leader))
      const li = statuses.findIndex(s => s.role === 'leader')
      if (leaders.size !== 1 || statuses.some(s => s.leader == null) || li < 0) return false
      return (await agents[li]!.client.cluster()).voters.length === 3
    }, 60_000, 50)
  } catch (err) {
    await Promise.all(agents.map(async a => { await a.kill() }))
    throw err
  } finally {
    if (prevLevel === undefined) delete process.env.MESHOS_TEST_LOG_LEVEL
  }
  return agents
}

async function leaderIndex (agents: AgentProcess[]): Promise<number> {
  const statuses = await Promise.all(agents.map(async a => await a.client.status()))
  const i = statuses.findIndex(s => s.role === 'leader')
  if (i < 0) throw new Error('no meshos leader')
  return i
}

function meshosQueue (agents: AgentProcess[], leader: number): { q: TaskQueue, close: () => void } {
  const follower = (leader + 1) % agents.length
  // Open loop means a request goes out on schedule however many are unanswered: with a cap of 16
  // connections, a backlog would wait in this client instead (and the node could never see more
  // than 16 submissions at once). BullMQ's client pipelines without a cap on one connection.
  const submitHttp = new JsonHttp(agents[follower]!.client.baseUrl, OPEN_LOOP_MAX_SOCKETS)
  const readHttp = new JsonHttp(agents[leader]!.client.baseUrl)
  const post = async (body: unknown): Promise<unknown> => {
    const res = await submitHttp.request('POST', '/v1/tasks', body)
    if (res.status === 404) throw new TaskApiUnavailable('meshos: task API not available (404)')
    if (res.status < 200 || res.status > 299) throw new Error(`POST /v1/tasks: HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`)
    return res.body
  }
  const get = async <T>(path: string): Promise<T> => {
    const res = await readHttp.request<T>('GET', path)
    if (res.status === 404 && path.startsWith('/v1/tasks?')) throw new TaskApiUnavailable('meshos: task API not available (404)')
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`)
    return res.body
  }
  const count = async (state: string): Promise<number> => (await get<TaskList>(`/v1/tasks?state=${state}&limit=1`)).total
  const q: TaskQueue = {
    submit: async () => (await post(MESHOS_SPEC) as { id: string }).id,
    submitBatch: async n => {
      const body = await post(Array.from({ length: n }, () => MESHOS_SPEC)) as { tasks: unknown[] }
      if (body.tasks?.length !== n) throw new Error(`POST /v1/tasks of ${n} specs answered ${body.tasks?.length} tasks`)
    },
    finished: async () => {
      const [succeeded, failed] = await Promise.all([count('succeeded'), count('failed')])
      return { succeeded, failed }
    },
    failureDetail: async () => {
      const t = (await get<TaskList>('/v1/tasks?state=failed&limit=1')).tasks[0]
      return t == null ? 'none listed' : `e.g. ${t.id}: reason ${t.reason ?? '?'}, exit code ${t.exitCode ?? '?'}`
    },
    startedAt: async ids => await mapLimit(ids, 8, async id => (await get<TaskView>(`/v1/tasks/${encodeURIComponent(id)}`)).startedAt ?? NaN),
    rss: async () => {
      const l = await leaderIndex(agents)
      return { leader: await rssMiB(agents[l]!.pid), follower: await rssMiB(agents[(l + 1) % agents.length]!.pid) }
    },
    cpuSeconds: async () => await totalCpuSeconds(await meshosPids(agents)),
    processes: '3 agents and their launchers'
  }
  return { q, close: () => { submitHttp.close(); readHttp.close() } }
}

/** The agents and what they keep running (launchers, or executor processes without one), not the
 * tasks. Found again at each reading; a helper replaced between two readings would skew that
 * delta (none is replaced in a healthy run). */
async function meshosPids (agents: AgentProcess[]): Promise<number[]> {
  const helpers = await Promise.all(agents.map(async a => await descendants(a.pid, ['node', 'meshos-launcher'])))
  return [...agents.map(a => a.pid), ...helpers.flat()]
}

async function benchMeshos (plan: TasksPlan, log: Log): Promise<TasksSystemResult> {
  const dirs = new TempDirs()
  const agents = await startMeshos(dirs)
  try {
    const leader = await leaderIndex(agents)
    log(`  meshos: 3 agent processes on 127.0.0.1; submitting to follower ${agents[(leader + 1) % 3]!.opts.name}, counting on leader ${agents[leader]!.opts.name}`)
    const idle = { leader: await rssMiB(agents[leader]!.pid), follower: await rssMiB(agents[(leader + 1) % 3]!.pid) }
    const { q, close } = meshosQueue(agents, leader)
    try {
      return await measureQueue('meshos', 'POST on a follower → task startedAt', q, plan, plan.heldTasks, log, [
        `tasks ${JSON.stringify(MESHOS_SPEC)}: capacity never limits`,
        `RSS before any task: leader ${idle.leader.toFixed(1)} MiB, follower ${idle.follower.toFixed(1)} MiB`
      ])
    } finally {
      close()
    }
  } finally {
    await Promise.all(agents.map(async a => { await a.kill() }))
    await dirs.cleanup()
  }
}

// ---------------------------------------------------------------- BullMQ + Redis

const WORKER_SCRIPT = fileURLToPath(new URL('./baseline/bullmq-worker.js', import.meta.url))
const REDIS_BIN = process.env.REDIS_SERVER ?? 'redis-server'
const QUEUE = 'bench-tasks'

/** Children of this benchmark; killed by pid when it ends, however it ends. */
const children = new Set<ChildProcess>()
process.once('exit', () => { for (const c of children) if (c.pid != null) try { process.kill(c.pid, 'SIGKILL') } catch {} })

async function killChild (c: ChildProcess): Promise<void> {
  if (c.exitCode === null && c.signalCode === null && c.pid != null) {
    const exited = new Promise(resolve => c.once('exit', resolve))
    try { process.kill(c.pid, 'SIGKILL') } catch {}
    await Promise.race([exited, sleep(5000)])
  }
  children.delete(c)
}

/** Spawns `cmd` and resolves once its output matches `ready`; rejects if it exits first. */
async function spawnUntil (cmd: string, args: string[], ready: RegExp, what: string, timeoutMs: number): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let output = ''
  let failure: Error | null = null
  child.on('error', err => { failure = err })
  child.stdout!.on('data', (d: Buffer) => { if (output.length < 100_000) output += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { if (output.length < 100_000) output += d.toString() })
  try {
    await waitFor(what, async () => {
      if (failure != null) throw failure
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what}: exited (${child.signalCode ?? child.exitCode}): ${output.slice(-1000)}`)
      return ready.test(output)
    }, timeoutMs, 20)
  } catch (err) {
    await killChild(child)
    throw err
  }
  return child
}

function redisVersion (): string | null {
  const r = spawnSync(REDIS_BIN, ['--version'], { encoding: 'utf8' })
  if (r.status !== 0) return null
  return /v=(\S+)/.exec(r.stdout)?.[1] ?? 'unknown'
}

async function benchBullmq (plan: TasksPlan, log: Log, version: string): Promise<TasksSystemResult> {
  const clientLabel = `ioredis ${(createRequire(import.meta.url)('ioredis/package.json') as { version: string }).version}`
  const bullmqVersion = (createRequire(import.meta.url)('bullmq/package.json') as { version: string }).version
  const dirs = new TempDirs()
  const started: ChildProcess[] = []
  let queue: Queue | null = null
  try {
    const port = await freePort()
    const redis = await spawnUntil(REDIS_BIN, [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', await dirs.make('bench-redis-'), '--daemonize', 'no'
    ], /Ready to accept connections/, 'redis-server to accept connections', 10_000)
    started.push(redis)
    started.push(...await Promise.all(plan.bullmqWorkerConcurrency.map(async c =>
      await spawnUntil(process.execPath, [WORKER_SCRIPT, String(port), QUEUE, String(c)], /^ready$/m, 'a BullMQ worker to be ready', 30_000))))
    const workers = started.slice(1)
    log(`  BullMQ ${bullmqVersion}: redis-server ${version} on 127.0.0.1:${port}, ${workers.length} worker processes (concurrency ${plan.bullmqWorkerConcurrency.join('+')}), Redis client: ${clientLabel}`)
    const qu = new Queue(QUEUE, { connection: { host: '127.0.0.1', port }, defaultJobOptions: { attempts: 1, removeOnComplete: false, removeOnFail: false } })
    queue = qu
    await qu.waitUntilReady()
    const q: TaskQueue = {
      submit: async () => {
        const job = await qu.add('true', {})
        if (job.id == null) throw new Error('queue.add returned a job without id')
        return job.id
      },
      submitBatch: async n => { await qu.addBulk(Array.from({ length: n }, () => ({ name: 'true', data: {} }))) },
      finished: async () => {
        const c = await qu.getJobCounts('completed', 'failed')
        return { succeeded: c.completed ?? 0, failed: c.failed ?? 0 }
      },
      failureDetail: async () => (await qu.getFailed(0, 0))[0]?.failedReason ?? 'none listed',
      startedAt: async ids => await mapLimit(ids, 8, async id => Number((await qu.getJob(id))?.returnvalue?.startedAt ?? NaN)),
      rss: async () => ({ 'redis-server': await rssMiB(redis.pid!), 'one worker': await rssMiB(workers[0]!.pid!) }),
      cpuSeconds: async () => await totalCpuSeconds(started.map(c => c.pid!)),
      processes: `redis-server and ${workers.length} workers`
    }
    // Not topped up to heldTasks (a minute of spawning on a small machine, and the issue asks
    // for meshos only): its RSS is read holding the jobs of the runs above.
    return await measureQueue(`BullMQ ${bullmqVersion} + Redis ${version}`, 'queue.add → worker\'s spawn event', q, plan, null, log, [
      `${workers.length} worker processes, concurrency ${plan.bullmqWorkerConcurrency.join('+')}`,
      `Redis client: ${clientLabel}`,
      'redis-server --save \'\' --appendonly no (no persistence)'
    ])
  } finally {
    await Promise.race([queue?.close(), sleep(5000)]).catch(() => {})
    await Promise.all(started.map(killChild))
    await dirs.cleanup()
  }
}

// ---------------------------------------------------------------- entry

export async function benchTasks (systems: TasksSystem[], plan: TasksPlan, log: Log): Promise<TasksBenchResult> {
  const results: TasksSystemResult[] = []
  const skipped: string[] = []
  for (const system of TASKS_SYSTEMS.filter(s => systems.includes(s))) {
    try {
      if (system === 'spawn') {
        results.push(await benchSpawnFloor(plan, log, SPAWN_FLOOR, 'child_process.spawn() call → \'spawn\' event', spawnTrue))
      } else if (system === 'launcher') {
        if (!launcherAvailable()) {
          skipped.push(`${LAUNCHER_FLOOR}: meshos-launcher is not built at ${LAUNCHER_PATH}`)
          continue
        }
        const dirs = new TempDirs()
        const launcher = new LauncherSpawner(LAUNCHER_PATH, { debug () {}, info () {}, warn () {}, error () {} }, (reason) => log(`  ${reason}`))
        try {
          results.push(await benchSpawnFloor(plan, log, LAUNCHER_FLOOR, 'meshos-launcher request → SPAWNED (posix_spawn)', launcherSpawnTrue(launcher, await dirs.make('bench-launcher-'))))
        } finally {
          launcher.close()
          await dirs.cleanup()
        }
      } else if (system === 'meshos') {
        results.push(await benchMeshos(plan, log))
      } else {
        const version = redisVersion()
        if (version == null) {
          skipped.push(`BullMQ: redis-server is not installed (apt-get install redis-server), or set REDIS_SERVER`)
          continue
        }
        results.push(await benchBullmq(plan, log, version))
      }
    } catch (err) {
      // Reported, not hidden, and the other systems still run.
      const why = err instanceof TaskApiUnavailable ? err.message : `${system}: ${(err as Error).message}`
      log(`  ${why}`)
      skipped.push(why)
    }
  }
  return { plan, results, skipped }
}
