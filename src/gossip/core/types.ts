// The data of the membership core (membership v2, see docs/architecture.md): what a node says about
// itself, what the table holds about each member, what travels between nodes. Plain JSON.
import type { MemberState } from '../member-state.js'
import type { Resources } from '../../util/resources.js'

/** What a node says about itself; changes rarely (a restart, an operator's flag). */
export interface MemberInfo {
  nodeId: string
  name: string
  addrs: string[]
  capacity: Resources
  labels: Record<string, string>
  version: string
  /** Epoch ms at which this incarnation of the process started. */
  startedAt: number
}

/** A node's own announcement, signed by it: any node may relay it without being trusted for it. */
export interface MemberRecord {
  info: MemberInfo
  /** Bumped on every restart and whenever the node refutes a suspicion of itself. */
  incarnation: number
  /** Bumped when the node changes its info within an incarnation. */
  seq: number
  /** Opaque to the core: the adapter signs and verifies (the simulation leaves it empty). */
  signature: string
}

/** One member as a node knows it, in the form that anti-entropy and joins carry. */
export interface MemberSnapshot {
  record: MemberRecord
  state: MemberState
  /** The incarnation a suspect, dead or left state refers to (the record's own when alive). */
  stateIncarnation: number
  /** How long the sender has known this state: a receiver forgets a dead member when the sender
   * does, instead of keeping it a full retention period longer (and handing it back). */
  stateAgeMs: number
}

/** What spreads by gossip: changes, never a node's full state on a period. */
export type MembershipEvent =
  | { kind: 'alive'; record: MemberRecord }
  | { kind: 'suspect'; nodeId: string; incarnation: number; by: string }
  | { kind: 'dead'; nodeId: string; incarnation: number; by: string }
  | { kind: 'left'; nodeId: string; incarnation: number }

/** Two lanes of 32 bits: an order-independent sum over the records of a bucket (or of all). */
export type Digest = [number, number]

/** What one node sends another directly (probes, anti-entropy). */
export type DirectMessage =
  /** Are you there? `suspectedAt` tells a suspected node which incarnation it must exceed. */
  | { type: 'probe'; seq: number; suspectedAt?: number }
  | { type: 'ack'; seq: number }
  /** Please probe `target` for me and answer with probeReqAck. */
  | { type: 'probeReq'; seq: number; target: string }
  | { type: 'probeReqAck'; seq: number; target: string }
  /** Anti-entropy, step 1: my table's digest. `joining` carries the sender itself on a join. */
  | { type: 'syncHello'; root: Digest; joining?: MemberSnapshot }
  /** Step 2 (the digests differ): the digest of each of my buckets. */
  | { type: 'syncBuckets'; buckets: Digest[] }
  /** Step 3: the buckets that differ, and my members in them (first page). */
  | { type: 'syncPull'; buckets: number[]; members: MemberSnapshot[] }
  /** Step 3 continued, and step 4 (the answer): members, a page at a time. */
  | { type: 'syncPush'; members: MemberSnapshot[]; last: boolean }
  /** A graceful leave, told directly to the active view (gossip may not reach a new neighbour). */
  | { type: 'left'; incarnation: number }

export interface Transition {
  nodeId: string
  from: MemberState | null
  to: MemberState
  reason: string
}

/** What a call into the core asks the adapter to do. */
export interface CoreOutput {
  sends: Array<{ to: string; message: DirectMessage }>
  publishes: MembershipEvent[]
  transitions: Transition[]
  /** Dead or departed members kept for forgetAfterMs and now dropped from the table. */
  forgotten: string[]
  /** The set of subjects and observers changed: connect to the new ones. */
  activeViewChanged: boolean
  /** This node's own record changed (refutation, info update): persist its incarnation. */
  selfChanged: boolean
}
