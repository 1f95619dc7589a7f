// The tasks the page has loaded, newest first, kept current by task events between reloads.
// Pages come from GET /v1/tasks?order=newest with the state and node filters; an event moves a
// loaded task at once, and tells the page when a task it has not loaded appeared.
import { isTerminal, type TaskEventData, type TaskList, type TaskState, type TaskView } from './api-types.js'
import { matchesFilter, type TaskFilter } from './task-filter.js'

/** How far along an attempt is: each state an attempt passes comes after the ones before it. */
const STATE_RANK: Readonly<Record<TaskState, number>> = {
  pending: 0,
  assigned: 1,
  running: 2,
  succeeded: 3,
  failed: 3,
  cancelled: 3,
}

export class TaskRows {
  private rows = new Map<string, TaskView>()
  /** Matches of the state and node filters on the node, loaded or not; null before a load. */
  total: number | null = null
  /** Where the next (older) page starts; null when the oldest match is loaded. */
  next: string | null = null

  get size(): number {
    return this.rows.size
  }

  get(id: string): TaskView | undefined {
    return this.rows.get(id)
  }

  /** The first page, loaded afresh: it replaces every row as new as its oldest one; older rows
   * (pages loaded with "older") stay. */
  setFirstPage(page: TaskList): void {
    const oldest = page.tasks.at(-1)
    const kept = [...this.rows.values()].filter(t => oldest !== undefined && page.next !== null && isOlder(t, oldest))
    this.rows = new Map([...page.tasks, ...kept].map(t => [t.id, t]))
    this.total = page.total
    if (kept.length === 0) this.next = page.next
  }

  /** A page older than what is loaded. */
  addOlderPage(page: TaskList): void {
    for (const t of page.tasks) if (!this.rows.has(t.id)) this.rows.set(t.id, t)
    this.next = page.next
    this.total = page.total
  }

  /** One task as GET /v1/tasks/:id answered. */
  put(task: TaskView): void {
    if (this.rows.has(task.id)) this.rows.set(task.id, task)
  }

  clear(): void {
    this.rows.clear()
    this.total = null
    this.next = null
  }

  /** Applies a task event; false when the task is not loaded (the page should reload). An event
   * older than what the row shows (it came while the row was being loaded) changes nothing. */
  applyEvent(e: TaskEventData, atMs: number): boolean {
    const t = this.rows.get(e.id)
    if (t === undefined) return false
    if (e.attempt < t.attempt || (e.attempt === t.attempt && STATE_RANK[e.to] <= STATE_RANK[t.state])) return true
    const started = e.to === 'running' && t.state !== 'running'
    this.rows.set(e.id, {
      ...t,
      state: e.to,
      node: e.node,
      nodeName: e.nodeName,
      attempt: e.attempt,
      reason: e.reason,
      startedAt: started ? atMs : e.to === 'pending' ? null : t.startedAt,
      finishedAt: isTerminal(e.to) ? atMs : null,
    })
    return true
  }

  /** Loaded rows that match the filter, newest first, at most `limit`. */
  visible(filter: TaskFilter, limit: number): { rows: TaskView[]; matching: number } {
    const matching = [...this.rows.values()].filter(t => matchesFilter(t, filter)).sort(newestFirst)
    return { rows: matching.slice(0, limit), matching: matching.length }
  }
}

/** Submission order is log order; the id breaks ties between tasks of one batch. */
function newestFirst(a: TaskView, b: TaskView): number {
  return b.submittedAt - a.submittedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
}

const isOlder = (t: TaskView, than: TaskView): boolean => newestFirst(t, than) > 0
