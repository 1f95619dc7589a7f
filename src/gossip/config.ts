// Membership defaults, each with its unit and the reason it was chosen. The agent's flags
// (src/cli/agent-config.ts) override these through src/node/config.ts; nothing else invents one.

import { DEFAULT_MEMBERSHIP_CORE, type MembershipCoreConfig } from './core/config.js'

/** The core's settings (core/config.ts, with their reasons) and the adapter's own. */
export interface MembershipConfig extends MembershipCoreConfig {
  /** How long a stopping node waits after announcing its leave before it closes connections,
   * so the announcement is flushed to the wire (loopback needs ~1 ms; a slow link more). */
  leaveFlushMs: number
  /** A dial of a member (a new neighbour, a bootstrap peer) is abandoned after this long. */
  dialTimeoutMs: number
  /** How often connections to peers outside the active view (and not otherwise in use) are
   * closed: a node keeps a bounded set of connections whatever the cluster size. */
  pruneIntervalMs: number
  /** A connection outside the active view is kept this long after it was opened, so requests
   * on it (a log read, a forwarded write) are not cut. */
  pruneGraceMs: number
}

export const DEFAULT_MEMBERSHIP: MembershipConfig = {
  ...DEFAULT_MEMBERSHIP_CORE,
  leaveFlushMs: 250,
  dialTimeoutMs: 3000,
  pruneIntervalMs: 10_000,
  pruneGraceMs: 60_000,
}

/** Membership wire size limits. */
export const MEMBERSHIP_LIMITS = {
  /** One gossiped event: a record is ~1 KiB; 16 KiB leaves room for many labels and addresses
   * while bounding what a malicious peer can make us parse. */
  eventBytes: 16 * 1024,
  /** One direct frame: a sync page of up to maxMembersPerMessage records. */
  frameBytes: 2 * 1024 * 1024,
  maxMembersPerMessage: 500,
  maxSyncBuckets: 1024,
  maxLabels: 64,
  maxAddrs: 16,
  /** Incarnations and sequence numbers: a restart or a refutation bumps the one, an info change
   * the other, so 2^50 lasts 35,000 years at 1,000 a second, and one more is still an exact integer
   * (and is saved and read back as one). */
  maxCounter: 2 ** 50,
  /** The most cpus a node may advertise. Peers drop records claiming more and the agent refuses
   * to start with more: the largest machines have a few hundred cores, and a claim far beyond
   * any machine would draw every task. Also the most one task may ask for. */
  maxCpus: 1024,
  /** The most memory a node may advertise, in MB (16 TiB), for the same reason. */
  maxMemoryMb: 16 * 1024 * 1024,
  /** A node's start time may be at most this far ahead of the receiver's clock (clocks differ a
   * little; a time days ahead is a lie or a broken clock). Checked by membership.ts, which has a
   * clock; the wire schema only bounds it to what a Date can hold. */
  maxClockAheadMs: 24 * 3600_000,
} as const
