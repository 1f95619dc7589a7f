// The page's controller: loads the state from the node, keeps it current from the event stream
// (or by polling where task events do not reach: on a worker, which holds no log, or while the
// stream is down), carries out what the controls ask, and redraws the parts that changed once
// per animation frame.
import {
  isTerminal,
  type ClusterView,
  type MeshEvent,
  type NodeView,
  type StatusView,
  type TaskEventData,
  type TaskList,
  type TaskView,
} from './model/api-types.js'
import { roleMap } from './model/roles.js'
import { listQuery, NO_FILTER, type TaskFilter } from './model/task-filter.js'
import { TaskRows } from './model/task-rows.js'
import { Api, ApiError, describeError } from './net/api.js'
import { Coalesced } from './net/coalesced.js'
import { LiveEvents } from './net/live-events.js'
import { followLog, type LogStreamName } from './net/log-follow.js'
import type { DashboardActions, DashboardState, Part } from './state.js'
import { byId, fill } from './view/dom.js'
import { renderHeader } from './view/header.js'
import { renderMesh } from './view/mesh-view.js'
import { renderNodes } from './view/nodes-table.js'
import { bindSubmitForm } from './view/submit-form.js'
import { renderTaskDetail } from './view/task-detail.js'
import { bindTaskFilters, renderNodeChoices, renderTasks, type TaskListElements } from './view/task-list.js'
import { askToken } from './view/token-dialog.js'

/** Members, roles, allocations: refreshed on every related event, and this often regardless
 * (last-seen times and load change without events). */
const NODES_REFRESH_MS = 5000
/** Events ask for refreshes; this is the most often one runs. */
const REFRESH_MIN_INTERVAL_MS = 500
/** How often the task list is fetched while task events cannot reach the page. */
const TASKS_POLL_MS = 2000
/** Tasks asked for per page. */
const TASK_PAGE = 200
/** The output kept on the page; older output is dropped from the top. */
const LOG_KEPT_CHARS = 256 * 1024
const FOLLOW_RETRY_MS = 1000

export const FIRST_RENDER_MARK = 'meshos:first-render'

export class Dashboard implements DashboardActions {
  private readonly api = new Api()
  private readonly s: DashboardState = {
    status: null,
    nodes: [],
    cluster: null,
    clusterError: null,
    roleOf: roleMap(null),
    tasks: new TaskRows(),
    filter: { ...NO_FILTER },
    selectedId: null,
    selected: null,
    selectedError: null,
    logStream: 'stdout',
    live: { state: 'connecting', detail: 'connecting' },
    taskUpdates: 'events',
    loadError: null,
    drainForm: null,
    nodeActionError: null,
    nodeActionBusy: null,
  }
  private readonly live = new LiveEvents(this.api, {
    onOpen: () => {
      // Whatever changed while the stream was closed is fetched; events carry on from here.
      this.refreshAll.request()
      this.updateTaskSource()
    },
    onEvent: e => this.onEvent(e),
    onResync: () => this.refreshAll.request(),
    onState: (state, detail) => {
      this.s.live = { state, detail }
      this.updateTaskSource()
      this.invalidate('header')
    },
    onUnauthorized: err => void this.unauthorizedError(err),
  })
  private readonly refreshAll = new Coalesced(async () => await this.loadAll(), REFRESH_MIN_INTERVAL_MS)
  private readonly refreshNodes = new Coalesced(async () => await this.loadNodes(), REFRESH_MIN_INTERVAL_MS)
  private readonly refreshTasks = new Coalesced(async () => await this.loadTasks(), REFRESH_MIN_INTERVAL_MS)
  private readonly refreshSelected = new Coalesced(async () => await this.loadSelected(), REFRESH_MIN_INTERVAL_MS)
  /** Task events that came while task pages were loading, applied after the last of them. */
  private pendingEvents: Array<{ data: TaskEventData; atMs: number }> = []
  private taskLoads = 0
  private readonly dirty = new Set<Part>()
  private frameRequested = false
  private firstRenderDone = false
  private askingToken = false
  private follow: AbortController | null = null
  private readonly el = {
    summary: byId('summary'),
    live: byId('live'),
    banner: byId('banner'),
    mesh: byId('mesh'),
    nodes: byId('nodes'),
    nodeCount: byId('node-count'),
    detail: byId('detail'),
    log: byId('log'),
    logNote: byId('log-note'),
    tokenDialog: byId<HTMLDialogElement>('token-dialog'),
    tasks: {
      state: byId<HTMLSelectElement>('filter-state'),
      node: byId<HTMLSelectElement>('filter-node'),
      text: byId<HTMLInputElement>('filter-text'),
      count: byId('task-count'),
      rows: byId('tasks'),
      older: byId<HTMLButtonElement>('older'),
    } satisfies TaskListElements,
  }

