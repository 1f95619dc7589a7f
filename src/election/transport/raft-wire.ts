// The wire format of /meshos/raft/2.0.0: one RaftMessage per length-prefixed JSON frame, checked
// against this schema (and the rules of core/message-checks.ts) before the core sees it, so a
// malformed frame is dropped and counted, never stepped. The schema mirrors types.ts; a test keeps
// the two in step by round-tripping messages the core produces.
//
// A message whose JSON is larger than one chunk (a snapshot, a batch of large entries) travels as
// chunk frames: byte 0x01 (never the first byte of JSON text), a JSON header, a newline, then up
// to RAFT_CHUNK_BYTES of the message's JSON. The receiver puts them back together (raft-chunks.ts)
// and decodes the whole as above. No frame limit caps the cluster's state this way, only the
// reassembly cap below. 1.0.0 nodes cannot read chunks, hence the new major version.
import { z } from 'zod'
import { fromString, toString } from 'uint8arrays'
import type { RaftMessage } from '../core/types.js'
import { CONFIG_LIMITS } from '../core/raft-config.js'
import { RAFT_NUMBER_MAX, messageProblem } from '../core/message-checks.js'
import { decodeJson, encodeJson, type DecodeResult } from '../../wire/json-codec.js'

export const RAFT_PROTOCOL = '/meshos/raft/2.0.0'
/** Payload of one chunk frame; a message up to this size goes in one frame. */
export const RAFT_CHUNK_BYTES = 1024 * 1024
const CHUNK_MARK = 0x01
const CHUNK_HEADER_MAX_BYTES = 1024
/** Largest frame accepted: one chunk and its header. Bounds what a peer makes us buffer per frame. */
export const RAFT_FRAME_MAX_BYTES = RAFT_CHUNK_BYTES + CHUNK_HEADER_MAX_BYTES + 2
/** Largest message put back together from chunks. The state machine lives in memory on every node,
 * so this caps its snapshot (JSON) at a size far beyond what a meshos cluster holds, and below
 * what V8 can hold as one string (512 MiB). */
export const RAFT_MESSAGE_MAX_BYTES = 256 * 1024 * 1024

const id = z.string().min(1).max(CONFIG_LIMITS.maxIdChars)
const index = z.number().int().nonnegative().max(RAFT_NUMBER_MAX)
const config = z.object({ voters: z.array(id), learners: z.array(id) }).strict()
const entry = z.object({ term: index, index, type: z.enum(['normal', 'config']), data: z.unknown() }).strict()
const base = { from: id, to: id, term: index }

const raftMessageShape = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('preVote'), lastLogIndex: index, lastLogTerm: index }).strict(),
  z.object({ ...base, type: z.literal('preVoteResp'), granted: z.boolean() }).strict(),
  z
    .object({ ...base, type: z.literal('vote'), lastLogIndex: index, lastLogTerm: index, transfer: z.boolean() })
    .strict(),
  z.object({ ...base, type: z.literal('voteResp'), granted: z.boolean() }).strict(),
  z
    .object({
      ...base,
      type: z.literal('append'),
      prevLogIndex: index,
      prevLogTerm: index,
      entries: z.array(entry),
      commit: index,
    })
    .strict(),
  z
    .object({ ...base, type: z.literal('appendResp'), reject: z.boolean(), index, hintIndex: index, hintTerm: index })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('snapshot'),
      snapshot: z.object({ index, term: index, config, data: z.unknown() }).strict(),
    })
    .strict(),
  z.object({ ...base, type: z.literal('heartbeat'), commit: index }).strict(),
  z.object({ ...base, type: z.literal('heartbeatResp') }).strict(),
  z.object({ ...base, type: z.literal('commit'), commit: index, logTerm: index }).strict(),
  z.object({ ...base, type: z.literal('timeoutNow') }).strict(),
])

const raftMessageSchema = raftMessageShape.superRefine((message, ctx) => {
  const problem = messageProblem(message as RaftMessage)
  if (problem !== null) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem })
})

const chunkHeaderSchema = z
  .object({
    from: id,
    to: id,
    term: index,
    /** Only these can outgrow one frame. */
    type: z.enum(['append', 'snapshot']),
    /** The sender's number for this message; chunks of one message share it. */
    transfer: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    seq: z.number().int().nonnegative(),
    count: z.number().int().min(2),
    /** Length of the whole message's JSON. */
    bytes: z.number().int().min(1).max(RAFT_MESSAGE_MAX_BYTES),
  })
  .strict()
  .refine(h => h.count === Math.ceil(h.bytes / RAFT_CHUNK_BYTES) && h.seq < h.count, {
    message: 'count must be bytes / chunk size, rounded up, and seq below it',
  })
