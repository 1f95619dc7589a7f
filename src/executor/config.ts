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
  /** Who tasks run as when the agent is root (--task-user): an account with no files of its own
   * and no privileges; the agent's own user runs them otherwise. */
  taskUser: string
  /** pids.max of each attempt's cgroup (--task-pids-max): a parallel build on a large machine runs
   * a few hundred processes; a fork bomb stops here instead of at the machine's pid limit. */
  pidsMax: number
  /** What one attempt may keep in its work dir, output included (--task-disk-mb); also the size
   * limit of any one file it writes (RLIMIT_FSIZE). Large enough for a build tree, small enough
   * that a handful of runaway tasks cannot fill a small disk. */
  maxWorkDirBytes: number
  /** Files and directories in one work dir: the walk that measures it costs the agent ~4 µs an
   * entry (measured on the 2-core VM), so a task making millions of files is stopped here, at
   * ~0.4 s per walk. */
  maxWorkDirEntries: number
  /** How often running attempts' work dirs are measured against maxWorkDirBytes. */
  diskPollMs: number
}

export const DEFAULT_EXECUTOR: ExecutorConfig = {
  maxLogBytes: 8 * 1024 * 1024,
  killGraceMs: 2000,
  memoryPollMs: 250,
  spawner: 'auto',
  taskUser: 'nobody',
  pidsMax: 1024,
  maxWorkDirBytes: 1024 * 1024 * 1024,
  maxWorkDirEntries: 100_000,
  diskPollMs: 1000,
}
