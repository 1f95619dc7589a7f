// What the page reads of its node's HTTP API: the fields it uses of each answer. The node's own
// types are the definition (src/http/node-api.ts, src/tasks/task-service.ts, src/events/types.ts);
// the page is a separate program for the browser, so it names what it reads here, and
// test/unit/dashboard-model.test.ts checks at compile time that the node's types fit these.

export const MEMBER_STATES = ['alive', 'suspect', 'dead', 'left'] as const
export type MemberState = (typeof MEMBER_STATES)[number]

export const TASK_STATES = ['pending', 'assigned', 'running', 'succeeded', 'failed', 'cancelled'] as const
export type TaskState = (typeof TASK_STATES)[number]

const TERMINAL: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'cancelled'])
export const isTerminal = (state: TaskState): boolean => TERMINAL.has(state)

/** A node's own Raft role: `worker` holds no log; null before Raft started. */
export type OwnRole = 'leader' | 'follower' | 'candidate' | 'learner' | 'worker'

export interface StatusView {
  nodeId: string
  name: string
  version: string
  role: OwnRole | null
  leader: string | null
  term: number | null
  insecure: boolean
}

export interface Resources {
  cpus: number
  memoryMb: number
}

/** A drain an operator asked for (POST /v1/nodes/:id/drain). */
export interface DrainView {
  state: 'draining' | 'drained'
  sinceMs: number
  deadlineAtMs: number | null
}

export interface NodeView {
  id: string
  name: string
  state: MemberState
  capacity: Resources
  allocated: Resources
  running: number
  load: number | null
  labels: Record<string, string>
  version: string
  lastSeenMs: number
  activeView: string[]
  drain: DrainView | null
}

export interface PeerView {
  id: string
  name: string | null
}

export interface ClusterView {
  leader: string | null
  term: number
  commitIndex: number
  voters: PeerView[]
  learners: PeerView[]
}

export interface TaskSpecView {
  command?: string
  argv?: string[]
  cpus: number
  memoryMb: number
  tenant: string
  retries: number
}

export interface AttemptView {
  attempt: number
  node: string
  startedAt: number | null
  finishedAt: number
  outcome: string
}

export interface TaskView {
  id: string
  name: string | null
  spec: TaskSpecView
  state: TaskState
  attempt: number
  node: string | null
  nodeName: string | null
  exitCode: number | null
  signal: string | null
  reason: string | null
  message: string | null
  submittedAt: number
  startedAt: number | null
  finishedAt: number | null
  placement: string | null
  cancelRequested: boolean
  attempts: AttemptView[]
}

export interface TaskList {
  tasks: TaskView[]
  next: string | null
  total: number
}

export interface TaskEventData {
  id: string
  to: TaskState
  node: string | null
  nodeName: string | null
  attempt: number
  reason: string | null
}

/** An event of GET /v1/events; `data` is read by topic (TaskEventData for `tasks`). */
export interface MeshEvent {
  id: string
  time: string
  topic: string
  type: string
  data: unknown
}

/** Every error the API returns has this body. */
export interface ErrorBody {
  error: { code: string; message: string }
}
