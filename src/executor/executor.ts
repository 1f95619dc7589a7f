// The node's executor: admits launch requests against the node's advertised capacity, runs each
// admitted attempt as a child process group (task-run.ts), in a cgroup of its own where the node
// has them, as the task user where the agent is root (sandbox.ts), enforces memory limits (the
// kernel's, or memory-watch.ts) and work-dir bounds (disk-watch.ts) and reports one outcome per
// attempt.
//
// Lifetime rules:
// - A launched attempt counts as running, and its cpus/memoryMb as allocated, from launch() until
//   its outcome is reported: a task whose main process exited still holds the node until its logs
//   are flushed, and the accounting must never promise more than the node has.
// - An attempt is launched at most once per Executor: a second launch of the same taskId+attempt
//   is refused whether the first is still running or finished. (Remembered for the life of the
//   process; across a restart the master's attempt numbering is what keeps attempts apart.)
// - stop() is for an agent that is leaving: it SIGKILLs every task group and reports NO outcomes,
//   since the master re-queues a departed node's tasks as lost anyway, and an outcome sent while
//   leaving would race that. onFinished is therefore "exactly once per attempt, unless stop()".
import { killOrphans, type KilledOrphan } from './proc/orphans.js'
import { admissionProblem, sumResources } from './admission.js'
import { MemoryWatch, type MemoryTarget } from './proc/memory-watch.js'
import { DiskWatch, type DiskTarget } from './files/disk-watch.js'
import { nodeCgroupDirs, openCgroups } from './cgroups/setup.js'
import { removeLeftovers, type CgroupDriver } from './cgroups/cgroups.js'
import { NO_SANDBOX, type TaskSandbox } from './sandbox.js'
import { readTaskLog } from './files/read-log.js'
import { taskPaths } from './files/task-dir.js'
import { TaskRun } from './task-run.js'
import { createSpawner, type Spawner, type SpawnerKind } from './spawn/spawner.js'
import type { ExecutorConfig } from './config.js'
import type {
  ExecutorLogger,
  LaunchRequest,
  LogChunk,
  LogStream,
  Resources,
  RunningTask,
  TaskOutcome,
} from './types.js'

/** The knobs come from ExecutorConfig (config.ts, DEFAULT_EXECUTOR): killGraceMs is also how long
 * output may stay open after the main process exited. */
export interface ExecutorOptions extends ExecutorConfig {
  /** Tasks run in <dataDir>/tasks/<taskId>/<attempt>/, which also holds stdout.log, stderr.log and pid. */
  dataDir: string
  /** What the node advertises; the sum over running tasks never exceeds it. */
  capacity: Resources
  /** Who tasks run as and the node's cgroups (made at agent start); absent: NO_SANDBOX. */
  sandbox?: TaskSandbox
  /**
   * The launcher (or, for the isolated executor, the executor process) died: running tasks can no
   * longer be watched or reported. Default: log it. The agent stops (fail-stop; agent-executor.ts).
   */
  onSpawnerDied?: (reason: string) => void
  logger?: ExecutorLogger
}

export type LaunchResult = { ok: true } | { ok: false; reason: string }

/** Who hears about attempts (the worker). Exceptions thrown here are logged and swallowed. */
export interface ExecutorListener {
  /** When the process has spawned. */
  onStarted: (task: RunningTask) => void
  /** Once per launched attempt (unless stop() came first), after its logs are complete. */
  onFinished: (outcome: TaskOutcome) => void
}

const MIB = 1024 * 1024

const SILENT: ExecutorLogger = { debug() {}, info() {}, warn() {}, error() {} }

export function attemptKey(taskId: string, attempt: number): string {
  return `${taskId}\u0000${attempt}`
}

export class Executor {
  private readonly runs = new Map<string, TaskRun>()
  private readonly finished = new Set<string>()
  private readonly logger: ExecutorLogger
  private readonly maxLogBytes: number
  private readonly killGraceMs: number
  private readonly memory: MemoryWatch
  private readonly disk: DiskWatch
  private readonly sandbox: TaskSandbox
  private readonly cgroups: CgroupDriver | null
  private readonly spawner: Spawner
  private stopped = false
  private stopping: Promise<void> | null = null
  private listener: ExecutorListener | null = null

