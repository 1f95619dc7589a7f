// The executor as the agent uses it when tasks are spawned with child_process (agent-executor.ts):
// the Executor runs in a small child process (executor-process.ts, which says why), and this side
// keeps the books that callers read synchronously (what runs, what is allocated), admitting
// launches with the same rule (admission.ts). The books change only on messages from the
// executor, so they never claim less than it holds: an attempt is released here only after its
// outcome was reported.
//
// If the executor process dies, the node can neither run tasks nor report them: the agent stops
// with an error (fail-stop); on restart it kills the orphans and reports those attempts lost.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { admissionProblem, sumResources } from '../admission.js'
import { attemptKey, type ExecutorListener, type ExecutorOptions, type LaunchResult } from '../executor.js'
import { killOrphans, type KilledOrphan } from '../proc/orphans.js'
import { readTaskLog } from '../files/read-log.js'
import type { ExecutorProcessConfig, FromExecutor, ToExecutor } from './executor-protocol.js'
import type { SpawnerKind } from '../spawn/spawner.js'
import type {
  ExecutorLogger,
  LaunchRequest,
  LogChunk,
  LogStream,
  Resources,
  RunningTask,
  TaskOutcome,
} from '../types.js'

/** The options without the callbacks and the logger, which cannot cross to the executor process. */
function configOf({ onSpawnerDied: _died, logger: _logger, ...config }: ExecutorOptions): ExecutorProcessConfig {
  return config
}

const SILENT: ExecutorLogger = { isLevelEnabled: () => false, debug() {}, info() {}, warn() {}, error() {} }

export class IsolatedExecutor {
  private readonly child: ChildProcess
  /** Admitted and not yet reported finished. */
  private readonly launched = new Map<string, LaunchRequest>()
  /** Spawned and not yet reported finished. */
  private readonly started = new Map<string, RunningTask>()
  private readonly finished = new Set<string>()
  private readonly logger: ExecutorLogger
  private stopped = false
  /** How the executor process starts tasks; null until it said so. */
  spawnerKind: SpawnerKind | null = null
  private stoppedAck: (() => void) | null = null
  private listener: ExecutorListener | null = null

  constructor(private readonly opts: ExecutorOptions) {
    this.logger = opts.logger ?? SILENT
    // A small heap is plenty for bookkeeping and pipes, and keeps every fork from it cheap; the
    // agent's own V8 flags (tuned for its heap) are not passed on.
    this.child = fork(fileURLToPath(new URL('./executor-process.js', import.meta.url)), [], {
      execArgv: ['--max-old-space-size=64'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    })
    this.child.on('message', (msg: FromExecutor) => {
      this.receive(msg)
    })
    this.child.on('exit', (code, signal) => {
      if (this.stopped) return
      const reason = `executor process died (${signal ?? `status ${code}`})`
      this.logger.error({ code, signal }, 'executor process died: tasks can neither run nor be reported')
      this.opts.onSpawnerDied?.(reason)
    })
    this.send({
      op: 'configure',
      debugLogs: this.logger.isLevelEnabled?.('debug') ?? true,
      config: configOf(opts),
    })
  }

  /** Registers the one listener (a later call replaces it). */
  listen(listener: ExecutorListener): void {
    this.listener = listener
  }

  /** For metrics and tests. */
  get pid(): number | undefined {
    return this.child.pid
  }

  launch(req: LaunchRequest): LaunchResult {
    const key = attemptKey(req.taskId, req.attempt)
    const problem = admissionProblem(req, {
      stopped: this.stopped,
      running: this.launched.has(key),
      finished: this.finished.has(key),
      used: this.allocated(),
      capacity: this.opts.capacity,
    })
    if (problem !== null) return { ok: false, reason: problem }
    this.launched.set(key, req)
    this.send({ op: 'launch', req })
    return { ok: true }
  }

  cancel(taskId: string): boolean {
    const found = [...this.launched.values()].some(r => r.taskId === taskId)
    if (found) this.send({ op: 'cancel', taskId })
    return found
  }

  running(): RunningTask[] {
    return [...this.started.values()]
  }

  isRunning(taskId: string, attempt: number): boolean {
    return this.launched.has(attemptKey(taskId, attempt))
  }

  allocated(): Resources {
    return sumResources(this.launched.values())
  }

  async readLog(
    taskId: string,
    attempt: number,
    stream: LogStream,
    offset: number,
    maxBytes: number,
  ): Promise<LogChunk | null> {
    return await readTaskLog(this.opts.dataDir, taskId, attempt, stream, offset, maxBytes)
  }

  /** At agent start-up, before the first launch. */
  async killOrphans(): Promise<KilledOrphan[]> {
    return await killOrphans(
      this.opts.dataDir,
      record => this.launched.has(attemptKey(record.taskId, record.attempt)),
      this.logger,
    )
  }

  /** As Executor.stop(): kills every task group, reports no outcomes, then ends the process. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    const acked = new Promise<void>(resolve => {
      this.stoppedAck = resolve
    })
    this.send({ op: 'stop' })
    // The executor's own stop is bounded (twice the kill grace); this only guards a wedged one.
    await Promise.race([acked, new Promise(resolve => setTimeout(resolve, 2 * this.opts.killGraceMs + 2000))])
    this.launched.clear()
    this.started.clear()
    this.child.disconnect()
  }

  private send(msg: ToExecutor): void {
    if (this.child.connected) this.child.send(msg)
  }

  private receive(msg: FromExecutor): void {
    switch (msg.op) {
      case 'started': {
        const key = attemptKey(msg.task.taskId, msg.task.attempt)
        if (!this.launched.has(key)) return
        this.started.set(key, msg.task)
        this.callback(() => this.listener?.onStarted(msg.task), msg.task.taskId)
        break
      }
      case 'finished':
        this.release(msg.outcome)
        break
      case 'refused': {
        const now = performance.timeOrigin + performance.now()
        this.release({
          taskId: msg.taskId,
          attempt: msg.attempt,
          reason: 'spawn_error',
          exitCode: null,
          signal: null,
          message: `refused by the executor: ${msg.reason}`,
          startedAtMs: null,
          finishedAtMs: now,
        })
        break
      }
      case 'log':
        this.logger[msg.level](msg.obj, msg.msg)
        break
      case 'ready':
        this.spawnerKind = msg.spawner
        break
      case 'stopped':
        this.stoppedAck?.()
        break
    }
  }

  private release(outcome: TaskOutcome): void {
    const key = attemptKey(outcome.taskId, outcome.attempt)
    if (!this.launched.delete(key)) return
    this.started.delete(key)
    this.finished.add(key)
    if (!this.stopped) this.callback(() => this.listener?.onFinished(outcome), outcome.taskId)
  }

  private callback(fn: () => void, taskId: string): void {
    try {
      fn()
    } catch (err) {
      this.logger.error({ err, taskId }, 'executor callback threw')
    }
  }
}