export type ChunkHeader = z.infer<typeof chunkHeaderSchema>

export type RaftFrame =
  { kind: 'message'; message: RaftMessage } | { kind: 'chunk'; header: ChunkHeader; payload: Uint8Array }

export const encodeRaftMessage = (msg: RaftMessage): Uint8Array => encodeJson(msg)

/** A whole message: one frame's JSON, or the JSON put back together from chunks. */
export const decodeRaftMessage = (bytes: Uint8Array): DecodeResult<RaftMessage> =>
  decodeJson(bytes, raftMessageSchema, RAFT_MESSAGE_MAX_BYTES) as DecodeResult<RaftMessage>

/** The frames that carry `msg`: one, or chunks numbered `transfer` when it is larger than a chunk.
 * Throws a RangeError for a message no peer would put back together. */
export function encodeRaftFrames(msg: RaftMessage, transfer: number): Uint8Array[] {
  const json = encodeRaftMessage(msg)
  if (json.byteLength <= RAFT_CHUNK_BYTES || (msg.type !== 'append' && msg.type !== 'snapshot')) return [json]
  if (json.byteLength > RAFT_MESSAGE_MAX_BYTES)
    throw new RangeError(`${msg.type} of ${json.byteLength} bytes is over the ${RAFT_MESSAGE_MAX_BYTES}-byte limit`)
  const count = Math.ceil(json.byteLength / RAFT_CHUNK_BYTES)
  const frames: Uint8Array[] = []
  for (let seq = 0; seq < count; seq++) {
    const header: ChunkHeader = {
      from: msg.from,
      to: msg.to,
      term: msg.term,
      type: msg.type,
      transfer,
      seq,
      count,
      bytes: json.byteLength,
    }
    const headerBytes = fromString(`${JSON.stringify(header)}\n`, 'utf8')
    const payload = json.subarray(seq * RAFT_CHUNK_BYTES, (seq + 1) * RAFT_CHUNK_BYTES)
    const frame = new Uint8Array(1 + headerBytes.byteLength + payload.byteLength)
    frame[0] = CHUNK_MARK
    frame.set(headerBytes, 1)
    frame.set(payload, 1 + headerBytes.byteLength)
    frames.push(frame)
  }
  return frames
}

/** One frame as received: a whole message, or a chunk whose header is valid and whose payload
 * has the length the header implies. Never throws. */
export function decodeRaftFrame(bytes: Uint8Array): DecodeResult<RaftFrame> {
  if (bytes.byteLength > RAFT_FRAME_MAX_BYTES) {
    return { ok: false, reason: 'oversized', detail: `${bytes.byteLength} bytes > limit ${RAFT_FRAME_MAX_BYTES}` }
  }
  if (bytes[0] !== CHUNK_MARK) {
    const result = decodeRaftMessage(bytes)
    return result.ok ? { ok: true, value: { kind: 'message', message: result.value } } : result
  }
  const end = bytes.subarray(0, CHUNK_HEADER_MAX_BYTES + 1).indexOf(0x0a)
  if (end < 0) return { ok: false, reason: 'invalid_schema', detail: 'chunk header too long or unterminated' }
  let parsed: unknown
  try {
    parsed = JSON.parse(toString(bytes.subarray(1, end), 'utf8'))
  } catch (err) {
    return { ok: false, reason: 'not_json', detail: `chunk header: ${(err as Error).message}` }
  }
  const header = chunkHeaderSchema.safeParse(parsed)
  if (!header.success) {
    const issue = header.error.issues[0]
    const where = issue?.path.length ? issue.path.join('.') : '(root)'
    return { ok: false, reason: 'invalid_schema', detail: `chunk header ${where}: ${issue?.message ?? 'invalid'}` }
  }
  const payload = bytes.subarray(end + 1)
  const h = header.data
  const expected = h.seq < h.count - 1 ? RAFT_CHUNK_BYTES : h.bytes - (h.count - 1) * RAFT_CHUNK_BYTES
  if (payload.byteLength !== expected) {
    return {
      ok: false,
      reason: 'invalid_schema',
      detail: `chunk ${h.seq} holds ${payload.byteLength} bytes, not ${expected}`,
    }
  }
  return { ok: true, value: { kind: 'chunk', header: h, payload } }
}
