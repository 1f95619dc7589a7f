// One attempt of one task, from spawn to its single outcome. The task is a process group: it is
// spawned detached (its own session and group, pgid = pid) so that every signal goes to the whole
// group and a shell's children die with it.
//
// The outcome is reported only after the main process exited AND both output pipes closed and the
// log files were flushed, so whoever reads the logs on hearing the outcome sees all of them.
// When the main process exits, whatever is left in its group is SIGKILLed: the task is over, and
// a leftover background process would hold resources the node no longer accounts for and keep the
// pipes (and so the outcome) open.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { execTarget } from './launch-request.js'
import { LogSink } from './log-sink.js'
import { readStartTimeSync } from './proc.js'
import { buildTaskEnv } from './task-env.js'
import { removePidFile, writePidFile, type TaskPaths } from './task-dir.js'
import type { ExecutorLogger, ExitReason, LaunchRequest, TaskOutcome } from './types.js'

export type KillReason = Extract<ExitReason, 'timeout' | 'memory' | 'cancelled'>

export interface TaskRunOptions {
  paths: TaskPaths
  maxLogBytes: number
  killGraceMs: number
  logger: ExecutorLogger
  onStarted: (run: TaskRun) => void
  /** Called exactly once, asynchronously, unless abandon() was called first. */
  onFinished: (outcome: TaskOutcome) => void
}

/** setTimeout fires at once for longer delays; longer timeouts are re-armed in steps of this. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Wall-clock milliseconds with sub-millisecond resolution (Date.now() has 1 ms). */
export function nowMs (): number {
  return performance.timeOrigin + performance.now()
}

export function killGroup (pgid: number, signal: NodeJS.Signals, logger: ExecutorLogger): boolean {
  try {
    process.kill(-pgid, signal)
    return true
  } catch (err) {
    // ESRCH: the group is already empty, which is what we wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') logger.warn({ pgid, signal, err }, 'could not signal task process group')
    return false
  }
}

function errorCode (err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return e?.code ?? e?.message ?? String(err)
}

export class TaskRun {
  /** Also the process group id. Null until spawned, and forever if the spawn failed. */
  pid: number | null = null
  startedAtMs: number | null = null
  /** The main process exited; the run may still be flushing its logs. */
  exited = false
  /** Resolves once the run is over (outcome reported, or suppressed by abandon()). Never rejects. */
  readonly done: Promise<void>

  private child: ChildProcess | null = null
  private sinks: LogSink[] = []
  private exitCode: number | null = null
  private exitSignal: string | null = null
  private exitedAtMs: number | null = null
  private spawnError: string | null = null
  private killedFor: { reason: KillReason, message: string } | null = null
  private sigkillSent = false
  private abandoned = false
  private finalizing = false
  private timeoutTimer: NodeJS.Timeout | null = null
  private graceTimer: NodeJS.Timeout | null = null
  private drainTimer: NodeJS.Timeout | null = null
  private resolveDone!: () => void

  constructor (readonly req: LaunchRequest, private readonly opts: TaskRunOptions) {
    this.done = new Promise((resolve) => { this.resolveDone = resolve })
  }

  private get context (): object {
    return { taskId: this.req.taskId, attempt: this.req.attempt, pid: this.pid }
  }

  /** Never throws: any failure to start becomes a 'spawn_error' outcome, reported asynchronously. */
  start (): void {
    const { paths } = this.opts
    const fds: number[] = []
    try {
      mkdirSync(paths.workDir, { recursive: true })
      // The same attempt relaunched after an agent restart starts its logs afresh.
      rmSync(paths.truncatedMarker.stdout, { force: true })
      rmSync(paths.truncatedMarker.stderr, { force: true })
      fds.push(openSync(paths.log.stdout, 'w'))
      fds.push(openSync(paths.log.stderr, 'w'))
    } catch (err) {
      for (const fd of fds) closeSync(fd)
      this.failSpawn(`cannot prepare ${paths.workDir}: ${errorCode(err)}`)
      return
    }

    const { file, args } = execTarget(this.req)
    let child: ChildProcess
    try {
      child = spawn(file, args, {
        cwd: paths.workDir,
        env: buildTaskEnv(this.req.env, { taskId: this.req.taskId, attempt: this.req.attempt, workDir: paths.workDir }),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe']
      })
    } catch (err) {
      // Synchronous failures: invalid arguments (a NUL byte in argv or env), some kernel errors.
      for (const fd of fds) closeSync(fd)
      this.failSpawn(`spawn ${file}: ${errorCode(err)}`)
      return
    }
    this.child = child
    // Undefined after a runtime spawn failure, which the 'error' event then reports.
    this.pid = child.pid ?? null
    if (child.stdout === null || child.stderr === null) throw new Error('unreachable: stdio is piped')
    this.sinks = [
      new LogSink(child.stdout, paths.log.stdout, fds[0], this.opts.maxLogBytes, paths.truncatedMarker.stdout, this.opts.logger, { ...this.context, stream: 'stdout' }),
      new LogSink(child.stderr, paths.log.stderr, fds[1], this.opts.maxLogBytes, paths.truncatedMarker.stderr, this.opts.logger, { ...this.context, stream: 'stderr' })
    ]

    child.once('spawn', () => {
      this.startedAtMs = nowMs()
      this.opts.onStarted(this)
    })
    child.on('error', (err) => {
      if (this.pid !== null) {
        this.opts.logger.warn({ ...this.context, err }, 'child process error')
        return
      }
      // Runtime spawn failures (ENOENT, EACCES, ...) arrive here, with no pid and no 'exit'.
      this.spawnError = `spawn ${file}: ${errorCode(err)}`
      child.stdout?.destroy()
      child.stderr?.destroy()
      this.finalize()
    })
    child.once('exit', (code, signal) => this.onExit(code, signal))
    child.once('close', (code, signal) => {
      if (!this.exited && this.pid !== null) this.onExit(code, signal)
      this.finalize()
    })

    if (this.pid === null) return
    try {
      writePidFile(paths.pidFile, { taskId: this.req.taskId, attempt: this.req.attempt, pid: this.pid, startTime: readStartTimeSync(this.pid) })
    } catch (err) {
      this.opts.logger.warn({ ...this.context, err }, 'could not write pid file; a restarted agent will not find this task')
    }
    if (this.req.timeoutMs !== null) this.armTimeout(this.req.timeoutMs)
  }

