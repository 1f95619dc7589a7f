// What the page knows, and the actions its controls call: the views read the one, call the other.
import type { ClusterView, NodeView, StatusView, TaskView } from './model/api-types.js'
import type { RoleMap } from './model/roles.js'
import type { TaskFilter } from './model/task-filter.js'
import type { TaskRows } from './model/task-rows.js'
import type { LiveState } from './net/live-events.js'
import type { LogStreamName } from './net/log-follow.js'

export interface DashboardState {
  status: StatusView | null
  nodes: NodeView[]
  cluster: ClusterView | null
  /** Why the Raft configuration is not known (a worker that cannot reach a voter). */
  clusterError: string | null
  roleOf: RoleMap
  tasks: TaskRows
  filter: TaskFilter
  selectedId: string | null
  selected: TaskView | null
  selectedError: string | null
  logStream: LogStreamName
  live: { state: LiveState; detail: string }
  /** How task changes reach the page: the event stream, or polling (a worker, or no stream). */
  taskUpdates: 'events' | 'polling'
  /** The last failed load, shown until a load succeeds. */
  loadError: string | null
  /** The node whose drain form is open, and what was typed in it. */
  drainForm: { nodeId: string; deadlineSeconds: string } | null
  /** The API's refusal of the last drain or undrain (a node without the route answers 404). */
  nodeActionError: string | null
  nodeActionBusy: string | null
}

export interface DashboardActions {
  select: (taskId: string | null) => void
  setFilter: (change: Partial<TaskFilter>) => void
  loadOlder: () => void
  cancel: (taskId: string) => void
  setLogStream: (stream: LogStreamName) => void
  openDrain: (nodeId: string | null) => void
  setDrainDeadline: (text: string) => void
  drain: (nodeId: string, deadlineSeconds: number | undefined) => void
  undrain: (nodeId: string) => void
}

/** The parts of the page a change makes stale. */
export type Part = 'header' | 'nodes' | 'mesh' | 'tasks' | 'detail'
