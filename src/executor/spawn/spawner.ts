// How a task's process is created and its output captured. Two ways, one contract:
// - 'launcher' (launcher-spawner.ts): the small C program in native/launcher.c, which starts tasks
//   with clone(CLONE_VM | CLONE_VFORK) as posix_spawn() does and copies output in C. The default
//   wherever it was built.
// - 'child_process' (child-process-spawner.ts): Node's own spawn(), which forks the executor
//   process. The fallback for machines without a C compiler at install time; the same tests run
//   against both.
// Everything above this (admission, timeouts, memory limits, kills by process group) is the same
// TaskRun whichever one spawned the process.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ChildProcessSpawner } from './child-process-spawner.js'
import { LauncherSpawner } from './launcher-spawner.js'
import type { ExecutorLogger, LogStream } from '../types.js'

export interface SpawnSpec {
  file: string
  /** argv[0] excluded, as spawn() takes them. */
  args: string[]
  cwd: string
  env: Record<string, string>
  /** Log files, created (or emptied) at spawn. */
  log: Record<LogStream, string>
  /** Created when the stream went past maxLogBytes. */
  truncatedMarker: Record<LogStream, string>
  maxLogBytes: number
  /** Who the task runs as (its work dir is made theirs); absent or null: the spawner's own user. */
  user?: TaskIds | null
  /** cgroup.procs files the process joins before it runs anything of its own (cgroups/). */
  cgroupProcs?: string[]
  /** RLIMIT_FSIZE, soft and hard: no file it writes grows past this. Absent or null: inherited. */
  maxFileBytes?: number | null
}

/** A user and group to run a task as: numbers, resolved once at start (task-user.ts). */
export interface TaskIds {
  uid: number
  gid: number
}

/**
 * Called asynchronously, never during spawn(). Either onSpawnFailed once and nothing else, or
 * onSpawned, then onExited and onOutputClosed once each in either order (and onStartTime at most
 * once, before onExited).
 */
export interface SpawnEvents {
  /** The process exists; `pid` is also its process group. `startTime` as in /proc/<pid>/stat (null if not known yet). */
  onSpawned: (pid: number, startTime: string | null) => void
  /** The start time (null if it could not be read), for a spawner that reads it after the spawn
   * (see native/launcher.c). */
  onStartTime: (startTime: string | null) => void
  /** Nothing runs. `message` says what failed: "spawn /nope: ENOENT". */
  onSpawnFailed: (message: string) => void
  onExited: (code: number | null, signal: NodeJS.Signals | null) => void
  /** Both output streams ended (or were closed by closeOutput()) and the log files are closed. */
  onOutputClosed: () => void
}

export interface SpawnedProcess {
  /** Stop copying output now: the main process exited but something it left holds the pipes open. */
  closeOutput: () => void
}

export type SpawnerKind = 'launcher' | 'child_process'

export interface Spawner {
  readonly kind: SpawnerKind
  /**
   * The spawner SIGKILLs what is left of the process group before it reports the exit, while the
   * pid cannot yet be reused (the launcher does; Node reaps before anyone can).
   */
  readonly killsGroupOnExit: boolean
  /** onSpawned carries no start time: onStartTime brings it a few ms later, only for a process
   * still running then (the launcher; Node's child_process reads it at spawn). */
  readonly startTimeLater: boolean
  /** spawn() creates spec.cwd itself (with missing parents), removing the truncation markers of
   * a directory that was already there (the launcher); otherwise the caller prepares it. */
  readonly preparesWorkDir: boolean
  spawn: (spec: SpawnSpec, events: SpawnEvents) => SpawnedProcess
  /** Stops accepting spawns and releases the spawner's own resources (the launcher process). */
  close: () => void
}

/** Where `npm run build` puts the launcher (dist/native/), seen from dist/src/executor/spawn/. */
export const LAUNCHER_PATH = fileURLToPath(new URL('../../../native/meshos-launcher', import.meta.url))

export function launcherAvailable(): boolean {
  return process.platform === 'linux' && existsSync(LAUNCHER_PATH)
}

export const SPAWNER_CHOICES = ['auto', 'launcher', 'child_process'] as const
export type SpawnerChoice = (typeof SPAWNER_CHOICES)[number]

/**
 * 'auto' takes the launcher when it was built. `onDied` is told if the launcher process dies: its
 * tasks can then neither be watched nor reported, which the caller must treat as its own death.
 * `nodeCgroups`: see LauncherSpawner.
 */
export function createSpawner(
  choice: SpawnerChoice,
  logger: ExecutorLogger,
  onDied: (reason: string) => void,
  nodeCgroups: string[] = [],
): Spawner {
  const kind = choice === 'auto' ? (launcherAvailable() ? 'launcher' : 'child_process') : choice
  if (kind === 'child_process') {
    if (choice === 'auto')
      logger.warn(
        { launcher: LAUNCHER_PATH },
        'meshos-launcher not built (no C compiler at install?): spawning tasks with child_process, which costs a fork per task',
      )
    return new ChildProcessSpawner(logger)
  }
  if (!launcherAvailable())
    throw new Error(`meshos-launcher is not built at ${LAUNCHER_PATH} (run npm run build with a C compiler)`)
  return new LauncherSpawner(LAUNCHER_PATH, logger, onDied, nodeCgroups)
}
