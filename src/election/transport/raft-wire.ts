// The wire format of /meshos/raft/1.0.0: one RaftMessage per length-prefixed JSON frame, checked
// against this schema before the core sees it, so a malformed frame is dropped and counted, never
// stepped. The schema mirrors types.ts; a test keeps the two in step by round-tripping messages
// the core produces.
import { z } from 'zod'
import type { RaftMessage } from '../core/types.js'
import { decodeJson, encodeJson, type DecodeResult } from '../../wire/json-codec.js'

export const RAFT_PROTOCOL = '/meshos/raft/1.0.0'
/** Append batches are bounded (64 entries), but an install-snapshot carries the whole state
 * machine; 64 MiB bounds what a peer can make us buffer. */
export const RAFT_FRAME_MAX_BYTES = 64 * 1024 * 1024

const id = z.string().min(1).max(128)
const index = z.number().int().nonnegative()
const config = z.object({ voters: z.array(id), learners: z.array(id) }).strict()
const entry = z.object({ term: index, index, type: z.enum(['normal', 'config']), data: z.unknown() }).strict()
const base = { from: id, to: id, term: index }

const raftMessageSchema = z.discriminatedUnion('type', [
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
  z.object({ ...base, type: z.literal('commit'), commit: index, logTerm: index.optional() }).strict(),
  z.object({ ...base, type: z.literal('timeoutNow') }).strict(),
])

export const encodeRaftMessage = (msg: RaftMessage): Uint8Array => encodeJson(msg)
export const decodeRaftMessage = (bytes: Uint8Array): DecodeResult<RaftMessage> =>
  decodeJson(bytes, raftMessageSchema, RAFT_FRAME_MAX_BYTES) as DecodeResult<RaftMessage>
