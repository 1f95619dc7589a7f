// The wire format of /meshos/raft-config/1.0.0, the trust anchor's question (core/raft-gate.ts):
// "which voters do you know?", one request and one answer per stream, both strict and small.
import { z } from 'zod'
import { CONFIG_LIMITS } from '../core/raft-config.js'
import { RAFT_NUMBER_MAX } from '../core/message-checks.js'
import type { ConfigAnswer } from '../core/raft-gate.js'
import { decodeJson, encodeJson, type DecodeResult } from '../../wire/json-codec.js'

export const RAFT_CONFIG_PROTOCOL = '/meshos/raft-config/1.0.0'
export const RAFT_CONFIG_WIRE_VERSION = 1
export const RAFT_CONFIG_REQUEST_MAX_BYTES = 64
/** 64 voters of 128 characters and the rest, with room to spare. */
export const RAFT_CONFIG_ANSWER_MAX_BYTES = 16 * 1024

const id = z.string().min(1).max(CONFIG_LIMITS.maxIdChars)
const requestSchema = z.object({ v: z.literal(RAFT_CONFIG_WIRE_VERSION) }).strict()
const answerSchema = z.discriminatedUnion('status', [
  z
    .object({
      v: z.literal(RAFT_CONFIG_WIRE_VERSION),
      status: z.literal('ok'),
      term: z.number().int().nonnegative().max(RAFT_NUMBER_MAX),
      leader: id.nullable(),
      voters: z
        .array(id)
        .max(CONFIG_LIMITS.maxVoters)
        .refine(voters => new Set(voters).size === voters.length, 'duplicate voter'),
    })
    .strict(),
  z
    .object({
      v: z.literal(RAFT_CONFIG_WIRE_VERSION),
      status: z.literal('refused'),
      reason: z.enum(['not_member', 'rate_limited']),
    })
    .strict(),
])

export const encodeConfigRequest = (): Uint8Array => encodeJson({ v: RAFT_CONFIG_WIRE_VERSION })
export const decodeConfigRequest = (bytes: Uint8Array): DecodeResult<{ v: number }> =>
  decodeJson(bytes, requestSchema, RAFT_CONFIG_REQUEST_MAX_BYTES)

export const encodeConfigAnswer = (answer: ConfigAnswer): Uint8Array =>
  encodeJson({ v: RAFT_CONFIG_WIRE_VERSION, ...answer })
export function decodeConfigAnswer(bytes: Uint8Array): DecodeResult<ConfigAnswer> {
  const result = decodeJson(bytes, answerSchema, RAFT_CONFIG_ANSWER_MAX_BYTES)
  if (!result.ok) return result
  const { v: _version, ...answer } = result.value
  return { ok: true, value: answer }
}
