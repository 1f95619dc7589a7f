// The worker role (every node): runs the tasks the log assigns to this node and reports what
// happened. Assignments arrive through the replicated log, so only committed decisions of a
// leader are ever acted on; starts and outcomes go back as task.report commands, retried (they
// are idempotent) until committed, through however many leader changes that takes.
//
// After a restart the log replays old assignments. An attempt is launched at most once per data
// dir: if its work directory exists, it ran in an earlier life of this node, its process was
// killed at start-up (Executor.killOrphans), and it is reported lost so the master re-queues it.
// Nothing is launched until this node has applied everything the leader says is committed, so a
// replayed assignment that a later entry superseded (the task was re-queued elsewhere while this
// node was down) is never started.
import { existsSync } from 'node:fs'
import type { Logger } from 'pino'
import type { ExecutorListener, TaskExecutor } from '../executor/executor.js'
import type { TaskOutcome, RunningTask } from '../executor/types.js'
import { taskPaths } from '../executor/files/task-dir.js'
import { CommandRefusedError, type TaskCluster } from './cluster-port.js'
import type { TaskReportEvent } from './commands.js'
import type { Assignment, AssignmentSource } from './assignments.js'
import type { Clock, TimerHandle } from '../util/clock.js'
import { collectTaskDirs } from './task-dir-gc.js'

export interface WorkerInit {
  self: string
  dataDir: string
  /** Where reports are written. */
  cluster: TaskCluster
  /** What this node is assigned: its replica of the log, or the leader's stream. */
  assignments: AssignmentSource
  executor: TaskExecutor
  clock: Clock
  /** Events per report command: one log entry. */
  maxEventsPerReport: number
  /** How long a 'started' event may wait for company (its finish, or any other report). */
  startReportDelayMs: number
  /** How often assignments are checked against what runs, even without a change. */
  reconcileMs: number
  taskDirRetentionMs: number
  taskDirGcIntervalMs: number
  /** What this node's task dirs may hold together (task-dir-gc.ts). */
  taskDirsMaxBytes: number
  logger: Logger
}

const key = (id: string, attempt: number): string => `${id}/${attempt}`
const LAUNCHES_PER_TURN = 64

export class Worker implements ExecutorListener {
  /** Attempts handled in this process: launched, refused or reported lost. */
  private readonly handled = new Set<string>()
  /** Assignments waiting to be launched, one per event-loop turn (see drainLaunches). */
  private readonly launches: Assignment[] = []
  private draining = false
  private queue: TaskReportEvent[] = []
  /** 'started' events still waiting in the queue, by attempt. */
  private readonly unsentStarts = new Map<string, TaskReportEvent>()
  /** Queued 'started' events made redundant by their attempt's 'finished' (it carries the start
   * time): a task that ends before its start was reported costs one event, not two. */
  private readonly superseded = new Set<TaskReportEvent>()
  private flushing = false
  /** Whenever 'started' events wait (unsentStarts), this timer is pending or has fired
   * (startsOverdue): when it fires they go, whatever else is queued. No clock is compared: a
   * timer can fire a little before the clock says its delay passed. */
  private startTimer: TimerHandle | undefined
  private startsOverdue = false
  private syncScheduled = false
  /** A sync found this node behind the commit index: the next applied task command syncs again. */
  private syncDeferred = false
  private timer: TimerHandle | undefined
  private gcTimer: TimerHandle | undefined
  private stopped = false
  private readonly log: Logger

  constructor(private readonly init: WorkerInit) {
    this.log = init.logger.child({ component: 'worker' })
  }

  start(): void {
    this.init.executor.listen(this)
    this.init.assignments.onEvent(ev => {
      if (ev.type === 'assigned' || ev.type === 'revoked' || (ev.type === 'changed' && this.syncDeferred))
        this.syncSoon()
      else if (ev.type === 'cancel') this.init.executor.cancel(ev.id)
    })
    this.timer = this.init.clock.setInterval(() => {
      this.syncSoon()
    }, this.init.reconcileMs)
    this.gcTimer = this.init.clock.setInterval(() => {
      void this.collectDirs()
    }, this.init.taskDirGcIntervalMs)
    this.syncSoon()
  }

  stop(): void {
    this.stopped = true
    this.init.clock.clear(this.timer)
    this.init.clock.clear(this.gcTimer)
    this.init.clock.clear(this.startTimer)
  }

