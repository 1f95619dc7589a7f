// Messages between the agent's main thread and the executor thread (threaded-executor.ts,
// executor-thread.ts). Structured-clone data only.
import type { LaunchRequest, Resources, RunningTask, TaskOutcome } from './types.js'

export interface ExecutorThreadConfig {
  dataDir: string
  capacity: Resources
  maxLogBytes?: number
  killGraceMs?: number
  memoryPollMs?: number
}

export type ToThread =
  | { op: 'launch', req: LaunchRequest }
  | { op: 'cancel', taskId: string }
  | { op: 'stop' }

export type FromThread =
  | { op: 'started', task: RunningTask }
  | { op: 'finished', outcome: TaskOutcome }
  /** The thread's executor refused what the main thread admitted (a bug, or a race at stop). */
  | { op: 'refused', taskId: string, attempt: number, reason: string }
  | { op: 'log', level: 'debug' | 'info' | 'warn' | 'error', obj: Record<string, unknown>, msg: string }
  | { op: 'stopped' }