  constructor(private readonly opts: ExecutorOptions) {
    this.logger = opts.logger ?? SILENT
    this.maxLogBytes = opts.maxLogBytes
    this.killGraceMs = opts.killGraceMs
    this.memory = new MemoryWatch(opts.memoryPollMs, () => this.memoryTargets(), this.logger)
    this.disk = new DiskWatch(
      opts.diskPollMs,
      { maxBytes: opts.maxWorkDirBytes, maxEntries: opts.maxWorkDirEntries },
      () => this.diskTargets(),
      this.logger,
    )
    this.sandbox = opts.sandbox ?? NO_SANDBOX
    this.cgroups = this.sandbox.cgroups === null ? null : openCgroups(this.sandbox.cgroups)
    this.spawner = createSpawner(
      opts.spawner,
      this.logger,
      reason => {
        this.logger.error({ reason }, 'task launcher died')
        opts.onSpawnerDied?.(reason)
      },
      this.sandbox.cgroups === null ? [] : nodeCgroupDirs(this.sandbox.cgroups),
    )
  }

  /** Registers the one listener (a later call replaces it). */
  listen(listener: ExecutorListener): void {
    this.listener = listener
  }

  /** Which spawner runs the tasks; for logs and tests. */
  get spawnerKind(): Spawner['kind'] {
    return this.spawner.kind
  }

  /**
   * Starts the attempt, or refuses it without spawning anything: a malformed request, a duplicate
   * attempt, not enough free capacity, or a stopped executor. Once accepted, every failure
   * (including a missing binary) is reported through onFinished, never thrown.
   */
  launch(req: LaunchRequest): LaunchResult {
    const key = attemptKey(req.taskId, req.attempt)
    const problem = admissionProblem(req, {
      stopped: this.stopped,
      running: this.runs.has(key),
      finished: this.finished.has(key),
      used: this.allocated(),
      capacity: this.opts.capacity,
    })
    if (problem !== null) return { ok: false, reason: problem }

    const run: TaskRun = new TaskRun(req, {
      paths: taskPaths(this.opts.dataDir, req.taskId, req.attempt),
      maxLogBytes: this.maxLogBytes,
      killGraceMs: this.killGraceMs,
      logger: this.logger,
      spawner: this.spawner,
      user: this.sandbox.user,
      cgroups: this.cgroups,
      pidsMax: this.opts.pidsMax,
      maxFileBytes: this.opts.maxWorkDirBytes,
      onStarted: () => this.started(run),
      onFinished: outcome => this.finish(key, outcome),
    })
    this.runs.set(key, run)
    this.logger.debug({ taskId: req.taskId, attempt: req.attempt }, 'launching task')
    run.start()
    return { ok: true }
  }

  /** SIGTERM to every running attempt of the task, SIGKILL after the grace period. False if none is running. */
  cancel(taskId: string): boolean {
    let found = false
    for (const run of this.runs.values()) {
      if (run.req.taskId === taskId && run.terminate('cancelled', 'cancelled', true)) found = true
    }
    return found
  }

  /** Attempts that have spawned and whose outcome is not reported yet. */
  running(): RunningTask[] {
    const tasks: RunningTask[] = []
    for (const run of this.runs.values()) {
      const task = runningTask(run)
      if (task !== null) tasks.push(task)
    }
    return tasks
  }

  /** From launch() until the outcome is reported (so also while spawning and while logs flush). */
  isRunning(taskId: string, attempt: number): boolean {
    return this.runs.has(attemptKey(taskId, attempt))
  }

  /** The resources of every attempt from launch() until its outcome is reported. */
  allocated(): Resources {
    return sumResources([...this.runs.values()].map(run => run.req))
  }

  /**
   * A chunk of a task's log, from the files: works while it runs, after it ended and after an agent
   * restart. Null if this node has no directory for that attempt. See readTaskLog.
   */
  async readLog(
    taskId: string,
    attempt: number,
    stream: LogStream,
    offset: number,
    maxBytes: number,
  ): Promise<LogChunk | null> {
    return await readTaskLog(this.opts.dataDir, taskId, attempt, stream, offset, maxBytes)
  }

