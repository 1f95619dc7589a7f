// Messages between the agent and its executor process (isolated-executor.ts,
// executor-process.ts), over the Node IPC channel.
import type { ExecutorOptions } from '../executor.js'
import type { SpawnerKind } from '../spawn/spawner.js'
import type { LaunchRequest, RunningTask, TaskOutcome } from '../types.js'

/** The options that cross the process boundary (callbacks and the logger stay on each side). */
export type ExecutorProcessConfig = Omit<ExecutorOptions, 'onSpawnerDied' | 'logger'>

export type ToExecutor =
  /** debugLogs: the agent keeps debug lines (three per task: not worth an IPC message each otherwise). */
  | { op: 'configure'; config: ExecutorProcessConfig; debugLogs: boolean }
  | { op: 'launch'; req: LaunchRequest }
  | { op: 'cancel'; taskId: string }
  | { op: 'stop' }

export type FromExecutor =
  | { op: 'started'; task: RunningTask }
  | { op: 'finished'; outcome: TaskOutcome }
  /** The executor process refused what the agent admitted (a bug, or a race at stop). */
  | { op: 'refused'; taskId: string; attempt: number; reason: string }
  | { op: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string }
  | { op: 'stopped' }
  /** Configured: how it starts tasks (the launcher, or the child_process fallback). */
  | { op: 'ready'; spawner: SpawnerKind }
