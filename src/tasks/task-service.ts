// The tasks of one node: what the HTTP API, the CLI and the client call. Submissions and
// cancellations are written to the replicated log (through the leader, answered after commit);
// reads come from this node's replica where it holds the log, and from the leader's on a worker
// (which holds none); logs are read from the node that ran the attempt.
import { randomFillSync } from 'node:crypto'
import type { Logger } from 'pino'
import type { P2PHost } from '../p2p/host.js'
import type { MemberDirectory } from '../gossip/member-directory.js'
import { usableCapacity } from '../gossip/capacity.js'
import type { TaskExecutor } from '../executor/executor.js'
import type { LogStream } from '../executor/types.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import { plan } from '../scheduler/scheduler.js'
import type { SchedulerPolicy } from '../scheduler/types.js'
import type { TaskSpec } from './spec.js'
import { isTerminal, type TaskRecord, type TaskState, type TaskTable } from './task-table.js'
import {
  InvalidTaskError,
  LeaderUnreachableError,
  LogsUnavailableError,
  TaskConflictError,
  TaskNotFoundError,
} from './errors.js'
import type { SubmissionAnswer, TaskList, TaskListOrder, TaskView } from './task-view.js'
import { toSchedulerTask, type Placer } from './placer.js'
import { RemoteReadError, type RemoteReads, type TaskCluster } from './cluster-port.js'
import { logTargetSchema, taskListSchema, taskViewSchema } from './read-schemas.js'
import { existsSync } from 'node:fs'
import { taskPaths } from '../executor/files/task-dir.js'
import type { Clock } from '../util/clock.js'
import { SubmitBatcher } from './submit-batcher.js'
import { checkTaskCaps, type TaskCaps } from './task-caps.js'
import {
  LOGS_PROTOCOL,
  LOGS_WIRE_VERSION,
  LOG_CHUNK_MAX_BYTES,
  LOG_REQUEST_MAX_BYTES,
  LOG_RESPONSE_MAX_BYTES,
  decodeLogRequest,
  decodeLogResponse,
  encodeLogRequest,
  encodeLogResponse,
} from './log-rpc.js'

export type { TaskList, TaskView }

/** Specs already checked and normalised (by the HTTP body schema); `many` when they came as an
 * array, which is how the answer then comes too. */
export interface TaskSubmission {
  specs: TaskSpec[]
  many: boolean
}
export interface TaskListQuery {
  state?: TaskState
  node?: string
  tenant?: string
  limit: number
  after?: string
  /** Default oldest. */
  order?: TaskListOrder
}
/** The attempt whose output to read, and the node that holds it. */
export interface LogTarget {
  id: string
  state: TaskState
  attempt: number
  node: string | null
}

export interface LogRead {
  data: Uint8Array
  nextOffset: number
  truncated: boolean
  found: boolean
}

export interface TaskServiceInit {
  host: P2PHost
  cluster: TaskCluster
  members: MemberDirectory
  executor: TaskExecutor
  /** The scheduler's view of the nodes, to explain why a task waits. */
  placer: Placer
  policy: SchedulerPolicy
  metrics: NodeMetrics
  logger: Logger
  logRequestTimeoutMs: number
  /** Unfinished tasks a submission may not take a tenant, or the cluster, past. */
  caps: TaskCaps
  clock: Clock
  /** Reads answered by the leader, for when this node holds no log. */
  remote: RemoteReads
  /** Where this node keeps task directories (a worker's proof that an attempt ran here). */
  dataDir: string
}

export class TaskService {
  private readonly submissions: SubmitBatcher

  constructor(private readonly init: TaskServiceInit) {
    // Ids are made here, so sending the same submission twice (after a leader died mid-write)
    // cannot create two tasks.
    this.submissions = new SubmitBatcher(async tasks => {
      await init.cluster.write({ type: 'task.submit', tasks }, { idempotent: true })
    })
  }

  async start(): Promise<void> {
    await this.init.host.handle(
      LOGS_PROTOCOL,
      { maxRequestBytes: LOG_REQUEST_MAX_BYTES, timeoutMs: this.init.logRequestTimeoutMs },
      async (from, bytes) => await this.answerLogRequest(from, bytes),
    )
  }

