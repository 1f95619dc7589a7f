// /meshos/read/1.0.0: reads a worker cannot answer from its own replica (it holds none), asked of
// the leader: a task's view, a page of the task list, where an attempt's output is, the cluster
// view, key-value reads, what each node holds. One request, one answer; the leader answers from
// its replica, which has applied every write it acknowledged (so a worker reads its own writes).
import type { Logger } from 'pino'
import { z } from 'zod'
import type { P2PHost } from '../p2p/host.js'
import type { MemberDirectory } from '../gossip/member-directory.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import { decodeJson, encodeJson } from '../wire/json-codec.js'
import { RemoteReadError, type RemoteReads } from '../tasks/cluster-port.js'
import type { Replica } from './replica.js'
import type { LeaderLocator } from './leader-locator.js'

export const READ_PROTOCOL = '/meshos/read/1.0.0'
const READ_WIRE_VERSION = 1
const REQUEST_MAX_BYTES = 64 * 1024
/** A page of 1,000 task views. */
const ANSWER_MAX_BYTES = 32 * 1024 * 1024

const v = z.literal(READ_WIRE_VERSION)
const id = z.string().min(1).max(128)
const requestSchema = z.discriminatedUnion('op', [
  z.object({ v, op: z.literal('task'), id }).strict(),
  z.object({ v, op: z.literal('tasks'), query: z.object({}).passthrough() }).strict(),
  z.object({ v, op: z.literal('logTarget'), id, attempt: z.number().int().positive().optional() }).strict(),
  z.object({ v, op: z.literal('cluster') }).strict(),
  z.object({ v, op: z.literal('kv'), key: z.string().min(1).max(1024) }).strict(),
  z.object({ v, op: z.literal('kvList') }).strict(),
  z.object({ v, op: z.literal('held') }).strict(),
])
export type ReadRequest = z.infer<typeof requestSchema>
type WithoutVersion<T> = T extends unknown ? Omit<T, 'v'> : never
export type ReadQuestion = WithoutVersion<ReadRequest>

const answerSchema = z.discriminatedUnion('ok', [
  z.object({ v, ok: z.literal(true), value: z.unknown() }).strict(),
  z.object({ v, ok: z.literal(false), code: z.string().max(64), message: z.string().max(4096) }).strict(),
])
export type ReadAnswer = WithoutVersion<z.infer<typeof answerSchema>>

export interface ReadClientInit {
  host: P2PHost
  leaders: LeaderLocator
  requestTimeoutMs: number
  metrics: NodeMetrics
}

/** A worker's side: asks the leader. */
export class ReadClient implements RemoteReads {
  constructor(private readonly init: ReadClientInit) {}

  async task(taskId: string): Promise<unknown> {
    return await this.ask({ op: 'task', id: taskId })
  }

  async tasks(query: object): Promise<unknown> {
    return await this.ask({ op: 'tasks', query: { ...query } })
  }

  async logTarget(taskId: string, attempt: number | undefined): Promise<unknown> {
    return await this.ask(
      attempt === undefined ? { op: 'logTarget', id: taskId } : { op: 'logTarget', id: taskId, attempt },
    )
  }

  /** Asks the leader; RemoteReadError with the API's code when it answers with an error. */
  async ask(question: ReadQuestion): Promise<unknown> {
    const leader = this.init.leaders.leader()
    if (leader === null)
      throw new RemoteReadError('no_leader', 'this node holds no log and knows no leader to read from')
    let bytes: Uint8Array
    try {
      bytes = await this.init.host.request(leader, READ_PROTOCOL, encodeJson({ v: READ_WIRE_VERSION, ...question }), {
        timeoutMs: this.init.requestTimeoutMs,
        maxResponseBytes: ANSWER_MAX_BYTES,
      })
    } catch (err) {
      this.init.leaders.leaderLost()
      throw new RemoteReadError('no_leader', `the leader ${leader} did not answer a read: ${(err as Error).message}`)
    }
    const answer = decodeJson(bytes, answerSchema, ANSWER_MAX_BYTES)
    if (!answer.ok) {
      this.init.metrics.wireRejected.inc({ protocol: READ_PROTOCOL, reason: answer.reason })
      throw new RemoteReadError(
        'no_leader',
        `the leader answered a read with something that is not one: ${answer.detail}`,
      )
    }
    if (!answer.value.ok) throw new RemoteReadError(answer.value.code, answer.value.message)
    return answer.value.value
  }
}

export interface ReadServerInit {
  host: P2PHost
  replica: Replica
  members: MemberDirectory
  /** Answers a question from this node's replica. */
  answer: (question: ReadQuestion) => Promise<ReadAnswer>
  requestTimeoutMs: number
  metrics: NodeMetrics
  logger: Logger
}

/** A log holder's side: answers members from its replica. */
export class ReadServer {
  private readonly log: Logger

  constructor(private readonly init: ReadServerInit) {
    this.log = init.logger.child({ component: 'reads' })
  }

  async start(): Promise<void> {
    await this.init.host.handle(
      READ_PROTOCOL,
      { maxRequestBytes: REQUEST_MAX_BYTES, timeoutMs: this.init.requestTimeoutMs },
      async (from, bytes) => encodeJson(await this.serve(from, bytes)),
    )
  }

  /** Members only, and only while this node holds the log. */
  private async serve(from: string, bytes: Uint8Array): Promise<ReadAnswer & { v: 1 }> {
    const v = READ_WIRE_VERSION
    const request = decodeJson(bytes, requestSchema, REQUEST_MAX_BYTES)
    if (!request.ok) {
      this.init.metrics.wireRejected.inc({ protocol: READ_PROTOCOL, reason: request.reason })
      return { v, ok: false, code: 'invalid_request', message: request.detail }
    }
    if (!this.init.members.isLiveMember(from)) {
      this.init.metrics.wireRejected.inc({ protocol: READ_PROTOCOL, reason: 'not_member' })
      return { v, ok: false, code: 'forbidden', message: 'reads are answered to members only' }
    }
    if (!this.init.replica.holdsLog()) return { v, ok: false, code: 'no_leader', message: 'this node holds no log' }
    this.init.metrics.wireAccepted.inc({ protocol: READ_PROTOCOL })
    const { v: _v, ...question } = request.value
    try {
      return { v, ...(await this.init.answer(question)) }
    } catch (err) {
      this.log.warn({ err: (err as Error).message, op: question.op }, 'could not answer a read')
      return { v, ok: false, code: 'internal', message: 'the leader could not answer this read' }
    }
  }
}