  private async collectDirs(): Promise<void> {
    // Only once complete: a lagging source could take a task it does not know yet for forgotten.
    if (this.stopped || !this.init.assignments.ready()) return
    try {
      const { expired, overCap } = await collectTaskDirs(
        this.init.dataDir,
        this.init.assignments,
        this.init.clock.nowMs(),
        this.init.taskDirRetentionMs,
        this.init.taskDirsMaxBytes,
      )
      if (expired > 0) this.log.info({ removed: expired }, 'removed expired task directories')
      if (overCap > 0)
        this.log.warn(
          { removed: overCap, maxBytes: this.init.taskDirsMaxBytes },
          "removed the oldest finished attempts' directories: task output over the node's bound",
        )
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not remove expired task directories')
    }
  }

  /** Executor callbacks. */
  onStarted(task: RunningTask): void {
    this.report({ kind: 'started', id: task.taskId, attempt: task.attempt, at: task.startedAtMs })
  }

  onFinished(o: TaskOutcome): void {
    this.init.assignments.finishedHere?.(o.taskId, o.attempt)
    this.report({
      kind: 'finished',
      id: o.taskId,
      attempt: o.attempt,
      at: o.finishedAtMs,
      startedAt: o.startedAtMs,
      reason: o.reason,
      exitCode: o.exitCode,
      signal: o.signal,
      message: o.message.slice(0, 1024),
    })
  }

  /** Reports still waiting to be committed (for /metrics and tests). */
  get queuedReports(): number {
    return this.queue.length - this.superseded.size
  }

  /** Syncs once the current batch of applied entries is done: a microtask, so it runs before
   * this node handles another message. Then it has applied all it knows to be committed; a turn
   * of the event loop later, new acknowledgements have usually moved the commit index again
   * (under load, sync then kept finding this node behind and launches waited tens of ms). */
  private syncSoon(): void {
    if (this.syncScheduled || this.stopped) return
    this.syncScheduled = true
    queueMicrotask(() => {
      this.syncScheduled = false
      this.sync()
    })
  }

  /** Launches what the log assigns here and has not run yet; reports what can no longer run. */
  private sync(): void {
    if (this.stopped) return
    // Under load the commit index often moves ahead again between an apply and this turn:
    // waiting for the next assignment here (or the reconcile timer) held launches back by tens
    // of milliseconds.
    this.syncDeferred = !this.init.assignments.ready()
    if (this.syncDeferred) return
    if (this.handled.size > 4096) this.forgetFinishedAttempts()
    const assigned = new Set<string>()
    for (const task of this.init.assignments.active()) {
      const k = key(task.id, task.attempt)
      assigned.add(k)
      if (this.handled.has(k) || this.init.executor.isRunning(task.id, task.attempt)) continue
      this.handled.add(k)
      this.launches.push(task)
    }
    this.stopUnassigned(assigned)
    this.drainLaunches()
  }

  /** An attempt running here that the source no longer assigns here was given up (its node was
   * thought dead, and the task re-queued elsewhere): it must not run twice. */
  private stopUnassigned(assigned: ReadonlySet<string>): void {
    for (const t of this.init.executor.running()) {
      if (assigned.has(key(t.taskId, t.attempt))) continue
      this.log.warn({ taskId: t.taskId, attempt: t.attempt }, 'stopping an attempt no longer assigned to this node')
      this.init.executor.cancel(t.taskId)
    }
  }

  /** Launches go out in slices, with the network, timers and Raft served in between: a burst of
   * a thousand assignments must not hold the event loop for its whole length. The first slice
   * goes at once (a turn of the event loop costs an idle node ~0.6 ms of submit-to-start). */
  private drainLaunches(): void {
    if (this.draining) return
    for (const task of this.launches.splice(0, LAUNCHES_PER_TURN)) {
      if (this.stopped) break
      const current = this.init.assignments.current(task.id)
      // Still ours: it may have been re-queued while it waited. One that this process never
      // launched but whose directory exists ran in an earlier life of the node; launch() reports
      // it lost.
      if (current?.attempt === task.attempt) this.launch(current)
    }
    if (this.launches.length === 0 || this.stopped) return
    this.draining = true
    setImmediate(() => {
      this.draining = false
      this.drainLaunches()
    })
  }

  /** An attempt that is no longer active here never becomes active again (a retry is a new attempt). */
  private forgetFinishedAttempts(): void {
    for (const k of this.handled) {
      const [id, attempt] = k.split('/')
      if (String(this.init.assignments.current(id ?? '')?.attempt) !== attempt) this.handled.delete(k)
    }
  }

