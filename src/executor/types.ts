// The executor's contract with the rest of the node: the worker side hands it a launch request
// taken from a committed assignment; the executor runs it as a child process tree and reports
// exactly one outcome per launch.

export interface LaunchRequest {
  taskId: string
  /** 1 for the first run; a retry or a re-queue after loss is a new attempt. */
  attempt: number
  /** Exactly one of command (run with /bin/sh -c) and argv (run directly). */
  command?: string
  argv?: string[]
  env: Record<string, string>
  cpus: number
  memoryMb: number
  /** null: no limit. */
  timeoutMs: number | null
}

export type ExitReason =
  | 'exited' // the process exited by itself (exitCode set; success if 0)
  | 'signal' // killed by a signal nobody here sent (signal set)
  | 'timeout' // timeoutMs passed: SIGTERM, then SIGKILL after the grace period
  | 'memory' // the process tree's RSS exceeded memoryMb, or the kernel's OOM killer acted in its cgroup
  | 'disk' // its work dir grew past its bound, or a file past the file-size limit
  | 'cancelled' // cancel() was called
  | 'spawn_error' // the process could not be started (message says why)

export interface TaskOutcome {
  taskId: string
  attempt: number
  reason: ExitReason
  exitCode: number | null
  signal: string | null
  /** Human-readable detail: "exit code 3", "killed after 5000 ms timeout", "spawn /nope: ENOENT". */
  message: string
  startedAtMs: number | null
  finishedAtMs: number
}

export interface RunningTask {
  taskId: string
  attempt: number
  pid: number
  startedAtMs: number
  cpus: number
  memoryMb: number
}

export const LOG_STREAMS = ['stdout', 'stderr'] as const
export type LogStream = (typeof LOG_STREAMS)[number]

export interface LogChunk {
  data: Uint8Array
  /** Offset after this chunk: the next read starts here. */
  nextOffset: number
  /**
   * Output was cut at the size cap: the file holds only the first maxLogBytes of the stream. A
   * property of the whole stream, so every chunk of a cut stream says so.
   */
  truncated: boolean
}

/** What a node advertises and what each task asks for; tasks are admitted against the sum. */
export type { Resources } from '../util/resources.js'

/** The subset of pino's Logger the executor uses, so tests can pass nothing. */
export interface ExecutorLogger {
  /** As pino's: lets the executor process skip sending what would be dropped (absent: all sent). */
  isLevelEnabled?(level: string): boolean
  debug(obj: object, msg: string): void
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}
