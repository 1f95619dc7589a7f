// What the HTTP layer needs from a node, and the shapes it returns. Handlers depend on this
// interface only, so they are tested in-process against a fake node.
import type { ClusterView } from '../cluster/cluster-view.js'
import type { RaftRoleView } from '../cluster/replica.js'
import type { MemberState } from '../gossip/member-state.js'
import type { TaskService } from '../tasks/task-service.js'
import type { IsolationView } from '../executor/sandbox.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import type { EventFeed } from '../events/event-hub.js'

export type { ClusterView, IsolationView }

export interface StatusView {
  nodeId: string
  name: string
  version: string
  addrs: string[]
  uptimeMs: number
  role: RaftRoleView | null
  leader: string | null
  term: number | null
  /** Started with --insecure: no cluster key, yet reachable beyond loopback. */
  insecure: boolean
  /** What keeps tasks away from the agent: their user, their cgroups, who enforces memory limits. */
  isolation: IsolationView
}

export interface NodeView {
  id: string
  name: string
  addrs: string[]
  state: MemberState
  capacity: { cpus: number; memoryMb: number }
  allocated: { cpus: number; memoryMb: number }
  /** Tasks assigned to or running on it, as this node's replica of the log says. */
  running: number
  /** One-minute load average: known for the node answering only (load is not gossiped). */
  load: number | null
  labels: Record<string, string>
  version: string
  incarnation: number
  /** ISO-8601; null if the node's start time is not one a date can hold (never 500 over it). */
  startedAt: string | null
  /** Milliseconds since this node last heard from that one (0 for itself). */
  lastSeenMs: number
  /** The peers it keeps membership connections to (its observers and subjects on the rings):
   * exact for the answering node, implied by its member table for the others; [] if not live. */
  activeView: string[]
}

export interface NodeApi {
  status: () => StatusView
  nodes: () => Promise<NodeView[]>
  node: (id: string) => Promise<NodeView | undefined>
  metricsText: () => Promise<{ contentType: string; body: string }>
  /** Where the API counts and times its requests; absent: not counted. */
  metrics?: Pick<NodeMetrics, 'httpRequests' | 'httpDuration'>
  clusterView: () => Promise<ClusterView>
  /** Resolve once committed; reject with NoLeaderError / WriteOutcomeUnknownError. */
  kvPut: (key: string, value: string) => Promise<{ key: string; value: string; index: number; term: number }>
  kvDelete: (key: string) => Promise<{ key: string; index: number; term: number }>
  kvGet: (key: string) => Promise<string | undefined>
  kvList: () => Promise<Record<string, string>>
  tasks: TaskApi
  /** What GET /v1/events streams. */
  events: EventFeed
}

/** The task operations the HTTP layer uses (implemented by src/tasks/task-service.ts). */
export type TaskApi = Pick<TaskService, 'submit' | 'get' | 'list' | 'cancel' | 'logTarget' | 'readLog'>