  start(): void {
    bindTaskFilters(this.el.tasks, this)
    bindSubmitForm(byId<HTMLFormElement>('submit-form'), byId('submit-result'), this.api, ids => {
      this.refreshTasks.request()
      if (ids.length === 1) this.select(ids[0]!)
    })
    this.refreshAll.request()
    this.live.start()
    setInterval(() => this.refreshNodes.request(), NODES_REFRESH_MS)
    setInterval(() => {
      if (this.s.taskUpdates !== 'polling') return
      this.refreshTasks.request()
      if (this.s.selectedId !== null) this.refreshSelected.request()
    }, TASKS_POLL_MS)
  }

  // ------------------------------------------------------------------ loading

  private async loadAll(): Promise<void> {
    await Promise.all([this.loadNodes(), this.loadTasks(), this.s.selectedId === null ? null : this.loadSelected()])
    if (!this.firstRenderDone && this.s.status !== null && this.s.tasks.total !== null) {
      this.firstRenderDone = true
      this.renderNow()
      performance.mark(FIRST_RENDER_MARK)
      document.body.dataset.ready = 'true'
    }
  }

  /** This node's status, the members and the Raft configuration. */
  private async loadNodes(): Promise<void> {
    const [status, nodes, cluster] = await Promise.allSettled([
      this.api.get<StatusView>('v1/status'),
      this.api.get<{ nodes: NodeView[] }>('v1/nodes'),
      this.api.get<ClusterView>('v1/cluster'),
    ])
    if (this.unauthorized(status, nodes, cluster)) return
    if (status.status === 'fulfilled') this.s.status = status.value
    if (nodes.status === 'fulfilled') this.s.nodes = nodes.value.nodes
    if (cluster.status === 'fulfilled') {
      this.s.cluster = cluster.value
      this.s.clusterError = null
    } else this.s.clusterError = describeError(cluster.reason)
    this.s.roleOf = roleMap(this.s.cluster)
    const failed = [status, nodes].find(r => r.status === 'rejected')
    this.s.loadError = failed === undefined ? null : `cannot load the node's state: ${describeError(failed.reason)}`
    this.updateTaskSource()
    this.invalidate('header', 'nodes', 'mesh', 'tasks')
  }

  /** The first page of tasks for the filters; events that come meanwhile are applied after it. */
  private async loadTasks(): Promise<void> {
    this.taskLoads++
    try {
      const page = await this.api.get<TaskList>(`v1/tasks?${listQuery(this.s.filter, TASK_PAGE)}`)
      this.s.tasks.setFirstPage(page)
    } catch (err) {
      if (this.unauthorizedError(err)) return
      this.s.loadError = `cannot load the tasks: ${describeError(err)}`
    } finally {
      if (--this.taskLoads === 0) {
        for (const { data, atMs } of this.pendingEvents.splice(0)) this.s.tasks.applyEvent(data, atMs)
      }
      this.invalidate('tasks', 'header')
    }
  }

  private async loadSelected(): Promise<void> {
    const id = this.s.selectedId
    if (id === null) return
    try {
      const task = await this.api.get<TaskView>(`v1/tasks/${encodeURIComponent(id)}`)
      if (this.s.selectedId !== id) return
      this.s.selected = task
      this.s.selectedError = null
      this.s.tasks.put(task)
    } catch (err) {
      if (this.unauthorizedError(err) || this.s.selectedId !== id) return
      this.s.selectedError = describeError(err)
    }
    this.invalidate('detail', 'tasks')
  }

  // ------------------------------------------------------------------ events

