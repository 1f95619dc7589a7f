// /meshos/rpc/1.0.0: a write forwarded from any node to the leader, answered after it commits.
import { z } from 'zod'
import { WIRE_LIMITS } from '../node/config.js'
import { decodeJson, encodeJson, type DecodeResult } from '../wire/json-codec.js'

export const RPC_PROTOCOL = '/meshos/rpc/1.0.0'
export const RPC_WIRE_VERSION = 1

const proposeRequestSchema = z.object({
  v: z.literal(RPC_WIRE_VERSION),
  type: z.literal('propose'),
  command: z.unknown()
}).strict()
export type ProposeRequest = z.infer<typeof proposeRequestSchema>

const proposeResponseSchema = z.discriminatedUnion('ok', [
  z.object({ v: z.literal(RPC_WIRE_VERSION), ok: z.literal(true), index: z.number().int().positive(), term: z.number().int().positive() }).strict(),
  z.object({
    v: z.literal(RPC_WIRE_VERSION),
    ok: z.literal(false),
    /** not_leader: ask `leader` instead; retry: safe to send again; unknown: may have committed. */
    code: z.enum(['not_leader', 'retry', 'unknown', 'invalid']),
    message: z.string().max(1024),
    leader: z.string().max(128).nullable()
  }).strict()
])
export type ProposeResponse = z.infer<typeof proposeResponseSchema>

export const encodeProposeRequest = (msg: ProposeRequest): Uint8Array => encodeJson(msg)
export const decodeProposeRequest = (bytes: Uint8Array): DecodeResult<ProposeRequest> =>
  decodeJson(bytes, proposeRequestSchema, WIRE_LIMITS.rpcRequestBytes)
export const encodeProposeResponse = (msg: ProposeResponse): Uint8Array => encodeJson(msg)
export const decodeProposeResponse = (bytes: Uint8Array): DecodeResult<ProposeResponse> =>
  decodeJson(bytes, proposeResponseSchema, WIRE_LIMITS.rpcResponseBytes)
