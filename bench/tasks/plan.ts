// What the tasks benchmark runs: which systems, how many tasks at what rates, and its time bound.

/** etcd is no task system: its commit through a follower is the floor a submission through a
 * node that does not lead is compared with (issue 15). */
export type TasksSystem = 'meshos' | 'bullmq' | 'spawn' | 'launcher' | 'etcd'
export const TASKS_SYSTEMS: readonly TasksSystem[] = ['meshos', 'bullmq', 'spawn', 'launcher', 'etcd']

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
  /** Idle CPU of the meshos agents is read over this long before the first task. */
  idleCpuWindowMs: number
  /** etcd: untimed writes through a follower, then this many timed ones, one at a time. */
  etcdWarmupWrites: number
  etcdWrites: number
}

/** The plan; `scale` shrinks the counts for a quick try (BENCH_TASKS_SCALE). */
export function tasksPlan(scale = 1): TasksPlan {
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
    bullmqWorkerConcurrency: [3, 3, 2],
    idleCpuWindowMs: 10_000,
    etcdWarmupWrites: 500,
    etcdWrites: n(1000),
  }
}

/** The plan in words, as the console and bench/README.md show it. */
export function describePlan(plan: TasksPlan): string {
  return (
    `latency: ${plan.latencyTasks} tasks open-loop at ${1000 / plan.intervalMs}/s, one per request (after ${plan.warmupTasks} warm-up); ` +
    `throughput: ${plan.throughputTasks} tasks in batches of ${plan.batchSize}, ${plan.batchesInFlight} batches in flight`
  )
}

/** Bounds one throughput or top-up run. Process creation on a small VM can be ~100/s, so
 * 5,000 tasks may take a minute; this only stops a run that is stuck. */
export const THROUGHPUT_TIMEOUT_MS = 300_000
