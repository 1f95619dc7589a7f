// The membership wire format (v2): events on the gossip topic, and the messages two nodes exchange
// directly (probes, anti-entropy, joins). Versioned JSON, checked against a schema and a size limit
// before the core sees it. Records are signed by the node they describe (signedBytes()).
import { z } from 'zod'
import { fromString } from 'uint8arrays'
import { MEMBERSHIP_LIMITS } from './config.js'
import { MEMBER_STATES } from './member-state.js'
import { decodeJson, encodeJson, type DecodeResult } from '../wire/json-codec.js'
import { canonicalJson } from '../wire/canonical-json.js'
import { MAX_EPOCH_MS } from '../util/epoch.js'
import type { DirectMessage, MemberInfo, MemberRecord, MembershipEvent } from './core/types.js'

export const MEMBERSHIP_WIRE_VERSION = 2
export const MEMBERSHIP_TOPIC = 'meshos/membership/2'
/** Probes and anti-entropy between two nodes, on a long-lived frame channel per peer. */
export const MEMBERSHIP_PROTOCOL = '/meshos/membership/2.0.0'

const L = MEMBERSHIP_LIMITS
const nodeId = z.string().min(1).max(128)
/** Incarnations and sequence numbers: exact integers, with room to count up. */
const counter = z.number().int().nonnegative().max(L.maxCounter)
const resources = z
  .object({ cpus: z.number().nonnegative().max(L.maxCpus), memoryMb: z.number().nonnegative().max(L.maxMemoryMb) })
  .strict()
const labels = z
  .record(z.string().min(1).max(63), z.string().max(255))
  .refine(l => Object.keys(l).length <= L.maxLabels, `at most ${L.maxLabels} labels`)

export const memberInfoSchema = z
  .object({
    nodeId,
    name: z.string().min(1).max(255),
    addrs: z.array(z.string().min(1).max(512)).max(L.maxAddrs),
    capacity: resources,
    labels,
    version: z.string().max(64),
    /** Epoch ms; how far ahead of the receiver's clock is checked by membership.ts (it has a clock). */
    startedAt: z.number().int().nonnegative().max(MAX_EPOCH_MS),
  })
  .strict()

const recordSchema = z
  .object({ info: memberInfoSchema, incarnation: counter, seq: counter, signature: z.string().max(256) })
  .strict()

const snapshotSchema = z
  .object({
    record: recordSchema,
    state: z.enum(MEMBER_STATES),
    stateIncarnation: counter,
    stateAgeMs: z.number().int().nonnegative().max(MAX_EPOCH_MS),
  })
  .strict()

const v = z.literal(MEMBERSHIP_WIRE_VERSION)

const eventSchema = z.discriminatedUnion('kind', [
  z.object({ v, kind: z.literal('alive'), record: recordSchema }).strict(),
  z.object({ v, kind: z.literal('suspect'), nodeId, incarnation: counter, by: nodeId }).strict(),
  z.object({ v, kind: z.literal('dead'), nodeId, incarnation: counter, by: nodeId }).strict(),
  z.object({ v, kind: z.literal('left'), nodeId, incarnation: counter }).strict(),
])

const digest = z.tuple([z.number().int().nonnegative().max(0xffffffff), z.number().int().nonnegative().max(0xffffffff)])
const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
/** There are at most maxSyncBuckets buckets, numbered from 0. */
const lastBucket = L.maxSyncBuckets - 1
const bucketNumber = z.number().int().nonnegative().max(lastBucket)
const members = z.array(snapshotSchema).max(L.maxMembersPerMessage)

const directSchema = z.discriminatedUnion('type', [
  z.object({ v, type: z.literal('probe'), seq, suspectedAt: counter.optional() }).strict(),
  z.object({ v, type: z.literal('ack'), seq }).strict(),
  z.object({ v, type: z.literal('probeReq'), seq, target: nodeId }).strict(),
  z.object({ v, type: z.literal('probeReqAck'), seq, target: nodeId }).strict(),
  z.object({ v, type: z.literal('syncHello'), root: digest, joining: snapshotSchema.optional() }).strict(),
  z.object({ v, type: z.literal('syncBuckets'), buckets: z.array(digest).max(L.maxSyncBuckets) }).strict(),
  z
    .object({
      v,
      type: z.literal('syncPull'),
      buckets: z.array(bucketNumber).max(L.maxSyncBuckets),
      members,
    })
    .strict(),
  z.object({ v, type: z.literal('syncPush'), members, last: z.boolean() }).strict(),
  z.object({ v, type: z.literal('left'), incarnation: counter }).strict(),
])

/** The bytes a node signs for its record: everything but the signature, in canonical order. */
export function signedBytes(record: Omit<MemberRecord, 'signature'>): Uint8Array {
  return fromString(canonicalJson({ info: record.info, incarnation: record.incarnation, seq: record.seq }), 'utf8')
}

const strip = <T extends { v: number }>(msg: T): Omit<T, 'v'> => {
  const { v: _v, ...rest } = msg
  return rest
}

export const encodeEvent = (event: MembershipEvent): Uint8Array => encodeJson({ v: MEMBERSHIP_WIRE_VERSION, ...event })
export function decodeEvent(bytes: Uint8Array): DecodeResult<MembershipEvent> {
  const r = decodeJson(bytes, eventSchema, L.eventBytes)
  return r.ok ? { ok: true, value: strip(r.value) as MembershipEvent } : r
}

export const encodeDirect = (message: DirectMessage): Uint8Array =>
  encodeJson({ v: MEMBERSHIP_WIRE_VERSION, ...message })
export function decodeDirect(bytes: Uint8Array): DecodeResult<DirectMessage> {
  const r = decodeJson(bytes, directSchema, L.frameBytes)
  return r.ok ? { ok: true, value: strip(r.value) as DirectMessage } : r
}

/** True when the payload is JSON of a wire version other than ours (relayed during an upgrade:
 * ignored rather than held against the peer that forwarded it). */
export function isOtherVersion(data: Uint8Array): boolean {
  try {
    const version = (JSON.parse(new TextDecoder().decode(data)) as { v?: unknown }).v
    return typeof version === 'number' && version !== MEMBERSHIP_WIRE_VERSION
  } catch {
    return false
  }
}

/** Why peers would refuse this description of a node, or null: a node checks its own at start. */
export function memberInfoProblem(info: MemberInfo): string | null {
  const result = memberInfoSchema.safeParse(info)
  if (result.success) return null
  const issue = result.error.issues[0]
  return `${issue?.path.length ? issue.path.join('.') : '(info)'}: ${issue?.message ?? 'invalid'}`
}