  /**
   * Kills the group for `reason`. Graceful: SIGTERM now, SIGKILL after the grace period; otherwise
   * SIGKILL now. The first reason is the one reported; a later call can still escalate to SIGKILL.
   * Returns false if there is nothing to kill (not spawned, or already exited).
   */
  terminate (reason: KillReason, message: string, graceful: boolean): boolean {
    if (this.pid === null || this.exited) return false
    if (this.killedFor === null) this.killedFor = { reason, message }
    // Repeated calls (the memory poll keeps finding the task until it is gone) change nothing.
    if (this.sigkillSent || (graceful && this.graceTimer !== null)) return true
    this.opts.logger.info({ ...this.context, reason, message }, graceful ? 'terminating task' : 'killing task')
    if (graceful) {
      killGroup(this.pid, 'SIGTERM', this.opts.logger)
      this.graceTimer = setTimeout(() => this.sigkill(), this.opts.killGraceMs)
    } else {
      this.sigkill()
    }
    return true
  }

  /** For an agent that is leaving: SIGKILL the group and report nothing. */
  abandon (): void {
    this.abandoned = true
    if (this.pid !== null && !this.exited) this.sigkill()
  }

  private sigkill (): void {
    if (this.pid === null || this.sigkillSent) return
    this.sigkillSent = true
    killGroup(this.pid, 'SIGKILL', this.opts.logger)
  }

  private armTimeout (remainingMs: number): void {
    const stepMs = Math.min(remainingMs, MAX_TIMER_MS)
    this.timeoutTimer = setTimeout(() => {
      if (remainingMs > stepMs) {
        this.armTimeout(remainingMs - stepMs)
        return
      }
      this.terminate('timeout', `killed after ${this.req.timeoutMs} ms timeout`, true)
    }, stepMs)
  }

  private onExit (code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return
    this.exited = true
    this.exitedAtMs = nowMs()
    this.exitCode = code
    this.exitSignal = signal
    this.clearTimers()
    if (this.pid !== null) {
      // Leftovers of a finished task; ESRCH (nothing left) is the usual answer.
      killGroup(this.pid, 'SIGKILL', this.opts.logger)
      try {
        removePidFile(this.opts.paths.pidFile)
      } catch (err) {
        this.opts.logger.warn({ ...this.context, err }, 'could not remove pid file')
      }
    }
    // A process that left the group (setsid) can hold the pipes open past the group kill; its
    // output after the main process exited is not worth an outcome that never comes.
    this.drainTimer = setTimeout(() => {
      this.opts.logger.warn(this.context, 'task output still open after exit; closing it')
      this.child?.stdout?.destroy()
      this.child?.stderr?.destroy()
    }, this.opts.killGraceMs)
  }

  private clearTimers (): void {
    for (const timer of [this.timeoutTimer, this.graceTimer, this.drainTimer]) if (timer !== null) clearTimeout(timer)
    this.timeoutTimer = this.graceTimer = this.drainTimer = null
  }

  private failSpawn (message: string): void {
    this.spawnError = message
    this.finalize()
  }

  private finalize (): void {
    if (this.finalizing) return
    this.finalizing = true
    this.clearTimers()
    void Promise.all(this.sinks.map(async (sink) => await sink.closed)).then(() => {
      if (!this.abandoned) this.opts.onFinished(this.outcome())
      this.resolveDone()
    })
  }

  private outcome (): TaskOutcome {
    const base = {
      taskId: this.req.taskId,
      attempt: this.req.attempt,
      exitCode: this.exitCode,
      signal: this.exitSignal,
      startedAtMs: this.startedAtMs,
      finishedAtMs: this.exitedAtMs ?? nowMs()
    }
    if (this.spawnError !== null) return { ...base, reason: 'spawn_error', message: this.spawnError, startedAtMs: null }
    if (this.killedFor !== null) return { ...base, reason: this.killedFor.reason, message: this.killedFor.message }
    if (this.exitSignal !== null) return { ...base, reason: 'signal', message: `killed by ${this.exitSignal}` }
    return { ...base, reason: 'exited', message: `exit code ${this.exitCode ?? 'unknown'}` }
  }
}