  private get table(): TaskTable {
    return this.init.cluster.table
  }

  /** Checks every spec against what only the cluster knows (the largest node, the tasks not yet
   * finished) before anything is written: a batch is accepted whole or not at all. */
  async submit({ specs, many }: TaskSubmission): Promise<SubmissionAnswer> {
    const largest = this.largestNode()
    const submittedAt = this.init.clock.nowMs()
    const tasks = specs.map((spec, i) => {
      const where = many ? `[${i}].` : ''
      if (spec.cpus > largest.cpus)
        throw new InvalidTaskError(
          `${where}cpus: ${spec.cpus} is more than any node has (the largest has ${largest.cpus})`,
        )
      if (spec.memoryMb > largest.memoryMb)
        throw new InvalidTaskError(
          `${where}memoryMb: ${spec.memoryMb} is more than any node has (the largest has ${largest.memoryMb})`,
        )
      return { id: newTaskId(submittedAt), spec, submittedAt }
    })
    checkTaskCaps(this.table, tasks, this.init.caps)
    await this.submissions.submit(tasks)
    // A worker's table is empty: its tasks were committed, which is all it can say.
    const answers = tasks.map(t => ({ id: t.id, state: this.table.get(t.id)?.state ?? 'pending' }))
    return many ? { tasks: answers } : answers[0]!
  }

  async get(id: string): Promise<TaskView> {
    if (!this.init.cluster.holdsLog())
      return await this.fromLeader(taskViewSchema, async () => await this.init.remote.task(id))
    const task = this.table.get(id)
    if (task === undefined)
      throw new TaskNotFoundError(`no task ${id} (reads are local: a node that lags the leader may not have it yet)`)
    return this.view(task, true)
  }

  async list(q: TaskListQuery): Promise<TaskList> {
    if (!this.init.cluster.holdsLog())
      return await this.fromLeader(taskListSchema, async () => await this.init.remote.tasks(q))
    if (q.after !== undefined && this.table.get(q.after) === undefined)
      throw new InvalidTaskError(`after: no task ${q.after}`)
    const tasks: TaskView[] = []
    let total = 0
    let next: string | null = null
    // `after` is a position in the listing order; total counts every match, before it too.
    let collecting = q.after === undefined
    const inOrder = q.order === 'newest' ? [...this.table.all()].reverse() : this.table.all()
    for (const t of inOrder) {
      const matches =
        (q.state === undefined || t.state === q.state) &&
        (q.node === undefined || t.node === q.node) &&
        (q.tenant === undefined || t.spec.tenant === q.tenant)
      if (matches) total++
      if (matches && collecting) {
        if (tasks.length < q.limit) tasks.push(this.view(t, false))
        else if (next === null) next = tasks[tasks.length - 1]!.id
      }
      if (t.id === q.after) collecting = true
    }
    return { tasks, next, total }
  }

  async cancel(id: string): Promise<TaskView> {
    const task = this.init.cluster.holdsLog() ? this.table.get(id) : await this.get(id)
    if (task === undefined) throw new TaskNotFoundError(`no task ${id}`)
    if (isTerminal(task.state)) throw new TaskConflictError(`task ${id} already ${task.state}`)
    await this.init.cluster.write({ type: 'task.cancel', ids: [id], at: this.init.clock.nowMs() }, { idempotent: true })
    return await this.get(id)
  }

  /** The attempt whose output to read: the given one, else the current or last one that ran. */
  async logTarget(id: string, attempt?: number): Promise<LogTarget> {
    if (!this.init.cluster.holdsLog())
      return await this.fromLeader(logTargetSchema, async () => await this.init.remote.logTarget(id, attempt))
    const task = this.table.get(id)
    if (task === undefined) throw new TaskNotFoundError(`no task ${id}`)
    const target = (a: number, node: string | null): LogTarget => ({ id, state: task.state, attempt: a, node })
    if (attempt !== undefined) {
      if (attempt === task.attempt) return target(attempt, task.node)
      const past = task.history.find(h => h.attempt === attempt)
      if (past === undefined) throw new TaskNotFoundError(`task ${id} has no attempt ${attempt} on record`)
      return target(attempt, past.node)
    }
    if (task.node !== null) return target(task.attempt, task.node)
    const last = task.history[task.history.length - 1]
    return target(last?.attempt ?? task.attempt, last?.node ?? null)
  }