  /**
   * SIGKILLs the process groups a previous agent on this dataDir left running (see orphans.ts),
   * and removes the attempt cgroups it left (with whatever still runs in them). Meant for agent
   * start-up, before the first launch.
   */
  async killOrphans(): Promise<KilledOrphan[]> {
    const leftovers = this.cgroups === null ? [] : await removeLeftovers(this.cgroups)
    if (leftovers.length > 0) this.logger.warn({ cgroups: leftovers }, 'removed task cgroups left by an earlier run')
    return await killOrphans(
      this.opts.dataDir,
      record => {
        const run = this.runs.get(attemptKey(record.taskId, record.attempt))
        return run !== undefined || [...this.runs.values()].some(other => other.pid === record.pid)
      },
      this.logger,
    )
  }

  /**
   * For an agent that is leaving: refuses further launches, SIGKILLs every task group, reports no
   * outcomes, and resolves once they have exited and their logs are closed (or after twice the
   * kill grace period, for a process stuck in the kernel). The task groups are SIGKILLed before it
   * returns; a second call answers the first's promise.
   */
  async stop(): Promise<void> {
    this.stopping ??= this.stopRuns()
    await this.stopping
  }

  private async stopRuns(): Promise<void> {
    this.stopped = true
    this.memory.stop()
    this.disk.stop()
    const runs = [...this.runs.values()]
    for (const run of runs) run.abandon()
    if (runs.length === 0) {
      this.spawner.close()
      return
    }
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<'late'>(resolve => {
      timer = setTimeout(() => resolve('late'), 2 * this.killGraceMs)
    })
    const result = await Promise.race([Promise.all(runs.map(async run => await run.done)), deadline])
    clearTimeout(timer)
    // After the runs: the launcher reports their exits, and closing it kills what is left.
    this.spawner.close()
    // Abandoned runs never report, so they leave the books here rather than in finish().
    this.runs.clear()
    if (result === 'late')
      this.logger.warn({ tasks: runs.filter(run => !run.exited).length }, 'task processes still alive after stop')
  }

  private started(run: TaskRun): void {
    if (this.cgroups === null) this.memory.wake()
    this.disk.wake()
    const task = runningTask(run)
    if (task === null) return
    this.logger.debug({ taskId: task.taskId, attempt: task.attempt, pid: task.pid }, 'task started')
    if (this.listener === null) return
    try {
      this.listener.onStarted(task)
    } catch (err) {
      this.logger.error({ err, taskId: task.taskId, attempt: task.attempt }, 'onStarted threw')
    }
  }

  private finish(key: string, outcome: TaskOutcome): void {
    this.runs.delete(key)
    this.finished.add(key)
    this.logger.debug({ ...outcome }, 'task finished')
    if (this.listener === null) return
    try {
      this.listener.onFinished(outcome)
    } catch (err) {
      this.logger.error({ err, taskId: outcome.taskId, attempt: outcome.attempt }, 'onFinished threw')
    }
  }

  private diskTargets(): DiskTarget[] {
    const targets: DiskTarget[] = []
    for (const run of this.runs.values()) {
      if (run.pid === null || run.exited) continue
      targets.push({ dir: run.workDir, onOver: message => run.terminate('disk', message, false) })
    }
    return targets
  }

  /** Where the kernel enforces memory limits (cgroups), nothing is polled. */
  private memoryTargets(): MemoryTarget[] {
    const targets: MemoryTarget[] = []
    if (this.cgroups !== null) return targets
    for (const run of this.runs.values()) {
      const pgid = run.pid
      if (pgid === null || run.exited) continue
      const limitMb = run.req.memoryMb
      targets.push({
        pgid,
        limitBytes: limitMb * MIB,
        // Rounded up, so the message never reads "used 64 MiB of 64 MiB".
        onOver: usedBytes => {
          run.terminate('memory', `used ${Math.ceil(usedBytes / MIB)} MiB of ${limitMb} MiB limit`, false)
        },
      })
    }
    return targets
  }
}

function runningTask(run: TaskRun): RunningTask | null {
  if (run.pid === null || run.startedAtMs === null) return null
  const { taskId, attempt, cpus, memoryMb } = run.req
  return { taskId, attempt, pid: run.pid, startedAtMs: run.startedAtMs, cpus, memoryMb }
}

/** What the rest of the node uses: the Executor itself, or its proxy in a child process
 * (agent-executor.ts says which, when). */
export type TaskExecutor = Pick<
  Executor,
  'listen' | 'launch' | 'cancel' | 'running' | 'isRunning' | 'allocated' | 'readLog' | 'killOrphans' | 'stop'
> & {
  /** Null while an executor process has not said yet. */
  readonly spawnerKind: SpawnerKind | null
}
