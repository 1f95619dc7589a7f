// The replicated task table: every task, its state and the history of its attempts, changed only
// by applying committed task commands (commands.ts). Part of the cluster state machine, so it is
// deterministic: it reads nothing but the commands (no clock, no local config).
//
// Lifecycle: pending → assigned (leader placed it) → running (worker started it) → succeeded |
// failed | cancelled. A failed or lost attempt with retries left goes back to pending as the next
// attempt. Allocations (what each node has been given) follow from the assigned and running tasks.
import type {
  TaskAssignCommand,
  TaskCancelCommand,
  TaskCommand,
  TaskExpireCommand,
  TaskFinishedEvent,
  TaskLostCommand,
  TaskReportCommand,
  TaskSubmitCommand,
} from './commands.js'
import type { TaskSpec } from './spec.js'

export const TASK_STATES = ['pending', 'assigned', 'running', 'succeeded', 'failed', 'cancelled'] as const
export type TaskState = (typeof TASK_STATES)[number]

/** Why a task failed. */
export const FAILURE_REASONS = [
  'exit_code',
  'signal',
  'timeout',
  'memory',
  'disk',
  'spawn_error',
  'lost',
  'deadline_missed',
  'refused',
] as const
export type FailureReason = (typeof FAILURE_REASONS)[number]

export interface AttemptRecord {
  attempt: number
  node: string
  startedAt: number | null
  finishedAt: number
  outcome: string
}

export interface TaskRecord {
  id: string
  /** Log index of the submission: queue order and the listing order. */
  seq: number
  spec: TaskSpec
  state: TaskState
  attempt: number
  node: string | null
  exitCode: number | null
  signal: string | null
  reason: FailureReason | 'cancelled' | null
  message: string | null
  submittedAt: number
  startedAt: number | null
  finishedAt: number | null
  placement: string | null
  /** Term of the leader that assigned the current attempt. */
  assignTerm: number | null
  cancelRequested: boolean
  /** Retries are counted by failures; a worker refusing (a capacity race) costs no retry, up to a point. */
  failures: number
  refusals: number
  /** Earlier attempts, newest last (bounded). */
  history: AttemptRecord[]
}

export type TaskEvent =
  | { type: 'assigned'; task: TaskRecord }
  | { type: 'cancel_requested'; task: TaskRecord }
  | { type: 'changed' }
  /** A task moved from one state to another (its new state is `task.state`) as the command at log
   * index `index` was applied; `reason` says why it failed, was cancelled or went back to pending,
   * and `node` is where it was assigned or ran (for a return to pending, the node it left). */
  | {
      type: 'transition'
      task: TaskRecord
      from: TaskState | null
      node: string | null
      reason: string | null
      index: number
    }

/** Finished tasks kept for inspection before the oldest are forgotten: bounds memory and snapshots. */
export const MAX_FINISHED_TASKS = 50_000
const MAX_HISTORY = 10
/** A task refused this many times (capacity races between the log and a worker) fails. */
const MAX_REFUSALS = 5

const TERMINAL = new Set<TaskState>(['succeeded', 'failed', 'cancelled'])
export const isTerminal = (state: TaskState): boolean => TERMINAL.has(state)

export class TaskTable {
  /** Insertion order is submission (log) order. */
  private tasks = new Map<string, TaskRecord>()
  /** Assigned or running: what holds resources on a node. */
  private active = new Map<string, TaskRecord>()
  private pendingTasks = new Map<string, TaskRecord>()
  /** Tasks not yet finished (pending, assigned, running), per tenant: what the caps count. */
  private unfinishedByTenant = new Map<string, number>()
  /** Finished ids, oldest first, for forgetting. */
  private finishedOrder: string[] = []
  private maxAssignTerm = 0
  private listeners: Array<(ev: TaskEvent) => void> = []
  /** The log index of the command being applied. */
  private applying = 0

  onEvent(listener: (ev: TaskEvent) => void): void {
    this.listeners.push(listener)
  }

  apply(command: TaskCommand, index: number): void {
    this.applying = index
    switch (command.type) {
      case 'task.submit':
        this.submit(command, index)
        break
      case 'task.assign':
        this.assign(command)
        break
      case 'task.report':
        this.report(command)
        break
      case 'task.cancel':
        this.cancel(command)
        break
      case 'task.lost':
        this.lost(command)
        break
      case 'task.expire':
        this.expire(command)
        break
    }
    this.emit({ type: 'changed' })
  }

