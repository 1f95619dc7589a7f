// /meshos/admin/1.0.0: an operator's change to the Raft configuration or its leadership (leader
// transfer, voter removal), asked through any node and carried out by the leader. One request,
// one answer, like /meshos/read: a node that is not the leader answers `not_leader` with the
// leader it knows, and the asking node tries that one.
import type { Logger } from 'pino'
import { z } from 'zod'
import type { P2PHost } from '../p2p/host.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import { decodeJson, encodeJson } from '../wire/json-codec.js'

export const ADMIN_PROTOCOL = '/meshos/admin/1.0.0'
const ADMIN_WIRE_VERSION = 1
const REQUEST_MAX_BYTES = 1024
/** A cluster view of 64 voters and their learners. */
const ANSWER_MAX_BYTES = 256 * 1024

const v = z.literal(ADMIN_WIRE_VERSION)
/** A peer id or a node name, as the operator typed it. */
const nodeRef = z.string().min(1).max(128)
const requestSchema = z.discriminatedUnion('op', [
  z.object({ v, op: z.literal('transferLeader'), to: nodeRef.nullable() }).strict(),
  z.object({ v, op: z.literal('removeVoter'), node: nodeRef }).strict(),
])
type WithoutVersion<T> = T extends unknown ? Omit<T, 'v'> : never
export type AdminRequest = WithoutVersion<z.infer<typeof requestSchema>>

const answerSchema = z.discriminatedUnion('ok', [
  z.object({ v, ok: z.literal(true), value: z.unknown() }).strict(),
  z
    .object({
      v,
      ok: z.literal(false),
      /** An API error code; `not_leader`: ask `leader` instead. */
      code: z.string().max(64),
      message: z.string().max(4096),
      leader: z.string().max(128).nullable(),
    })
    .strict(),
])
export type AdminAnswer = WithoutVersion<z.infer<typeof answerSchema>>

/** The code of an answer from a node that is not (or no longer) the leader. */
export const NOT_LEADER = 'not_leader'

/** Asks `leader` and returns its answer; throws when there is none (unreachable, timed out, or
 * not an answer at all). */
export async function askAdmin(
  host: P2PHost,
  leader: string,
  request: AdminRequest,
  timeoutMs: number,
  metrics: NodeMetrics,
): Promise<AdminAnswer> {
  const bytes = await host.request(leader, ADMIN_PROTOCOL, encodeJson({ v: ADMIN_WIRE_VERSION, ...request }), {
    timeoutMs,
    maxResponseBytes: ANSWER_MAX_BYTES,
  })
  const answer = decodeJson(bytes, answerSchema, ANSWER_MAX_BYTES)
  if (!answer.ok) {
    metrics.wireRejected.inc({ protocol: ADMIN_PROTOCOL, reason: answer.reason })
    throw new Error(`the leader answered with something that is not an answer: ${answer.detail}`)
  }
  const { v: _v, ...rest } = answer.value
  return rest
}

export interface AdminServerInit {
  host: P2PHost
  /** Only live members may ask: anyone else is refused (and counted). */
  isMember: (peerId: string) => boolean
  /** Carries the request out on this node (the leader), or says why not. */
  answer: (request: AdminRequest) => Promise<AdminAnswer>
  /** Longer than the slowest request takes (a transfer waits for a catch-up and an election). */
  timeoutMs: number
  metrics: NodeMetrics
  logger: Logger
}

export async function serveAdmin(init: AdminServerInit): Promise<void> {
  const log = init.logger.child({ component: 'admin' })
  const reject = (reason: string): void => {
    init.metrics.wireRejected.inc({ protocol: ADMIN_PROTOCOL, reason })
  }
  await init.host.handle(
    ADMIN_PROTOCOL,
    { maxRequestBytes: REQUEST_MAX_BYTES, timeoutMs: init.timeoutMs },
    async (from, bytes) => {
      const v = ADMIN_WIRE_VERSION
      const request = decodeJson(bytes, requestSchema, REQUEST_MAX_BYTES)
      if (!request.ok) {
        reject(request.reason)
        return encodeJson({ v, ok: false, code: 'invalid_request', message: request.detail, leader: null })
      }
      if (!init.isMember(from)) {
        reject('not_member')
        return encodeJson({ v, ok: false, code: 'forbidden', message: 'asked by a non-member', leader: null })
      }
      init.metrics.wireAccepted.inc({ protocol: ADMIN_PROTOCOL })
      const { v: _v, ...question } = request.value
      log.info({ peer: from, op: question.op }, 'operator request forwarded by a member')
      return encodeJson({ v, ...(await init.answer(question)) })
    },
  )
}
