// What the HTTP layer needs from a node. Handlers depend on this interface only, so they are
// tested in-process against a fake node. The shapes it returns are views.ts's.
import type { TaskService } from '../tasks/task-service.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import type { EventFeed } from '../events/event-hub.js'
import type {
  ClusterView,
  DrainView,
  IsolationView,
  KvDeleteAnswer,
  KvPutAnswer,
  LeaderTransferView,
  NodeView,
  StatusView,
} from './views.js'

export type { ClusterView, DrainView, IsolationView, LeaderTransferView, NodeView, StatusView }

export interface NodeApi {
  status: () => StatusView
  nodes: () => Promise<NodeView[]>
  node: (id: string) => Promise<NodeView | undefined>
  metricsText: () => Promise<{ contentType: string; body: string }>
  /** Where the API counts and times its requests; absent: not counted. */
  metrics?: Pick<NodeMetrics, 'httpRequests' | 'httpDuration'>
  clusterView: () => Promise<ClusterView>
  /** Resolve once committed; reject with NoLeaderError / WriteOutcomeUnknownError. */
  kvPut: (key: string, value: string) => Promise<KvPutAnswer>
  kvDelete: (key: string) => Promise<KvDeleteAnswer>
  kvGet: (key: string) => Promise<string | undefined>
  kvList: () => Promise<Record<string, string>>
  /** Stops new placements on the node `ref` names (a peer id or a unique name); what it runs
   * finishes, or is stopped and re-queued `deadlineSeconds` from now. Resolves once committed,
   * with the node's view. NodeNotFoundError / AmbiguousNodeError for a bad `ref`. */
  drainNode: (ref: string, deadlineSeconds: number | undefined) => Promise<NodeView>
  undrainNode: (ref: string) => Promise<NodeView>
  /** Moves leadership to the voter `to` names, or to the most up-to-date voter; resolves once a
   * new leader is elected (ClusterOperationError subclasses say why not). */
  transferLeader: (to: string | undefined) => Promise<LeaderTransferView>
  /** Removes a voter that will never return; resolves with the cluster after the change. */
  removeVoter: (ref: string) => Promise<ClusterView>
  tasks: TaskApi
  /** What GET /v1/events streams. */
  events: EventFeed
}

/** The task operations the HTTP layer uses (implemented by src/tasks/task-service.ts). */
export type TaskApi = Pick<TaskService, 'submit' | 'get' | 'list' | 'cancel' | 'logTarget' | 'readLog'>
