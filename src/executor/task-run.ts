// One attempt of one task, from spawn to its single outcome. The task is a process group: the
// spawner (spawner.ts) starts it in its own session and group (pgid = pid) so that every signal
// goes to the whole group and a shell's children die with it. Where the node has cgroups, it is
// also a cgroup of its own (cgroups/), made before the spawn and removed after the outcome: a
// SIGKILL then goes to every process in the cgroup, so a process that left the group (setsid)
// dies with the task too, and the kernel enforces its memory limit (reported as 'memory').
//
// The outcome is reported only after the main process exited AND both output pipes closed and the
// log files were flushed, so whoever reads the logs on hearing the outcome sees all of them.
// When the main process exits, whatever is left in its group is SIGKILLed: the task is over, and
// a leftover background process would hold resources the node no longer accounts for and keep the
// pipes (and so the outcome) open.
import { lchown, mkdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { execTarget } from './launch-request.js'
import { buildTaskEnv } from './task-env.js'
import { removePidFile, writePidFile, type TaskPaths } from './files/task-dir.js'
import { sizeText } from './files/disk-watch.js'
import { attemptCgroupName, type AttemptCgroup, type CgroupDriver } from './cgroups/cgroups.js'
import type { SpawnedProcess, Spawner } from './spawn/spawner.js'
import type { TaskUser } from './sandbox.js'
import type { ExecutorLogger, ExitReason, LaunchRequest, TaskOutcome } from './types.js'

export type KillReason = Extract<ExitReason, 'timeout' | 'memory' | 'cancelled' | 'disk'>

export interface TaskRunOptions {
  paths: TaskPaths
  maxLogBytes: number
  killGraceMs: number
  logger: ExecutorLogger
  spawner: Spawner
  /** Who it runs as; null: the executor's own user. */
  user: TaskUser | null
  /** Makes its cgroup; null: the node has none. */
  cgroups: CgroupDriver | null
  pidsMax: number
  /** No file it writes grows past this (RLIMIT_FSIZE); null: inherited. */
  maxFileBytes: number | null
  onStarted: (run: TaskRun) => void
  /** Called exactly once, asynchronously, unless abandon() was called first. */
  onFinished: (outcome: TaskOutcome) => void
}

/** setTimeout fires at once for longer delays; longer timeouts are re-armed in steps of this. */
const MAX_TIMER_MS = 2 ** 31 - 1
const MIB = 1024 * 1024
/** A cgroup that still holds (killed, exiting) processes when the run ends is removed again this
 * often, this many times; after that the agent's next start removes it. */
const CGROUP_REMOVE_RETRY_MS = 100
const CGROUP_REMOVE_TRIES = 50

/** Wall-clock milliseconds with sub-millisecond resolution (Date.now() has 1 ms). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now()
}

export function killGroup(pgid: number, signal: NodeJS.Signals, logger: ExecutorLogger): boolean {
  try {
    process.kill(-pgid, signal)
    return true
  } catch (err) {
    // ESRCH: the group is already empty, which is what we wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH')
      logger.warn({ pgid, signal, err }, 'could not signal task process group')
    return false
  }
}

export class TaskRun {
  /** Also the process group id. Null until spawned, and forever if the spawn failed. */
  pid: number | null = null
  startedAtMs: number | null = null
  /** The main process exited; the run may still be flushing its logs. */
  exited = false
  /** Resolves once the run is over (outcome reported, or suppressed by abandon()). Never rejects. */
  readonly done: Promise<void>

  private process: SpawnedProcess | null = null
  private outputClosed = false
  private exitCode: number | null = null
  private exitSignal: string | null = null
  private exitedAtMs: number | null = null
  private spawnError: string | null = null
  private cgroup: AttemptCgroup | null = null
  /** Kernel OOM kills in its cgroup, read once its main process exited. */
  private oomKills = 0
  private killedFor: { reason: KillReason; message: string } | null = null
  /** terminate() came before the process existed: carried out as soon as it does. */
  private killOnSpawn: 'graceful' | 'now' | null = null
  private sigkillSent = false
  private pidFileWritten = false
  private abandoned = false
  private finalizing = false
  private timeoutTimer: NodeJS.Timeout | null = null
  private graceTimer: NodeJS.Timeout | null = null
  private drainTimer: NodeJS.Timeout | null = null
  private resolveDone!: () => void

  constructor(
    readonly req: LaunchRequest,
    private readonly opts: TaskRunOptions,
  ) {
    this.done = new Promise(resolve => {
      this.resolveDone = resolve
    })
  }

  get workDir(): string {
    return this.opts.paths.workDir
  }

  private get context(): object {
    return { taskId: this.req.taskId, attempt: this.req.attempt, pid: this.pid }
  }

  /** Never throws: any failure to start becomes a 'spawn_error' outcome, reported asynchronously. */
  start(): void {
    this.prepareAndSpawn().catch((err: unknown) => {
      this.failSpawn(`cannot start: ${String(err)}`)
    })
  }

  private async prepareAndSpawn(): Promise<void> {
    const { paths } = this.opts
    // The launcher makes the directory itself. Either way the spawn waits for an await, so a
    // cancel, stop or abandon in the turn of the launch (or while the directory was being made)
    // is seen first: the task never starts, and its outcome is the reason it was killed for,
    // with no start time.
    if (this.opts.spawner.preparesWorkDir) await Promise.resolve()
    else if (!(await this.prepareWorkDir())) return
    if (this.abandoned || this.killedFor !== null) {
      this.finalize()
      return
    }
    const { cgroups } = this.opts
    if (cgroups !== null) {
      try {
        this.cgroup = cgroups.create(attemptCgroupName(this.req.taskId, this.req.attempt), {
          memoryBytes: this.req.memoryMb * MIB,
          pidsMax: this.opts.pidsMax,
          cpus: this.req.cpus,
        })
      } catch (err) {
        this.failSpawn(`cannot make the task's cgroup: ${(err as Error).message}`)
        return
      }
    }
    const { file, args } = execTarget(this.req)
    this.process = this.opts.spawner.spawn(
      {
        file,
        args,
        cwd: paths.workDir,
        env: buildTaskEnv(this.req.env, { taskId: this.req.taskId, attempt: this.req.attempt, workDir: paths.workDir }),
        log: paths.log,
        truncatedMarker: paths.truncatedMarker,
        maxLogBytes: this.opts.maxLogBytes,
        user: this.opts.user,
        cgroupProcs: this.cgroup?.procsFiles ?? [],
        maxFileBytes: this.opts.maxFileBytes,
      },
      {
        onSpawned: (pid, startTime) => this.onSpawned(pid, startTime),
        onStartTime: startTime => {
          if (!this.exited && this.pid !== null && this.cgroup === null) this.writePidFile(this.pid, startTime)
        },
        onSpawnFailed: message => this.failSpawn(message),
        onExited: (code, signal) => this.onExit(code, signal),
        onOutputClosed: () => {
          this.outputClosed = true
          if (this.exited) this.finalize()
        },
      },
    )
  }

  /** The directory work is file-system metadata, which took 1-3 ms per call on this VM under load
   * (ext4 inode allocation): off the event loop, so one task's mkdir does not hold up the launches
   * and exits of all the others. */
  private async prepareWorkDir(): Promise<boolean> {
    const { paths, user } = this.opts
    try {
      // As the launcher makes it (native/launcher.c): the task's own directory (0700, its user's),
      // in directories of the agent's that others may pass through but not list (0711).
      await mkdir(path.dirname(paths.workDir), { recursive: true, mode: 0o711 })
      let made = true
      try {
        await mkdir(paths.workDir, { mode: 0o700 })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        made = false
      }
      if (user !== null) await lchown(paths.workDir, user.uid, user.gid)
      // Already there: the same attempt relaunched after an agent restart, which starts its logs
      // afresh.
      if (!made) {
        await Promise.all([
          rm(paths.truncatedMarker.stdout, { force: true }),
          rm(paths.truncatedMarker.stderr, { force: true }),
        ])
      }
      return true
    } catch (err) {
      this.failSpawn(`cannot prepare ${paths.workDir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
      return false
    }
  }

  private onSpawned(pid: number, startTime: string | null): void {
    this.pid = pid
    this.startedAtMs = nowMs()
    // The launcher tells the start time a few ms later, for a task still running then: its pid
    // file is written at that point, once. A task that ends sooner (most short ones) never gets
    // one, which saves creating and deleting a file per short task. The window this leaves: a
    // launcher SIGKILLed together with its agent within a task's first milliseconds leaves
    // that task unrecorded. In a cgroup there is no pid file at all: every process of the task is
    // in it, and the next start empties and removes what a dead agent left (removeLeftovers).
    if (!this.opts.spawner.startTimeLater && this.cgroup === null) this.writePidFile(pid, startTime)
    if (this.abandoned) {
      this.sigkill()
      return
    }
    if (this.killOnSpawn !== null) {
      const graceful = this.killOnSpawn === 'graceful'
      this.killOnSpawn = null
      this.signal(graceful)
    }
    if (this.req.timeoutMs !== null && !this.exited) this.armTimeout(this.req.timeoutMs)
    this.opts.onStarted(this)
  }

  private writePidFile(pid: number, startTime: string | null): void {
    const record = { taskId: this.req.taskId, attempt: this.req.attempt, pid, startTime }
    this.pidFileWritten = true
    try {
      writePidFile(this.opts.paths.pidFile, record)
    } catch (err) {
      this.opts.logger.warn(
        { ...this.context, err },
        'could not write pid file; a restarted agent will not find this task',
      )
    }
  }

  /**
   * Kills the group for `reason`. Graceful: SIGTERM now, SIGKILL after the grace period; otherwise
   * SIGKILL now. The first reason is the one reported; a later call can still escalate to SIGKILL.
   * Returns false if there is nothing to kill (not spawned, or already exited).
   */
  terminate(reason: KillReason, message: string, graceful: boolean): boolean {
    if (this.exited || this.finalizing) return false
    if (this.killedFor === null) this.killedFor = { reason, message }
    if (this.pid === null) {
      // Spawning: the launcher has not said the pid yet.
      if (this.killOnSpawn !== 'now') this.killOnSpawn = graceful ? 'graceful' : 'now'
      return true
    }
    // Repeated calls (the memory poll keeps finding the task until it is gone) change nothing.
    if (this.sigkillSent || (graceful && this.graceTimer !== null)) return true
    this.opts.logger.info({ ...this.context, reason, message }, graceful ? 'terminating task' : 'killing task')
    this.signal(graceful)
    return true
  }

  /** Graceful: SIGTERM now, SIGKILL after the grace period; otherwise SIGKILL now. */
  private signal(graceful: boolean): void {
    if (graceful && this.pid !== null) {
      // The cgroup holds the group and whatever left it.
      if (this.cgroup !== null) this.cgroup.terminate()
      else killGroup(this.pid, 'SIGTERM', this.opts.logger)
      this.graceTimer = setTimeout(() => this.sigkill(), this.opts.killGraceMs)
    } else {
      this.sigkill()
    }
  }

  /** For an agent that is leaving: SIGKILL the group and report nothing. */
  abandon(): void {
    this.abandoned = true
    // The SIGKILL below makes them moot; cleared so that they keep nothing alive.
    clearTimeout(this.timeoutTimer ?? undefined)
    clearTimeout(this.graceTimer ?? undefined)
    if (this.pid !== null && !this.exited) this.sigkill()
    // Not spawned yet: onSpawned kills it.
  }

  private sigkill(): void {
    if (this.pid === null || this.sigkillSent) return
    this.sigkillSent = true
    if (this.cgroup !== null) this.cgroup.kill()
    else killGroup(this.pid, 'SIGKILL', this.opts.logger)
  }

  private armTimeout(remainingMs: number): void {
    const stepMs = Math.min(remainingMs, MAX_TIMER_MS)
    this.timeoutTimer = setTimeout(() => {
      if (remainingMs > stepMs) {
        this.armTimeout(remainingMs - stepMs)
        return
      }
      this.terminate('timeout', `killed after ${this.req.timeoutMs} ms timeout`, true)
    }, stepMs)
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return
    this.exited = true
    this.exitedAtMs = nowMs()
    this.exitCode = code
    this.exitSignal = signal
    this.clearTimers()
    if (this.cgroup !== null) {
      // Leftovers of a finished task, wherever they moved; then what the kernel did to it, which
      // only explains a task that did not succeed.
      this.cgroup.kill()
      if (signal !== null || code !== 0) this.oomKills = this.cgroup.oomKills()
    }
    if (this.pid !== null) {
      // Leftovers of a finished task; ESRCH (nothing left) is the usual answer. A spawner that
      // did this already did it safely; doing it again now could reach a recycled pid's group.
      if (!this.opts.spawner.killsGroupOnExit && this.cgroup === null) killGroup(this.pid, 'SIGKILL', this.opts.logger)
      if (this.pidFileWritten) {
        try {
          removePidFile(this.opts.paths.pidFile)
        } catch (err) {
          this.opts.logger.warn({ ...this.context, err }, 'could not remove pid file')
        }
      }
    }
    if (this.outputClosed) {
      this.finalize()
      return
    }
    // A process that left the group (setsid) can hold the pipes open past the group kill; its
    // output after the main process exited is not worth an outcome that never comes.
    this.drainTimer = setTimeout(() => {
      this.opts.logger.warn(this.context, 'task output still open after exit; closing it')
      this.process?.closeOutput()
    }, this.opts.killGraceMs)
  }

  private clearTimers(): void {
    for (const timer of [this.timeoutTimer, this.graceTimer, this.drainTimer]) if (timer !== null) clearTimeout(timer)
    this.timeoutTimer = this.graceTimer = this.drainTimer = null
  }

  private failSpawn(message: string): void {
    this.spawnError = message
    this.finalize()
  }

  private finalize(): void {
    if (this.finalizing) return
    this.finalizing = true
    this.clearTimers()
    const outcome = this.outcome()
    this.removeCgroup(CGROUP_REMOVE_TRIES)
    // onExit removed the pid file (or logged why it could not): whoever hears of the outcome may
    // rely on that. Reported a microtask later, never from inside the launch or kill call that failed.
    queueMicrotask(() => {
      if (!this.abandoned) this.opts.onFinished(outcome)
      this.resolveDone()
    })
  }

  private removeCgroup(triesLeft: number): void {
    const { cgroup } = this
    if (cgroup === null) return
    // Only processes that outlived their kill keep it busy (a moment while they exit).
    if (cgroup.remove()) return
    cgroup.kill()
    if (triesLeft <= 1) {
      this.opts.logger.warn(this.context, "task cgroup still busy; the agent's next start removes it")
      return
    }
    setTimeout(() => this.removeCgroup(triesLeft - 1), CGROUP_REMOVE_RETRY_MS).unref()
  }

  private outcome(): TaskOutcome {
    const base = {
      taskId: this.req.taskId,
      attempt: this.req.attempt,
      exitCode: this.exitCode,
      signal: this.exitSignal,
      startedAtMs: this.startedAtMs,
      finishedAtMs: this.exitedAtMs ?? nowMs(),
    }
    if (this.spawnError !== null) return { ...base, reason: 'spawn_error', message: this.spawnError, startedAtMs: null }
    // A memory kill is SIGKILL at once: a process that still exited with a code of its own had
    // finished before the kill landed (a short task caught by one poll), and its exit is what
    // happened. A SIGTERM (timeout, cancel) asks the task to end, so however it ends is ours.
    const killLostTheRace = this.killedFor?.reason === 'memory' && this.exitSignal === null && this.exitCode !== null
    if (this.killedFor !== null && !killLostTheRace)
      return { ...base, reason: this.killedFor.reason, message: this.killedFor.message }
    // The kernel's OOM killer took a process of a task that then did not succeed: most likely why.
    const succeeded = this.exitSignal === null && this.exitCode === 0
    if (this.oomKills > 0 && !succeeded)
      return {
        ...base,
        reason: 'memory',
        message: `the kernel killed ${this.oomKills === 1 ? 'a process' : `${this.oomKills} processes`} of it at its ${this.req.memoryMb} MiB memory limit`,
      }
    if (this.exitSignal === 'SIGXFSZ' && this.opts.maxFileBytes !== null)
      return {
        ...base,
        reason: 'disk',
        message: `killed by SIGXFSZ: a file reached the ${sizeText(this.opts.maxFileBytes)} file-size limit`,
      }
    if (this.exitSignal !== null) return { ...base, reason: 'signal', message: `killed by ${this.exitSignal}` }
    return { ...base, reason: 'exited', message: `exit code ${this.exitCode ?? 'unknown'}` }
  }
}