  private onEvent(e: MeshEvent): void {
    switch (e.topic) {
      case 'tasks': {
        const data = e.data as TaskEventData
        const atMs = Date.parse(e.time)
        if (this.taskLoads > 0) this.pendingEvents.push({ data, atMs })
        else if (!this.s.tasks.applyEvent(data, atMs)) this.refreshTasks.request()
        if (data.id === this.s.selectedId) this.refreshSelected.request()
        // Allocations and running counts follow task placements.
        this.refreshNodes.request()
        this.invalidate('tasks')
        return
      }
      case 'members':
      case 'leader':
      case 'voters':
      case 'drain':
        this.refreshNodes.request()
        return
    }
  }

  /** Task events come from the node's replica of the log: a worker holds none, and with no
   * stream nothing comes at all. Then the list is polled. */
  private updateTaskSource(): void {
    const polling = this.s.status?.role === 'worker' || this.s.live.state !== 'live'
    const next = polling ? 'polling' : 'events'
    if (next === this.s.taskUpdates) return
    this.s.taskUpdates = next
    this.invalidate('header')
  }

  // ------------------------------------------------------------------ token

  private unauthorized(...results: Array<PromiseSettledResult<unknown>>): boolean {
    return results.some(r => r.status === 'rejected' && this.unauthorizedError(r.reason))
  }

  private unauthorizedError(err: unknown): boolean {
    if (!(err instanceof ApiError && err.unauthorized)) return false
    void this.needToken(this.api.token === null ? "this node's API needs its bearer token" : err.message)
    return true
  }

  private async needToken(why: string): Promise<void> {
    if (this.askingToken) return
    this.askingToken = true
    this.live.stop()
    this.stopFollow()
    try {
      this.api.token = await askToken(this.el.tokenDialog, why)
    } finally {
      this.askingToken = false
    }
    this.refreshAll.request()
    this.live.start()
    if (this.s.selectedId !== null) this.startFollow()
  }

  // ------------------------------------------------------------------ actions

  select(taskId: string | null): void {
    if (taskId === this.s.selectedId) return
    this.s.selectedId = taskId
    this.s.selected = taskId === null ? null : (this.s.tasks.get(taskId) ?? null)
    this.s.selectedError = null
    this.invalidate('detail', 'tasks')
    if (taskId === null) {
      this.stopFollow()
      fill(this.el.log)
      fill(this.el.logNote)
      return
    }
    this.refreshSelected.request()
    this.startFollow()
  }

  setFilter(change: Partial<TaskFilter>): void {
    const before = this.s.filter
    this.s.filter = { ...before, ...change }
    if (this.s.filter.state !== before.state || this.s.filter.node !== before.node) {
      // The node narrows by state and node: what is loaded no longer answers the question.
      this.s.tasks.clear()
      this.refreshTasks.request()
    }
    this.invalidate('tasks')
  }

  loadOlder(): void {
    const after = this.s.tasks.next
    if (after === null) return
    void this.api
      .get<TaskList>(`v1/tasks?${listQuery(this.s.filter, TASK_PAGE, after)}`)
      .then(page => {
        if (this.s.tasks.next === after) this.s.tasks.addOlderPage(page)
      })
      .catch((err: unknown) => {
        this.s.loadError = `cannot load older tasks: ${describeError(err)}`
      })
      .finally(() => this.invalidate('tasks', 'header'))
  }

  cancel(taskId: string): void {
    void this.api
      .delete<TaskView>(`v1/tasks/${encodeURIComponent(taskId)}`)
      .then(task => {
        this.s.tasks.put(task)
        if (this.s.selectedId === taskId) this.s.selected = task
      })
      .catch((err: unknown) => {
        if (this.s.selectedId === taskId) this.s.selectedError = `cannot cancel: ${describeError(err)}`
      })
      .finally(() => this.invalidate('detail', 'tasks'))
  }

  setLogStream(stream: LogStreamName): void {
    if (stream === this.s.logStream) return
    this.s.logStream = stream
    this.invalidate('detail')
    this.startFollow()
  }

  openDrain(nodeId: string | null): void {
    this.s.drainForm = nodeId === null ? null : { nodeId, deadlineSeconds: '' }
    this.s.nodeActionError = null
    this.invalidate('nodes')
  }

  setDrainDeadline(text: string): void {
    if (this.s.drainForm !== null) this.s.drainForm.deadlineSeconds = text
  }