  get(id: string): TaskRecord | undefined {
    return this.tasks.get(id)
  }

  get size(): number {
    return this.tasks.size
  }

  all(): IterableIterator<TaskRecord> {
    return this.tasks.values()
  }

  pending(): IterableIterator<TaskRecord> {
    return this.pendingTasks.values()
  }

  /** Assigned and running tasks. */
  activeTasks(): IterableIterator<TaskRecord> {
    return this.active.values()
  }

  /** Tasks not finished yet (pending, assigned or running): of one tenant, or of all. */
  unfinished(tenant?: string): number {
    if (tenant === undefined) return this.pendingTasks.size + this.active.size
    return this.unfinishedByTenant.get(tenant) ?? 0
  }

  counts(): Record<TaskState, number> {
    const counts = Object.fromEntries(TASK_STATES.map(s => [s, 0])) as Record<TaskState, number>
    for (const t of this.tasks.values()) counts[t.state]++
    return counts
  }

  private submit(command: TaskSubmitCommand, index: number): void {
    const placed: TaskAssignCommand['assignments'] = []
    for (const { id, spec, submittedAt, assign } of command.tasks) {
      if (this.tasks.has(id)) continue // a retried submission
      const task: TaskRecord = {
        id,
        seq: index,
        spec,
        state: 'pending',
        attempt: 1,
        node: null,
        exitCode: null,
        signal: null,
        reason: null,
        message: null,
        submittedAt,
        startedAt: null,
        finishedAt: null,
        placement: null,
        assignTerm: null,
        cancelRequested: false,
        failures: 0,
        refusals: 0,
        history: [],
      }
      this.tasks.set(id, task)
      this.pendingTasks.set(id, task)
      this.countUnfinished(spec.tenant, 1)
      this.moved(task, null, null)
      if (assign !== undefined) placed.push({ id, attempt: 1, ...assign })
    }
    if (placed.length > 0 && command.term !== undefined)
      this.assign({ type: 'task.assign', term: command.term, assignments: placed })
  }

  private assign(command: TaskAssignCommand): void {
    // Log order makes terms non-decreasing, so this never fires for a committed log; it is the
    // fence the issue asks for, kept so that a bug elsewhere cannot let a deposed leader's plan win.
    if (command.term < this.maxAssignTerm) return
    this.maxAssignTerm = command.term
    for (const a of command.assignments) {
      const task = this.tasks.get(a.id)
      if (task?.state !== 'pending' || task.attempt !== a.attempt || task.cancelRequested) continue
      task.state = 'assigned'
      task.node = a.node
      task.placement = a.placement
      task.assignTerm = command.term
      this.pendingTasks.delete(task.id)
      this.active.set(task.id, task)
      this.moved(task, 'pending', null)
      this.emit({ type: 'assigned', task })
    }
  }

  private report(command: TaskReportCommand): void {
    for (const ev of command.events) {
      const task = this.tasks.get(ev.id)
      if (task === undefined || task.node !== command.node || task.attempt !== ev.attempt) continue
      if (ev.kind === 'started') {
        if (task.state !== 'assigned') continue
        task.state = 'running'
        task.startedAt = ev.at
        this.moved(task, 'assigned', null)
      } else if (task.state === 'assigned' || task.state === 'running') {
        this.finishAttempt(task, ev)
      }
    }
  }

  private finishAttempt(task: TaskRecord, ev: Omit<TaskFinishedEvent, 'kind' | 'id' | 'attempt'>): void {
    task.startedAt = ev.startedAt ?? task.startedAt
    task.exitCode = ev.exitCode
    task.signal = ev.signal
    task.message = ev.message
    if (ev.reason === 'exited' && ev.exitCode === 0) return this.finish(task, 'succeeded', null, ev.at)
    if (task.cancelRequested || ev.reason === 'cancelled') return this.finish(task, 'cancelled', 'cancelled', ev.at)
    const reason: FailureReason = ev.reason === 'exited' ? 'exit_code' : ev.reason
    if (reason === 'refused') {
      task.refusals++
      if (task.refusals < MAX_REFUSALS) return this.requeue(task, ev.at, reason)
    } else if (task.failures < task.spec.retries) {
      task.failures++
      return this.requeue(task, ev.at, reason)
    }
    this.finish(task, 'failed', reason, ev.at)
  }

