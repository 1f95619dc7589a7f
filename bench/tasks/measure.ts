// The measurement loop every task system goes through: latency at 10/s and at 100/s, throughput,
// then RSS holding many finished tasks; each system plugs in as a TaskQueue.
import { sleep } from '../lib/async.js'
import type { Log } from '../lib/log.js'
import { summarize, type Summary } from '../lib/stats.js'
import { paced } from './open-loop.js'
import { THROUGHPUT_TIMEOUT_MS, type TasksPlan } from './plan.js'
import type { CpuPerTask, TasksSystemResult, ThroughputResult } from './results.js'

/** A task system as the benchmark drives it. */
export interface TaskQueue {
  /** Submits one task; resolves with its id once the system has accepted it. */
  submit: () => Promise<string>
  /** Submits `n` tasks in one request; resolves once all are accepted. */
  submitBatch: (n: number) => Promise<void>
  finished: () => Promise<{ succeeded: number; failed: number }>
  /** Why some task failed, for the error message. */
  failureDetail: () => Promise<string>
  /** Epoch ms at which each task's process spawned. */
  startedAt: (ids: string[]) => Promise<number[]>
  rss: () => Promise<Record<string, number>>
  /** CPU seconds used so far by the system's own processes (named in `processes`). */
  cpuSeconds: () => Promise<number>
  /** The same per process (by role), where the system tells them apart. */
  cpuSecondsByProcess?: () => Promise<Record<string, number>>
  processes: string
}

/** CPU ms per task of each process between two readings. */
function perTask(before: Record<string, number>, after: Record<string, number>, tasks: number): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, ((v - (before[k] ?? 0)) * 1000) / tasks]))
}

async function waitFinished(
  q: TaskQueue,
  succeeded: number,
  failedBefore: number,
  timeoutMs: number,
  intervalMs = 20,
): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const f = await q.finished()
    if (f.failed > failedBefore)
      throw new Error(
        `${f.failed - failedBefore} tasks failed (${await q.failureDetail().catch(e => (e as Error).message)})`,
      )
    if (f.succeeded >= succeeded) return
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms: ${f.succeeded} of ${succeeded} tasks succeeded`)
    await sleep(intervalMs)
  }
}

/** Submits `total` tasks in batches of `batch`, `inFlight` batches at a time. */
async function submitAll(q: TaskQueue, total: number, batch: number, inFlight: number): Promise<void> {
  let next = 0
  let failed = false
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
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
    }),
  )
}

/** Submit→start latency of `tasks` submitted open-loop every `intervalMs`, after a warm-up. */
export async function measureLatency(
  q: TaskQueue,
  plan: TasksPlan,
  tasks = plan.latencyTasks,
  intervalMs = plan.intervalMs,
): Promise<{ start: Summary; accept: Summary; cpuMsPerTask: number; cpuMsPerTaskByProcess?: Record<string, number> }> {
  const before = await q.finished()
  const warm = await paced(plan.warmupTasks, intervalMs, q.submit)
  await waitFinished(q, before.succeeded + warm.values.length, before.failed, 30_000, 50)
  const cpuBefore = await q.cpuSeconds()
  const byProcessBefore = await q.cpuSecondsByProcess?.()
  const run = await paced(tasks, intervalMs, q.submit)
  await waitFinished(q, before.succeeded + warm.values.length + tasks, before.failed, THROUGHPUT_TIMEOUT_MS, 50)
  const cpuMsPerTask = (((await q.cpuSeconds()) - cpuBefore) * 1000) / tasks
  const byProcessAfter = await q.cpuSecondsByProcess?.()
  const started = await q.startedAt(run.values)
  const latency = started.map((s, i) => s - run.sentAt[i]!)
  if (latency.some(l => !Number.isFinite(l))) throw new Error('some tasks have no startedAt')
  return {
    start: summarize(latency),
    accept: summarize(run.resolveMs),
    cpuMsPerTask,
    ...(byProcessBefore != null && byProcessAfter != null
      ? { cpuMsPerTaskByProcess: perTask(byProcessBefore, byProcessAfter, tasks) }
      : {}),
  }
}

async function measureThroughput(q: TaskQueue, plan: TasksPlan): Promise<ThroughputResult & { cpuMsPerTask: number }> {
  const before = await q.finished()
  const cpuBefore = await q.cpuSeconds()
  const start = performance.now()
  await submitAll(q, plan.throughputTasks, plan.batchSize, plan.batchesInFlight)
  const submitMs = performance.now() - start
  await waitFinished(q, before.succeeded + plan.throughputTasks, before.failed, THROUGHPUT_TIMEOUT_MS)
  const elapsedMs = performance.now() - start
  const cpuMsPerTask = (((await q.cpuSeconds()) - cpuBefore) * 1000) / plan.throughputTasks
  return {
    tasks: plan.throughputTasks,
    submitMs,
    elapsedMs,
    tasksPerSecond: plan.throughputTasks / (elapsedMs / 1000),
    cpuMsPerTask,
  }
}

/** Tops the system up to `target` finished tasks (null: as it is), then reads RSS. */
async function measureHeld(
  q: TaskQueue,
  target: number | null,
): Promise<{ held: number; rss: Record<string, number> }> {
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

export async function measureQueue(
  system: string,
  latencyMeasures: string,
  q: TaskQueue,
  plan: TasksPlan,
  holdTarget: number | null,
  log: Log,
  notes: string[],
  extra: {
    idleMsPerSecond?: number
    /** Runs after the latency runs, before the throughput run fills the system with tasks. */
    afterLatency?: () => Promise<void>
  } = {},
): Promise<TasksSystemResult> {
  const light = await measureLatency(q, plan, plan.lightLatencyTasks, plan.lightIntervalMs)
  log(`    latency: ${plan.lightLatencyTasks} tasks at ${1000 / plan.lightIntervalMs}/s done`)
  const lat = await measureLatency(q, plan)
  log(`    latency: ${plan.latencyTasks} tasks at ${1000 / plan.intervalMs}/s done`)
  await extra.afterLatency?.()
  const { cpuMsPerTask: throughputCpuMs, ...throughput } = await measureThroughput(q, plan)
  log(`    throughput: ${plan.throughputTasks} tasks in ${throughput.elapsedMs.toFixed(0)} ms`)
  const held = await measureHeld(q, holdTarget)
  log(`    holding ${held.held} finished tasks`)
  const cpuMsPerTask: CpuPerTask = {
    light: light.cpuMsPerTask,
    paced: lat.cpuMsPerTask,
    throughput: throughputCpuMs,
    processes: q.processes,
    ...(lat.cpuMsPerTaskByProcess != null ? { pacedByProcess: lat.cpuMsPerTaskByProcess } : {}),
    ...(extra.idleMsPerSecond != null ? { idleMsPerSecond: extra.idleMsPerSecond } : {}),
  }
  return {
    system,
    latencyMeasures,
    startLatencyMs: lat.start,
    lightStartLatencyMs: light.start,
    acceptLatencyMs: lat.accept,
    throughput,
    rssMiB: held.rss,
    cpuMsPerTask,
    heldTasks: held.held,
    notes,
  }
}