  drain(nodeId: string, deadlineSeconds: number | undefined): void {
    this.nodeAction(nodeId, 'drain', deadlineSeconds === undefined ? {} : { deadlineSeconds })
  }

  undrain(nodeId: string): void {
    this.nodeAction(nodeId, 'undrain', {})
  }

  private nodeAction(nodeId: string, action: 'drain' | 'undrain', body: object): void {
    this.s.nodeActionBusy = nodeId
    this.invalidate('nodes')
    void this.api
      .post<NodeView>(`v1/nodes/${encodeURIComponent(nodeId)}/${action}`, body)
      .then(() => {
        this.s.drainForm = null
        this.s.nodeActionError = null
      })
      .catch((err: unknown) => {
        this.s.nodeActionError = `cannot ${action}: ${describeError(err)}`
      })
      .finally(() => {
        this.s.nodeActionBusy = null
        this.refreshNodes.request()
        this.invalidate('nodes')
      })
  }

  // ------------------------------------------------------------------ output

  /** Follows the selected task's output; after an attempt ends in a retry, the next one's. */
  private startFollow(): void {
    this.stopFollow()
    const id = this.s.selectedId
    if (id === null) return
    const controller = new AbortController()
    this.follow = controller
    fill(this.el.log)
    fill(this.el.logNote, 'following…')
    void this.followLoop(id, this.s.logStream, controller.signal)
  }

  private stopFollow(): void {
    this.follow?.abort()
    this.follow = null
  }

  private async followLoop(id: string, stream: LogStreamName, signal: AbortSignal): Promise<void> {
    const log = this.el.log
    let attempt = 0
    while (!signal.aborted) {
      try {
        const task = await this.api.get<TaskView>(`v1/tasks/${encodeURIComponent(id)}`)
        if (attempt !== 0 && task.attempt !== attempt) log.append(`\n--- attempt ${task.attempt} ---\n`)
        attempt = task.attempt
        fill(this.el.logNote, isTerminal(task.state) ? '' : 'following…')
        const followed = await followLog(this.api, id, stream, text => appendKept(log, text), signal)
        if (signal.aborted) return
        const after = await this.api.get<TaskView>(`v1/tasks/${encodeURIComponent(id)}`)
        if (isTerminal(after.state) && after.attempt === attempt) {
          fill(
            this.el.logNote,
            `${after.state}${followed.truncated ? ' · output truncated by the node' : ''}${log.textContent === '' ? ` · no ${stream}` : ''}`,
          )
          return
        }
      } catch (err) {
        if (signal.aborted) return
        fill(this.el.logNote, `output: ${describeError(err)}`)
        // A 4xx will not change by asking again (the task is gone, the token is wrong).
        if (err instanceof ApiError && err.status < 500) return
      }
      await new Promise(resolve => setTimeout(resolve, FOLLOW_RETRY_MS))
    }
  }

  // ------------------------------------------------------------------ drawing

  private invalidate(...parts: Part[]): void {
    for (const p of parts) this.dirty.add(p)
    if (this.frameRequested) return
    this.frameRequested = true
    requestAnimationFrame(() => this.renderNow())
  }

  private renderNow(): void {
    this.frameRequested = false
    const s = this.s
    const parts = new Set(this.dirty)
    this.dirty.clear()
    if (parts.has('header')) renderHeader(this.el.summary, this.el.live, this.el.banner, s)
    if (parts.has('nodes')) {
      renderNodes(this.el.nodes, this.el.nodeCount, s, this)
      renderNodeChoices(this.el.tasks.node, s.nodes, s.filter.node)
    }
    if (parts.has('mesh')) renderMesh(this.el.mesh, s)
    if (parts.has('tasks')) renderTasks(this.el.tasks, s, this)
    if (parts.has('detail')) renderTaskDetail(this.el.detail, s, this)
  }
}

/** Appends output, keeping the newest LOG_KEPT_CHARS, and stays at the bottom if it was there. */
function appendKept(log: HTMLElement, text: string): void {
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4
  log.append(text)
  if ((log.textContent?.length ?? 0) > LOG_KEPT_CHARS) log.textContent = (log.textContent ?? '').slice(-LOG_KEPT_CHARS)
  if (atBottom) log.scrollTop = log.scrollHeight
}