  private launch(task: Assignment): void {
    const base = { id: task.id, attempt: task.attempt, startedAt: null, exitCode: null, signal: null }
    if (task.cancelRequested) {
      this.report({
        kind: 'finished',
        ...base,
        at: this.init.clock.nowMs(),
        reason: 'cancelled',
        message: 'cancelled before it started',
      })
      return
    }
    if (existsSync(taskPaths(this.init.dataDir, task.id, task.attempt).workDir)) {
      this.report({
        kind: 'finished',
        ...base,
        at: this.init.clock.nowMs(),
        reason: 'lost',
        message: 'the worker restarted while the task ran',
      })
      return
    }
    const spec = task.spec
    const result = this.init.executor.launch({
      taskId: task.id,
      attempt: task.attempt,
      ...(spec.command !== undefined ? { command: spec.command } : { argv: spec.argv }),
      env: spec.env,
      cpus: spec.cpus,
      memoryMb: spec.memoryMb,
      timeoutMs: spec.timeoutMs,
    })
    if (!result.ok) {
      this.log.warn({ taskId: task.id, attempt: task.attempt, reason: result.reason }, 'refused an assignment')
      this.report({
        kind: 'finished',
        ...base,
        at: this.init.clock.nowMs(),
        reason: 'refused',
        message: result.reason.slice(0, 1024),
      })
    }
  }

  /** A finish goes at once; a start waits up to startReportDelayMs for its finish or another
   * report (see TasksConfig.startReportDelayMs). */
  private report(event: TaskReportEvent): void {
    const k = key(event.id, event.attempt)
    const started = this.unsentStarts.get(k)
    this.queue.push(event)
    if (event.kind === 'started') {
      this.unsentStarts.set(k, event)
      if (this.startsOverdue) {
        void this.flush()
      } else if (this.startTimer === undefined) {
        this.startTimer = this.init.clock.setTimeout(() => {
          this.startTimer = undefined
          this.startsOverdue = true
          void this.flush()
        }, this.init.startReportDelayMs)
      }
      return
    }
    if (started !== undefined) {
      this.superseded.add(started)
      this.unsentStarts.delete(k)
    }
    void this.flush()
  }

  private resetStartTimer(): void {
    this.init.clock.clear(this.startTimer)
    this.startTimer = undefined
    this.startsOverdue = false
  }

  /** One report in flight at a time: whatever queues meanwhile goes out as one entry next. */
  private async flush(): Promise<void> {
    if (this.flushing) return
    this.flushing = true
    let backoffMs = 50
    try {
      while (!this.stopped) {
        if (this.superseded.size > 0) {
          this.queue = this.queue.filter(ev => !this.superseded.has(ev))
          this.superseded.clear()
        }
        if (this.queue.length === 0) {
          this.resetStartTimer()
          break
        }
        // Waiting starts alone wait for their timer (which flushes again), also those queued
        // during a write. (unsentStarts is a subset of the queue here, so equal sizes mean nothing
        // else is queued; a start whose write failed is no longer waiting: it is retried.)
        if (this.queue.length === this.unsentStarts.size && !this.startsOverdue) break
        const events = this.queue.slice(0, this.init.maxEventsPerReport)
        for (const ev of events) if (ev.kind === 'started') this.unsentStarts.delete(key(ev.id, ev.attempt))
        // Every waiting start goes in this report: the next one waits its own full delay.
        if (this.unsentStarts.size === 0) this.resetStartTimer()
        try {
          await this.init.cluster.write({ type: 'task.report', node: this.init.self, events }, { idempotent: true })
          this.queue.splice(0, events.length)
          backoffMs = 50
        } catch (err) {
          if (err instanceof CommandRefusedError) {
            // The leader refuses the command itself (a bug, or a leader of another version):
            // sending it again would block every later report behind it forever.
            this.log.error(
              { err: err.message, events: events.length },
              'the leader refused a task report; dropping it (those tasks keep their last state until cancelled)',
            )
            this.queue.splice(0, events.length)
            continue
          }
          this.log.debug({ err: (err as Error).message, events: events.length }, 'report not committed; retrying')
          await new Promise<void>(resolve => {
            this.init.clock.setTimeout(resolve, backoffMs)
          })
          backoffMs = Math.min(backoffMs * 2, 2000)
        }
      }
    } finally {
      this.flushing = false
    }
  }
}
