// What the HTTP layer needs from a node. Handlers depend on this interface only, so they are
// tested in-process against a fake node. The shapes it returns are views.ts's.
import type { TaskService } from '../tasks/task-service.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import type { EventFeed } from '../events/event-hub.js'
import type { ClusterView, IsolationView, KvDeleteAnswer, KvPutAnswer, NodeView, StatusView } from './views.js'

export type { ClusterView, IsolationView, NodeView, StatusView }

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
  tasks: TaskApi
  /** What GET /v1/events streams. */
  events: EventFeed
}

/** The task operations the HTTP layer uses (implemented by src/tasks/task-service.ts). */
export type TaskApi = Pick<TaskService, 'submit' | 'get' | 'list' | 'cancel' | 'logTarget' | 'readLog'>