  private requeue(task: TaskRecord, at: number, outcome: string): void {
    this.remember(task, at, outcome)
    this.active.delete(task.id)
    const { state: from, node } = task
    task.state = 'pending'
    task.attempt++
    task.node = null
    task.startedAt = null
    task.placement = null
    task.assignTerm = null
    this.pendingTasks.set(task.id, task)
    this.moved(task, from, outcome, node)
  }

  private finish(task: TaskRecord, state: TaskState, reason: TaskRecord['reason'], at: number): void {
    if (task.node !== null) this.remember(task, at, reason ?? state)
    const from = task.state
    task.state = state
    task.reason = reason
    task.finishedAt = at
    this.active.delete(task.id)
    this.pendingTasks.delete(task.id)
    this.countUnfinished(task.spec.tenant, -1)
    this.finishedOrder.push(task.id)
    this.moved(task, from, reason)
    this.forgetOldest()
  }

  private countUnfinished(tenant: string, delta: 1 | -1): void {
    const n = (this.unfinishedByTenant.get(tenant) ?? 0) + delta
    if (n === 0) this.unfinishedByTenant.delete(tenant)
    else this.unfinishedByTenant.set(tenant, n)
  }

  private remember(task: TaskRecord, at: number, outcome: string): void {
    if (task.node === null) return
    task.history.push({ attempt: task.attempt, node: task.node, startedAt: task.startedAt, finishedAt: at, outcome })
    if (task.history.length > MAX_HISTORY) task.history.shift()
  }

  private forgetOldest(): void {
    const excess = this.finishedOrder.length - MAX_FINISHED_TASKS
    if (excess <= 0) return
    for (const id of this.finishedOrder.splice(0, excess)) this.tasks.delete(id)
  }

  private cancel(command: TaskCancelCommand): void {
    for (const id of command.ids) {
      const task = this.tasks.get(id)
      if (task === undefined || isTerminal(task.state) || task.cancelRequested) continue
      if (task.state === 'pending') {
        this.finish(task, 'cancelled', 'cancelled', command.at)
        continue
      }
      // The worker kills it and reports; the resources stay allocated until then.
      task.cancelRequested = true
      this.emit({ type: 'cancel_requested', task })
    }
  }

  private lost(command: TaskLostCommand): void {
    for (const { id, attempt } of command.tasks) {
      const task = this.tasks.get(id)
      if (task === undefined || task.node !== command.node || task.attempt !== attempt) continue
      if (task.state !== 'assigned' && task.state !== 'running') continue
      this.finishAttempt(task, {
        at: command.at,
        startedAt: null,
        reason: 'lost',
        exitCode: null,
        signal: null,
        message: command.message,
      })
    }
  }

  private expire(command: TaskExpireCommand): void {
    for (const id of command.ids) {
      const task = this.tasks.get(id)
      if (task?.state !== 'pending') continue
      task.message = 'the deadline passed while the task was pending'
      this.finish(task, 'failed', 'deadline_missed', command.at)
    }
  }

  /** Plain data for the cluster snapshot, in submission order. */
  snapshot(): { tasks: TaskRecord[]; finishedOrder: string[]; maxAssignTerm: number } {
    return {
      tasks: structuredClone([...this.tasks.values()]),
      finishedOrder: [...this.finishedOrder],
      maxAssignTerm: this.maxAssignTerm,
    }
  }

  restore(data: { tasks: TaskRecord[]; finishedOrder: string[]; maxAssignTerm: number } | null): void {
    this.tasks = new Map()
    this.active = new Map()
    this.pendingTasks = new Map()
    this.unfinishedByTenant = new Map()
    const known = new Set(data?.tasks.map(t => t.id))
    this.finishedOrder = data?.finishedOrder.filter(id => known.has(id)) ?? []
    this.maxAssignTerm = data?.maxAssignTerm ?? 0
    for (const t of data?.tasks ?? []) {
      const task = structuredClone(t)
      this.tasks.set(task.id, task)
      if (task.state === 'pending') this.pendingTasks.set(task.id, task)
      if (task.state === 'assigned' || task.state === 'running') this.active.set(task.id, task)
      if (!isTerminal(task.state)) this.countUnfinished(task.spec.tenant, 1)
    }
    this.emit({ type: 'changed' })
  }

  private moved(task: TaskRecord, from: TaskState | null, reason: string | null, node = task.node): void {
    this.emit({ type: 'transition', task, from, node, reason, index: this.applying })
  }

  private emit(ev: TaskEvent): void {
    for (const listener of this.listeners) listener(ev)
  }
}
