// The executor as the agent uses it: the Executor runs in a worker thread (executor-thread.ts) so
// that process creation never stalls the main thread, and this side keeps the books that callers
// read synchronously (what runs, what is allocated), admitting launches with the same rule
// (admission.ts). The books change only on messages from the thread, so they never claim less
// than the thread holds: an attempt is released here only after the thread reported its outcome.
//
// If the thread dies, the node cannot run tasks and cannot report them: the agent stops with an
// error (fail-stop), and on restart kills the orphans and reports those attempts lost.
import { Worker } from 'node:worker_threads'
import { admissionProblem } from './admission.js'
import { attemptKey, type ExecutorOptions, type LaunchResult } from './executor.js'
import { killOrphans, type KilledOrphan } from './orphans.js'
import { readTaskLog } from './read-log.js'
import type { FromThread, ToThread } from './thread-protocol.js'
import type { ExecutorLogger, LaunchRequest, LogChunk, LogStream, Resources, RunningTask, TaskOutcome } from './types.js'

const SILENT: ExecutorLogger = { debug () {}, info () {}, warn () {}, error () {} }

export class ThreadedExecutor {
  private readonly thread: Worker
  /** Admitted and not yet reported finished. */
  private readonly launched = new Map<string, LaunchRequest>()
  /** Spawned and not yet reported finished. */
  private readonly started = new Map<string, RunningTask>()
  private readonly finished = new Set<string>()
  private readonly logger: ExecutorLogger
  private stopped = false
  private stoppedAck: (() => void) | null = null

  constructor (private readonly opts: ExecutorOptions) {
    this.logger = opts.logger ?? SILENT
    this.thread = new Worker(new URL('./executor-thread.js', import.meta.url), {
      workerData: { dataDir: opts.dataDir, capacity: opts.capacity, maxLogBytes: opts.maxLogBytes, killGraceMs: opts.killGraceMs, memoryPollMs: opts.memoryPollMs }
    })
    this.thread.on('message', (msg: FromThread) => { this.receive(msg) })
    this.thread.on('error', err => {
      this.logger.error({ err }, 'executor thread failed; stopping the agent (tasks cannot run or be reported)')
      process.exit(1)
    })
  }

  launch (req: LaunchRequest): LaunchResult {
    const key = attemptKey(req.taskId, req.attempt)
    const problem = admissionProblem(req, {
      stopped: this.stopped, running: this.launched.has(key), finished: this.finished.has(key), used: this.allocated(), capacity: this.opts.capacity
    })
    if (problem !== null) return { ok: false, reason: problem }
    this.launched.set(key, req)
    this.send({ op: 'launch', req })
    return { ok: true }
  }

  cancel (taskId: string): boolean {
    const found = [...this.launched.values()].some(r => r.taskId === taskId)
    if (found) this.send({ op: 'cancel', taskId })
    return found
  }

  running (): RunningTask[] {
    return [...this.started.values()]
  }

  isRunning (taskId: string, attempt: number): boolean {
    return this.launched.has(attemptKey(taskId, attempt))
  }

  allocated (): Resources {
    let cpus = 0
    let memoryMb = 0
    for (const r of this.launched.values()) {
      cpus += r.cpus
      memoryMb += r.memoryMb
    }
    return { cpus, memoryMb }
  }

  async readLog (taskId: string, attempt: number, stream: LogStream, offset: number, maxBytes: number): Promise<LogChunk | null> {
    return await readTaskLog(this.opts.dataDir, taskId, attempt, stream, offset, maxBytes)
  }

  /** At agent start-up, before the first launch. */
  async killOrphans (): Promise<KilledOrphan[]> {
    return await killOrphans(this.opts.dataDir, record => this.launched.has(attemptKey(record.taskId, record.attempt)), this.logger)
  }

  /** As Executor.stop(): kills every task group, reports no outcomes, then ends the thread. */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    const acked = new Promise<void>(resolve => { this.stoppedAck = resolve })
    this.send({ op: 'stop' })
    // The thread's own stop is bounded (twice the kill grace); this only guards a wedged thread.
    await Promise.race([acked, new Promise(resolve => setTimeout(resolve, 2 * (this.opts.killGraceMs ?? 2000) + 2000))])
    this.launched.clear()
    this.started.clear()
    await this.thread.terminate()
  }

  private send (msg: ToThread): void {
    this.thread.postMessage(msg)
  }

  private receive (msg: FromThread): void {
    switch (msg.op) {
      case 'started': {
        const key = attemptKey(msg.task.taskId, msg.task.attempt)
        if (!this.launched.has(key)) return
        this.started.set(key, msg.task)
        this.callback(() => this.opts.onStarted?.(msg.task), msg.task.taskId)
        break
      }
      case 'finished':
        this.release(msg.outcome)
        break
      case 'refused': {
        const now = performance.timeOrigin + performance.now()
        this.release({
          taskId: msg.taskId, attempt: msg.attempt, reason: 'spawn_error', exitCode: null, signal: null,
          message: `refused by the executor: ${msg.reason}`, startedAtMs: null, finishedAtMs: now
        })
        break
      }
      case 'log':
        this.logger[msg.level](msg.obj, msg.msg)
        break
      case 'stopped':
        this.stoppedAck?.()
        break
    }
  }

  private release (outcome: TaskOutcome): void {
    const key = attemptKey(outcome.taskId, outcome.attempt)
    if (!this.launched.delete(key)) return
    this.started.delete(key)
    this.finished.add(key)
    if (!this.stopped) this.callback(() => this.opts.onFinished?.(outcome), outcome.taskId)
  }

  private callback (fn: () => void, taskId: string): void {
    try {
      fn()
    } catch (err) {
      this.logger.error({ err, taskId }, 'executor callback threw')
    }
  }
}