  /** A read answered by the leader, checked like any peer's input; its errors become ours. */
  private async fromLeader<T>(
    schema: { safeParse: (v: unknown) => { success: true; data: T } | { success: false } },
    read: () => Promise<unknown>,
  ): Promise<T> {
    let value: unknown
    try {
      value = await read()
    } catch (err) {
      if (err instanceof RemoteReadError) {
        if (err.code === 'not_found') throw new TaskNotFoundError(err.message)
        if (err.code === 'invalid_task' || err.code === 'invalid_request') throw new InvalidTaskError(err.message)
      }
      throw new LeaderUnreachableError(
        `this node holds no log and could not read from the leader: ${(err as Error).message}`,
      )
    }
    const parsed = schema.safeParse(value)
    if (!parsed.success) throw new LeaderUnreachableError('the leader answered a read with something that is not one')
    return parsed.data
  }

  /** One chunk of an attempt's output, from whichever node ran it. */
  async readLog(id: string, attempt: number, node: string | null, stream: LogStream, offset: number): Promise<LogRead> {
    if (node === null) return { data: new Uint8Array(), nextOffset: offset, truncated: false, found: false }
    if (node === this.init.host.peerId) {
      const chunk = await this.init.executor.readLog(id, attempt, stream, offset, LOG_CHUNK_MAX_BYTES)
      return chunk === null
        ? { data: new Uint8Array(), nextOffset: offset, truncated: false, found: false }
        : { ...chunk, found: true }
    }
    let bytes: Uint8Array
    try {
      bytes = await this.init.host.request(
        node,
        LOGS_PROTOCOL,
        encodeLogRequest({ v: LOGS_WIRE_VERSION, taskId: id, attempt, stream, offset, maxBytes: LOG_CHUNK_MAX_BYTES }),
        {
          timeoutMs: this.init.logRequestTimeoutMs,
          maxResponseBytes: LOG_RESPONSE_MAX_BYTES,
        },
      )
    } catch (err) {
      throw new LogsUnavailableError(
        `the output of ${id} is on node ${this.init.members.nameOf(node) ?? node}, which did not answer (${(err as Error).message})`,
      )
    }
    const res = decodeLogResponse(bytes)
    if (!res.ok) throw new LogsUnavailableError(`node ${node} sent an invalid log chunk: ${res.detail}`)
    return {
      data: Buffer.from(res.value.data, 'base64'),
      nextOffset: res.value.nextOffset,
      truncated: res.value.truncated,
      found: res.value.found,
    }
  }

  /** Serves a chunk of an attempt's output to a member (alive or suspect here), and only of an
   * attempt this node's replica says ran here: the files read are always those of a task the log
   * gave this node, whatever the request names. Anything else gets `found: false`, counted. */
  private async answerLogRequest(from: string, bytes: Uint8Array): Promise<Uint8Array> {
    const refuse = (reason: string, offset = 0): Uint8Array => {
      this.init.metrics.wireRejected.inc({ protocol: LOGS_PROTOCOL, reason })
      return encodeLogResponse({ v: LOGS_WIRE_VERSION, found: false, data: '', nextOffset: offset, truncated: false })
    }
    const req = decodeLogRequest(bytes)
    if (!req.ok) return refuse(req.reason)
    if (!this.init.members.isLiveMember(from)) return refuse('not_member')
    const { taskId, attempt, stream, offset, maxBytes } = req.value
    if (!this.ranHere(taskId, attempt)) return refuse('not_here', offset)
    this.init.metrics.wireAccepted.inc({ protocol: LOGS_PROTOCOL })
    const chunk = await this.init.executor.readLog(taskId, attempt, stream, offset, maxBytes).catch(() => null)
    if (chunk === null)
      return encodeLogResponse({ v: LOGS_WIRE_VERSION, found: false, data: '', nextOffset: offset, truncated: false })
    return encodeLogResponse({
      v: LOGS_WIRE_VERSION,
      found: true,
      data: Buffer.from(chunk.data).toString('base64'),
      nextOffset: chunk.nextOffset,
      truncated: chunk.truncated,
    })
  }

