// The membership wire format: heartbeats and leave announcements on the gossip topic, and the
// member table a joining node fetches from its bootstrap peer. Every message is versioned
// JSON, checked against a schema and a size limit before anything reads it.
import { z } from 'zod'
import { MEMBERSHIP_LIMITS } from './config.js'
import { MEMBER_STATES } from './member-state.js'
import { decodeJson, encodeJson, type DecodeResult } from '../wire/json-codec.js'
import { MAX_EPOCH_MS } from '../util/epoch.js'

export const MEMBERSHIP_WIRE_VERSION = 1

const nodeId = z.string().min(1).max(128)
/** Incarnations and sequence numbers: exact integers, with room to count up. */
const counter = z.number().int().nonnegative().max(MEMBERSHIP_LIMITS.maxCounter)
/** Capacity and allocations, never beyond what a node may advertise. */
const resources = z
  .object({
    cpus: z.number().nonnegative().max(MEMBERSHIP_LIMITS.maxCpus),
    memoryMb: z.number().nonnegative().max(MEMBERSHIP_LIMITS.maxMemoryMb),
  })
  .strict()
/** Times as epoch ms that a Date can hold; how far ahead of the receiver's clock is checked by
 * membership.ts, which has a clock. */
const epochMs = z.number().int().nonnegative().max(MAX_EPOCH_MS)

const labels = z
  .record(z.string().min(1).max(63), z.string().max(255))
  .refine(l => Object.keys(l).length <= MEMBERSHIP_LIMITS.maxLabels, `at most ${MEMBERSHIP_LIMITS.maxLabels} labels`)

/** What a node says about itself. Only the node itself ever writes these fields. */
export const nodeInfoSchema = z
  .object({
    nodeId,
    name: z.string().min(1).max(255),
    addrs: z.array(z.string().min(1).max(512)).max(MEMBERSHIP_LIMITS.maxAddrs),
    /** Bumped on every restart and whenever the node refutes a suspicion of itself. */
    incarnation: counter,
    /** Bumped on every heartbeat; (incarnation, seq) orders a node's announcements. */
    seq: counter,
    capacity: resources,
    allocated: resources,
    running: z.number().int().nonnegative().max(MEMBERSHIP_LIMITS.maxRunning),
    /** One-minute load average of the machine. */
    load: z.number().nonnegative().max(MEMBERSHIP_LIMITS.maxLoad),
    labels,
    version: z.string().max(64),
    /** Epoch ms at which this incarnation of the process started. */
    startedAt: epochMs,
  })
  .strict()
export type NodeInfo = z.infer<typeof nodeInfoSchema>

const heartbeatSchema = z
  .object({
    v: z.literal(MEMBERSHIP_WIRE_VERSION),
    type: z.literal('heartbeat'),
    node: nodeInfoSchema,
    /** Members the sender currently suspects, with the incarnation it suspects: the suspected
     * node refutes by bumping its incarnation; others count it as a confirmation (Lifeguard). */
    suspects: z.array(z.object({ nodeId, incarnation: counter }).strict()).max(256),
  })
  .strict()

const leaveSchema = z
  .object({
    v: z.literal(MEMBERSHIP_WIRE_VERSION),
    type: z.literal('leave'),
    nodeId,
    incarnation: counter,
    seq: counter,
  })
  .strict()

export const gossipMessageSchema = z.discriminatedUnion('type', [heartbeatSchema, leaveSchema])
export type GossipMessage = z.infer<typeof gossipMessageSchema>
export type HeartbeatMessage = z.infer<typeof heartbeatSchema>
export type LeaveMessage = z.infer<typeof leaveSchema>
export type Suspicion = HeartbeatMessage['suspects'][number]

export const memberStateSchema = z.enum(MEMBER_STATES)

/** One row of the member table as sent to a joining node. */
const memberRecordSchema = z
  .object({
    node: nodeInfoSchema,
    state: memberStateSchema,
    /** How long ago the sender last heard from this member: clocks are not shared. */
    lastSeenAgoMs: epochMs,
  })
  .strict()
export type MemberRecord = z.infer<typeof memberRecordSchema>

const joinRequestSchema = z
  .object({
    v: z.literal(MEMBERSHIP_WIRE_VERSION),
    node: nodeInfoSchema,
  })
  .strict()
export type JoinRequest = z.infer<typeof joinRequestSchema>

const joinResponseSchema = z
  .object({
    v: z.literal(MEMBERSHIP_WIRE_VERSION),
    members: z.array(memberRecordSchema).max(10_000),
  })
  .strict()
export type JoinResponse = z.infer<typeof joinResponseSchema>

export const encodeGossip = (msg: GossipMessage): Uint8Array => encodeJson(msg)
export const decodeGossip = (bytes: Uint8Array): DecodeResult<GossipMessage> =>
  decodeJson(bytes, gossipMessageSchema, MEMBERSHIP_LIMITS.heartbeatBytes)

export const encodeJoinRequest = (msg: JoinRequest): Uint8Array => encodeJson(msg)
export const decodeJoinRequest = (bytes: Uint8Array): DecodeResult<JoinRequest> =>
  decodeJson(bytes, joinRequestSchema, MEMBERSHIP_LIMITS.joinRequestBytes)

export const encodeJoinResponse = (msg: JoinResponse): Uint8Array => encodeJson(msg)
export const decodeJoinResponse = (bytes: Uint8Array): DecodeResult<JoinResponse> =>
  decodeJson(bytes, joinResponseSchema, MEMBERSHIP_LIMITS.joinResponseBytes)
