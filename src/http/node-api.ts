// What the HTTP layer needs from a node. Handlers depend on this interface only, so they are
// tested in-process against a fake node. The shapes it returns are views.ts's.
import type { TaskService } from '../tasks/task-service.js'
import type { ClusterView, IsolationView, KvDeleteAnswer, KvPutAnswer, NodeView, StatusView } from './views.js'

export type { ClusterView, IsolationView, NodeView, StatusView }

export interface NodeApi {
  status: () => StatusView
  nodes: () => NodeView[]
  node: (id: string) => NodeView | undefined
  metricsText: () => Promise<{ contentType: string; body: string }>
  clusterView: () => ClusterView
  /** Resolve once committed; reject with NoLeaderError / WriteOutcomeUnknownError. */
  kvPut: (key: string, value: string) => Promise<KvPutAnswer>
  kvDelete: (key: string) => Promise<KvDeleteAnswer>
  kvGet: (key: string) => string | undefined
  kvList: () => Record<string, string>
  tasks: TaskApi
}

/** The task operations the HTTP layer uses (implemented by src/tasks/task-service.ts). */
export type TaskApi = Pick<TaskService, 'submit' | 'get' | 'list' | 'cancel' | 'logTarget' | 'readLog'>
