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
  cpuMsPerTask: { light: number; paced: number; throughput: number; processes: string } | null
  heldTasks: number | null
  notes: string[]
}

export interface TasksBenchResult {
  plan: TasksPlan
  results: TasksSystemResult[]
  skipped: string[]
}