  /** The replicated table gave this attempt of the task to this node (a worker, which holds no
   * table, goes by the attempt's directory: it exists only where the attempt ran). */
  private ranHere(taskId: string, attempt: number): boolean {
    if (!this.init.cluster.holdsLog()) return existsSync(taskPaths(this.init.dataDir, taskId, attempt).workDir)
    const task = this.table.get(taskId)
    if (task === undefined) return false
    const self = this.init.host.peerId
    if (task.attempt === attempt && task.node === self) return true
    return task.history.some(h => h.attempt === attempt && h.node === self)
  }

  private view(t: TaskRecord, explain: boolean): TaskView {
    const lastNode = t.node ?? t.history[t.history.length - 1]?.node ?? null
    return {
      id: t.id,
      name: t.spec.name,
      spec: t.spec,
      state: t.state,
      attempt: t.attempt,
      node: lastNode,
      nodeName: lastNode === null ? null : this.init.members.nameOf(lastNode),
      exitCode: t.exitCode,
      signal: t.signal,
      reason: t.reason,
      message: t.message,
      submittedAt: t.submittedAt,
      startedAt: t.startedAt,
      finishedAt: t.finishedAt,
      placement: t.state === 'pending' && explain ? this.explainPending(t) : t.placement,
      cancelRequested: t.cancelRequested,
      attempts: t.history,
    }
  }

  /** Why a task waits, computed from this node's view (the scheduler is pure, so any node can). */
  private explainPending(t: TaskRecord): string {
    const nodes = this.init.placer.schedulerNodes()
    const preferredNodeId = this.init.cluster.leader() ?? undefined
    const result = plan({
      policy: this.init.policy,
      nodes,
      pending: [toSchedulerTask(t)],
      tenantUsage: {},
      roundRobinAfter: null,
      nowMs: this.init.clock.nowMs(),
      preferredNodeId,
    })
    if (result.expired.length > 0) return 'its deadline has passed; the master will fail it'
    const why = result.pending[0]
    if (why !== undefined) return `${why.unsatisfiable ? 'no node can ever run it: ' : ''}${why.placement}`
    return `a node has room (${result.assignments[0]?.placement ?? ''}); waiting for the master to assign it`
  }

  /** The largest capacity among live nodes (this one included), from gossip alone: checked on
   * every submission, so it must not walk the task table. */
  private largestNode(): { cpus: number; memoryMb: number } {
    const members = this.init.members
    const alive = [
      members.selfInfo,
      ...members
        .others()
        .filter(m => m.state === 'alive')
        .map(m => m.record.info),
    ].map(info => usableCapacity(info.capacity))
    return {
      cpus: Math.max(...alive.map(c => c.cpus)),
      memoryMb: Math.max(...alive.map(c => c.memoryMb)),
    }
  }
}

/** Time-ordered (base36 ms) plus 40 random bits: unique without coordination, sortable by age. */
function newTaskId(nowMs: number): string {
  return `${nowMs.toString(36)}-${randomHex(5)}`
}

/** Random bytes are drawn 4 KiB at a time: a randomBytes() call per id (~10 µs here, an OpenSSL
 * call each) was ~2% of a busy submitting node's profile; a refill costs that once per 819 ids. */
const randomPool = Buffer.alloc(4096)
let randomPoolOffset = randomPool.length

function randomHex(bytes: number): string {
  if (randomPoolOffset + bytes > randomPool.length) {
    randomFillSync(randomPool)
    randomPoolOffset = 0
  }
  randomPoolOffset += bytes
  return randomPool.toString('hex', randomPoolOffset - bytes, randomPoolOffset)
}
