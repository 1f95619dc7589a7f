// /meshos/leader/1.0.0: how a node that holds no Raft log (a worker) learns who leads. One request,
// one answer, from a node that holds the log: the term, the leader it follows, and the voters.
import { z } from 'zod'
import { decodeJson, encodeJson, type DecodeResult } from '../wire/json-codec.js'

export const LEADER_PROTOCOL = '/meshos/leader/1.0.0'
export const LEADER_WIRE_VERSION = 1
export const LEADER_REQUEST_MAX_BYTES = 256
export const LEADER_ANSWER_MAX_BYTES = 16 * 1024

const id = z.string().min(1).max(128)
const requestSchema = z.object({ v: z.literal(LEADER_WIRE_VERSION) }).strict()
const answerSchema = z.discriminatedUnion('status', [
  z
    .object({
      v: z.literal(LEADER_WIRE_VERSION),
      status: z.literal('ok'),
      term: z
        .number()
        .int()
        .nonnegative()
        .max(2 ** 48),
      leader: id.nullable(),
      voters: z.array(id).max(64),
    })
    .strict(),
  /** The asked node holds no log (a worker too), is not a member here, or asks too often. */
  z.object({ v: z.literal(LEADER_WIRE_VERSION), status: z.enum(['unknown', 'refused']) }).strict(),
])
export type LeaderAnswer = z.infer<typeof answerSchema>

export const encodeLeaderRequest = (): Uint8Array => encodeJson({ v: LEADER_WIRE_VERSION })
export const decodeLeaderRequest = (bytes: Uint8Array): DecodeResult<{ v: 1 }> =>
  decodeJson(bytes, requestSchema, LEADER_REQUEST_MAX_BYTES)
export const encodeLeaderAnswer = (answer: LeaderAnswer): Uint8Array => encodeJson(answer)
export const decodeLeaderAnswer = (bytes: Uint8Array): DecodeResult<LeaderAnswer> =>
  decodeJson(bytes, answerSchema, LEADER_ANSWER_MAX_BYTES)
