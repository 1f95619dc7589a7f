// Defaults of the membership core, each with its unit and the reason it was chosen.

export interface MembershipCoreConfig {
  /** K: rings, so each member has at most K observers and each node at most K subjects, and at
   * most 2K peers in its active view. 4 keeps detection robust to 3 observers failing together
   * and the overlay's diameter near log N, at 8 connections per node. */
  observersPerMember: number
  /** Each subject is probed once per period: a node sends K probes a period whatever N is. */
  probeIntervalMs: number
  /** A direct probe unanswered this long is retried through other members (indirect probes);
   * a loopback or LAN round trip is ~1 ms, so this tolerates a long GC pause or a busy peer. */
  probeTimeoutMs: number
  /** A subject that answers slowly gets a timeout from its measured round trips (srtt + 4 rttvar,
   * as TCP's), at least probeTimeoutMs and at most this. */
  maxProbeTimeoutMs: number
  /** Members asked to probe on our behalf when a direct probe fails (SWIM's k). */
  indirectProbes: number
  /** Consecutive failed rounds (direct and indirect) before an observer suspects its subject. With
   * 1% message loss a round fails by loss alone with p ~1e-5, so one round would still raise a
   * false suspicion somewhere in a thousand-node cluster every few minutes; two make that ~1e-10. */
  missedRoundsBeforeSuspect: number
  /** Suspicion timeout: suspicionMult * max(1, log10(n)) * suspicionBaseMs, shortened by
   * confirmations from other observers down to suspicionMinFraction of it (Lifeguard). */
  suspicionMult: number
  suspicionBaseMs: number
  suspicionMinFraction: number
  /** Confirmations expected at most: the other observers of the member. */
  suspicionMaxConfirmations: number
  /** Push-pull anti-entropy with one neighbour per period: repairs anything gossip lost. */
  antiEntropyIntervalMs: number
  /** Buckets of the anti-entropy digest: 64 digests (~1.4 KiB) are exchanged only when two tables
   * differ, and a difference in one member costs 1/64 of the table. */
  syncBuckets: number
  /** Members per sync message: bounds every message whatever the cluster size. */
  maxMembersPerMessage: number
  /** Every this long a node offers anti-entropy to one member it holds dead: a node that was only
   * cut off (a partition, a long pause) learns it was declared dead and refutes, so the two sides
   * of a healed partition find each other again. */
  reviveIntervalMs: number
  /** Backoff of an unanswered join, doubled per attempt up to the max. */
  joinRetryInitialMs: number
  joinRetryMaxMs: number
  /** Dead and departed members are kept this long (shown by /v1/nodes), then forgotten. */
  forgetAfterMs: number
  /** The core's tick; probe and suspicion timers are only as precise as this. */
  tickIntervalMs: number
  /** A gap between two ticks longer than this means this node was paused: the silence it saw
   * is its own fault, so it neither counts missed probes nor lets suspicions run out for it. */
  localPauseThresholdMs: number
  /** Lifeguard's local health: each failed round of ours adds one (to this cap), each answered
   * probe removes one; probe timeouts are multiplied by (1 + awareness). */
  maxAwareness: number
}

export const DEFAULT_MEMBERSHIP_CORE: MembershipCoreConfig = {
  observersPerMember: 4,
  probeIntervalMs: 1000,
  probeTimeoutMs: 400,
  maxProbeTimeoutMs: 3000,
  indirectProbes: 2,
  missedRoundsBeforeSuspect: 2,
  suspicionMult: 2,
  suspicionBaseMs: 500,
  suspicionMinFraction: 0.4,
  suspicionMaxConfirmations: 3,
  antiEntropyIntervalMs: 10_000,
  syncBuckets: 64,
  maxMembersPerMessage: 100,
  reviveIntervalMs: 10_000,
  joinRetryInitialMs: 250,
  joinRetryMaxMs: 15_000,
  forgetAfterMs: 10 * 60_000,
  tickIntervalMs: 100,
  localPauseThresholdMs: 1000,
  maxAwareness: 8,
}
