// Task output lives on the node that ran the attempt. /meshos/logs/1.0.0 lets any node read a
// chunk of it: one request, one response (bytes as base64 in versioned JSON), so a follow is a
// series of reads from the last offset and a dead worker costs one failed read, not a hung stream.
import { z } from 'zod'
import { decodeJson, encodeJson, type DecodeResult } from '../wire/json-codec.js'
import { LOG_STREAMS } from '../executor/types.js'

export const LOGS_PROTOCOL = '/meshos/logs/1.0.0'
export const LOGS_WIRE_VERSION = 1
/** One chunk: large enough that a finished task's log comes in a few round trips. */
export const LOG_CHUNK_MAX_BYTES = 256 * 1024
export const LOG_REQUEST_MAX_BYTES = 1024
export const LOG_RESPONSE_MAX_BYTES = Math.ceil((LOG_CHUNK_MAX_BYTES * 4) / 3) + 1024

const requestSchema = z
  .object({
    v: z.literal(LOGS_WIRE_VERSION),
    taskId: z.string().min(1).max(64),
    attempt: z.number().int().positive().safe(),
    stream: z.enum(LOG_STREAMS),
    offset: z.number().int().nonnegative().safe(),
    maxBytes: z.number().int().positive().max(LOG_CHUNK_MAX_BYTES),
  })
  .strict()
export type LogRequest = z.infer<typeof requestSchema>

const responseSchema = z
  .object({
    v: z.literal(LOGS_WIRE_VERSION),
    found: z.boolean(),
    data: z.string(),
    nextOffset: z.number().int().nonnegative().safe(),
    truncated: z.boolean(),
  })
  .strict()
export type LogResponse = z.infer<typeof responseSchema>

export const encodeLogRequest = (req: LogRequest): Uint8Array => encodeJson(req)
export const decodeLogRequest = (bytes: Uint8Array): DecodeResult<LogRequest> =>
  decodeJson(bytes, requestSchema, LOG_REQUEST_MAX_BYTES)
export const encodeLogResponse = (res: LogResponse): Uint8Array => encodeJson(res)
export const decodeLogResponse = (bytes: Uint8Array): DecodeResult<LogResponse> =>
  decodeJson(bytes, responseSchema, LOG_RESPONSE_MAX_BYTES)
