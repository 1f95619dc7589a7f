// Executor defaults, each with its unit and the reason it was chosen.
import type { SpawnerChoice } from './spawn/spawner.js'

export interface ExecutorConfig {
  /** Per stream and attempt: output beyond this is dropped (and the read says truncated). */
  maxLogBytes: number
  /** SIGTERM, then SIGKILL after this long (timeouts and cancellations). */
  killGraceMs: number
  /** How often the memory of running task trees is measured against their memoryMb. */
  memoryPollMs: number
  /**
   * How task processes are created: 'launcher' (posix_spawn in native/launcher.c, a fraction of
   * the cost of a fork), 'child_process' (Node's spawn), or 'auto': the launcher if it was built.
   */
  spawner: SpawnerChoice
}

export const DEFAULT_EXECUTOR: ExecutorConfig = {
  maxLogBytes: 8 * 1024 * 1024,
  killGraceMs: 2000,
  memoryPollMs: 250,
  spawner: 'auto',
}
