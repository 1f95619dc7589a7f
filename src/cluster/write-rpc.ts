// /meshos/rpc/4.0.0: writes forwarded from any node to the leader. Frames on the long-lived
// per-peer channels (P2PHost.sendFrame), each request carrying an id its result echoes: a stream
// per write cost the forwarding node more CPU than the write itself (stream setup, protocol
// selection, teardown), and at ~100 writes/s that saturated it.
//
// A successful result says where the leader APPENDED the write (index, term), as soon as it did,
// not that it committed: the forwarding node then waits until it applies that very entry itself,
// which proves the commit and is when its own reads see the write. (Version 2 answered after the
// commit, and the forwarding node then still waited for its own apply: one more message on the
// critical path, ~0.6 ms of every forwarded write here.) The meaning changed, hence the new
// protocol id: a node of version 2 cannot mistake an early answer for a commit. Version 4 adds
// `untilApplied`: a worker holds no log to wait in, so it asks the leader to answer only once the
// entry is applied there (committed).
import { z } from 'zod'
import { decodeJson, encodeJson, type DecodeResult } from '../wire/json-codec.js'
import { TOO_MANY_TASKS } from '../tasks/cluster-port.js'

export const RPC_PROTOCOL = '/meshos/rpc/4.0.0'
export const RPC_WIRE_VERSION = 4 as const
/** A forwarded write: one command, up to 1,000 task specs. Above the HTTP body limit (16 MiB): the
 * command carries each spec with its defaults filled in, plus ids and times. */
export const RPC_FRAME_MAX_BYTES = 20 * 1024 * 1024

const requestId = z.string().min(1).max(64)

const proposeRequestSchema = z
  .object({
    v: z.literal(RPC_WIRE_VERSION),
    type: z.literal('propose'),
    id: requestId,
    command: z.unknown(),
    /** Answer once the entry is applied on the leader (committed), not as soon as it is appended. */
    untilApplied: z.boolean().optional(),
  })
  .strict()
export type ProposeRequest = z.infer<typeof proposeRequestSchema>

const resultBase = { v: z.literal(RPC_WIRE_VERSION), type: z.literal('result'), id: requestId }
const proposeResultSchema = z.discriminatedUnion('ok', [
  /** Appended by the leader at (index, term); committed once the asker applies that entry. */
  z
    .object({
      ...resultBase,
      ok: z.literal(true),
      index: z.number().int().positive().safe(),
      term: z.number().int().positive().safe(),
    })
    .strict(),
  z
    .object({
      ...resultBase,
      ok: z.literal(false),
      /** not_leader: ask `leader` instead; retry: safe to send again; unknown: may have committed. */
      code: z.enum(['not_leader', 'retry', 'unknown', 'invalid']),
      message: z.string().max(1024),
      leader: z.string().max(128).nullable(),
    })
    .strict(),
])
export type ProposeResult = z.infer<typeof proposeResultSchema>

/** A result before it is addressed to a request. */
export type ProposeResponse = DistributiveOmit<ProposeResult, 'v' | 'type' | 'id'>
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

const rpcFrameSchema = z.union([proposeRequestSchema, proposeResultSchema])
export type RpcFrame = z.infer<typeof rpcFrameSchema>

export const encodeRpcFrame = (frame: RpcFrame): Uint8Array => encodeJson(frame)
export const decodeRpcFrame = (bytes: Uint8Array): DecodeResult<RpcFrame> =>
  decodeJson(bytes, rpcFrameSchema, RPC_FRAME_MAX_BYTES)

/** Why the leader refused a write on purpose, as the first word of an `invalid` result's message
 * ("forbidden: task.assign: ..."): the result codes are fixed by the protocol, so the reason rides
 * in the text, where a node that does not know it still shows it. */
export const REFUSAL_REASONS = ['forbidden', TOO_MANY_TASKS] as const
export type RefusalReason = (typeof REFUSAL_REASONS)[number]

export function refusalMessage(reason: string | null, message: string): string {
  return reason !== null && (REFUSAL_REASONS as readonly string[]).includes(reason) ? `${reason}: ${message}` : message
}

/** The reason and the rest of an `invalid` result's message; reason null when it names none. */
export function parseRefusal(message: string): { reason: RefusalReason | null; detail: string } {
  for (const reason of REFUSAL_REASONS) {
    if (message.startsWith(`${reason}: `)) return { reason, detail: message.slice(reason.length + 2) }
  }
  return { reason: null, detail: message }
}
