// What the tasks benchmark measures of each system, as written to bench/results/tasks.json.
import type { Summary } from '../lib/stats.js'
import type { TasksPlan } from './plan.js'

/** The `system` of the spawn floors' results. */
export const SPAWN_FLOOR = 'spawn floor'
export const LAUNCHER_FLOOR = 'posix_spawn floor'

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
  cpuMsPerTask: CpuPerTask | null
  heldTasks: number | null
  /** meshos: the same latency runs submitted on a follower (a voter that does not lead) instead. */
  viaFollower?: {
    latencyMeasures: string
    light: Summary
    paced: Summary
    cpuMsPerTask: { light: number; paced: number }
  }
  notes: string[]
}

export interface CpuPerTask {
  light: number
  paced: number
  throughput: number
  processes: string
  /** The 100/s run's figure per process (role: leader, follower, worker), absent where not read. */
  pacedByProcess?: Record<string, number>
  /** CPU the same processes use idle, ms per second, read before the first task: at 100/s a
   * hundredth of it is in every task's figure. */
  idleMsPerSecond?: number
}

export interface TasksBenchResult {
  plan: TasksPlan
  results: TasksSystemResult[]
  /** etcd 3.4 (3 members): one small write at a time through a follower, commit latency. Null
   * when etcd was not measured. */
  etcdCommitViaFollowerMs: Summary | null
  skipped: string[]
}
