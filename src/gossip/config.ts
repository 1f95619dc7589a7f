// Membership defaults, each with its unit and the reason it was chosen. The agent's flags
// (src/cli/agent-config.ts) override these through src/node/config.ts; nothing else invents one.

export interface MembershipConfig {
  /** How often a node publishes its heartbeat. Every node receives every heartbeat, so cost
   * grows with cluster size: at 500 ms a 10-node loopback cluster idled at ~13% of a core per
   * node, at 1 s about half that. Crash detection does not wait for it (a closed connection
   * raises suspicion at once), and a frozen node is still declared dead in ~5 s. */
  heartbeatIntervalMs: number
  /** Silence after which an alive member becomes suspect: 3 missed heartbeats, so one
   * delayed or dropped message (gossip bursts queue for hundreds of ms on 2 cores) does
   * not raise suspicion. */
  suspectAfterMs: number
  /** How long a suspicion waits for a refutation: suspicionMult * max(1, log10(n)) *
   * suspicionBaseMs, as memberlist's suspicionTimeout, so big clusters (where a refutation takes
   * longer to reach everyone) wait longer. A refutation is published the moment the suspected
   * node hears of it, so the base is a gossip round trip with margin, not a heartbeat interval.
   * 4 x 500 ms → 2 s up to 10 nodes, 3 s at 30. */
  suspicionMult: number
  suspicionBaseMs: number
  /** Lifeguard: independent confirmations from other members shorten the suspicion down to
   * this fraction of the full timeout. We expect at most this many confirmations. */
  suspicionMinFraction: number
  suspicionMaxConfirmations: number
  /** How long dead and left members are kept in the table (and shown by /v1/nodes) before
   * they are forgotten, so an operator can see what happened. */
  forgetAfterMs: number
  /** How often a dead or departed member (until forgotten) is dialled again: a restarted node
   * that has no bootstrap address of its own (the first node) is found again this way. */
  reconnectDeadIntervalMs: number
  /** New subscribers arriving within this window share one extra heartbeat (a cluster starting
   * at once would otherwise trigger one per peer). */
  extraHeartbeatCoalesceMs: number
  /** How long a stopping node waits after announcing its leave before it closes connections,
   * so the announcement is flushed to the wire (loopback needs ~1 ms; a slow link more). */
  leaveFlushMs: number
  /** Member-table tick; the table's timers are only as precise as this. */
  tickIntervalMs: number
  /** A gap between two ticks longer than this means *this* node was paused (SIGSTOP, a long
   * GC, an overloaded machine): the silence it saw is its own fault, so members are given that
   * time back instead of being accused (Lifeguard's local health awareness). */
  localPauseThresholdMs: number
}

export interface JoinConfig {
  /** Backoff for an unreachable bootstrap peer: starts small so a cluster that is started
   * all at once forms quickly, capped so a long outage costs little. */
  retryInitialMs: number
  retryMaxMs: number
  /** A join request that takes longer than this is abandoned and retried. */
  requestTimeoutMs: number
}

export const DEFAULT_MEMBERSHIP: MembershipConfig = {
  heartbeatIntervalMs: 1000,
  suspectAfterMs: 3000,
  suspicionMult: 4,
  suspicionBaseMs: 500,
  suspicionMinFraction: 0.5,
  suspicionMaxConfirmations: 3,
  forgetAfterMs: 10 * 60_000,
  reconnectDeadIntervalMs: 5000,
  extraHeartbeatCoalesceMs: 20,
  leaveFlushMs: 250,
  tickIntervalMs: 100,
  localPauseThresholdMs: 1000,
}

export const DEFAULT_JOIN: JoinConfig = {
  retryInitialMs: 250,
  retryMaxMs: 15_000,
  requestTimeoutMs: 3_000,
}

/** Membership wire size limits, in bytes. A heartbeat is ~1 KiB; 16 KiB leaves room for many labels
 * and addresses while bounding what a malicious peer can make us parse. */
export const MEMBERSHIP_LIMITS = {
  heartbeatBytes: 16 * 1024,
  joinRequestBytes: 16 * 1024,
  /** A member table of 1,000 nodes is ~1 MiB of JSON. */
  joinResponseBytes: 4 * 1024 * 1024,
  maxLabels: 64,
  maxAddrs: 16,
  /** Suspicions carried by one heartbeat (~70 bytes each): keeps it under heartbeatBytes. */
  maxSuspectsPerHeartbeat: 64,
  /** Incarnations and sequence numbers: a restart or a refutation bumps the one, a heartbeat the
   * other, so 2^50 lasts 35,000 years at 1,000 a second, and one more is still an exact integer
   * (and is saved and read back as one). */
  maxCounter: 2 ** 50,
  /** The most cpus a node may advertise. Peers drop heartbeats claiming more and the agent refuses
   * to start with more: the largest machines have a few hundred cores, and a claim far beyond
   * any machine would draw every task. Also the most one task may ask for. */
  maxCpus: 1024,
  /** The most memory a node may advertise, in MB (16 TiB), for the same reason. */
  maxMemoryMb: 16 * 1024 * 1024,
  /** Tasks a node may say it runs, and its load average: far above any machine. */
  maxRunning: 1_000_000,
  maxLoad: 1_000_000,
  /** A node's start time may be at most this far ahead of the receiver's clock (clocks differ a
   * little; a time days ahead is a lie or a broken clock). Checked by membership.ts, which has a
   * clock; the wire schema only bounds it to what a Date can hold. */
  maxClockAheadMs: 24 * 3600_000,
} as const
