// /meshos/rpc/2.0.0: writes forwarded from any node to the leader, answered after they commit.
// Frames on the long-lived per-peer channels (P2PHost.sendFrame), each request carrying an id its
// result echoes: a stream per write cost the forwarding node more CPU than the write itself
// (stream setup, protocol selection, teardown), and at ~100 writes/s that saturated it.
import { z } from 'zod'
import { WIRE_LIMITS } from '../node/config.js'
import { decodeJson, encodeJson, type DecodeResult } from '../wire/json-codec.js'

export const RPC_PROTOCOL = '/meshos/rpc/2.0.0'
export const RPC_WIRE_VERSION = 2

const requestId = z.string().min(1).max(64)

const proposeRequestSchema = z.object({
  v: z.literal(RPC_WIRE_VERSION),
  type: z.literal('propose'),
  id: requestId,
  command: z.unknown()
}).strict()
export type ProposeRequest = z.infer<typeof proposeRequestSchema>

const resultBase = { v: z.literal(RPC_WIRE_VERSION), type: z.literal('result'), id: requestId }
const proposeResultSchema = z.discriminatedUnion('ok', [
  z.object({ ...resultBase, ok: z.literal(true), index: z.number().int().positive(), term: z.number().int().positive() }).strict(),
  z.object({
    ...resultBase,
    ok: z.literal(false),
    /** not_leader: ask `leader` instead; retry: safe to send again; unknown: may have committed. */
    code: z.enum(['not_leader', 'retry', 'unknown', 'invalid']),
    message: z.string().max(1024),
    leader: z.string().max(128).nullable()
  }).strict()
])
export type ProposeResult = z.infer<typeof proposeResultSchema>

/** A result before it is addressed to a request. */
export type ProposeResponse = DistributiveOmit<ProposeResult, 'v' | 'type' | 'id'>
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

const rpcFrameSchema = z.union([proposeRequestSchema, proposeResultSchema])
export type RpcFrame = z.infer<typeof rpcFrameSchema>

export const encodeRpcFrame = (frame: RpcFrame): Uint8Array => encodeJson(frame)
export const decodeRpcFrame = (bytes: Uint8Array): DecodeResult<RpcFrame> =>
  decodeJson(bytes, rpcFrameSchema, WIRE_LIMITS.rpcRequestBytes)
