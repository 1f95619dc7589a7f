// Raft and voter-management defaults, each with its unit and the reason it was chosen. The core
// (core/raft.ts) takes its timings as required options; these are the agent's values.

export interface ElectionConfig {
  /** One Raft tick. Timeouts below are counted in ticks, so this sets their resolution. */
  tickMs: number
  /** Followers campaign after electionTicks..2*electionTicks ticks without a leader (300-600 ms
   * at 50 ms ticks): a few heartbeats may be lost before anyone campaigns, and failover stays
   * well under a second on a LAN (etcd's defaults, 1 s / 100 ms, give ~1.2 s here). */
  electionTicks: number
  /** The leader's heartbeat, in ticks: 50 ms keeps six heartbeats inside one election timeout. */
  heartbeatTicks: number
  /** Applied entries between snapshots: bounds the log on disk and the replay after a restart. */
  compactEvery: number
  /** The voter target (--voters): 5 survives two failures; more voters slow every commit. */
  maxVoters: number
  /** Learners kept beyond the voters, caught up to replace a failed voter at once (Consul's
   * standbys); every other member is a worker that holds no Raft log, so the leader's cost does
   * not grow with the cluster. Two cover a second failure during a replacement. */
  maxStandbys: number
  /** How often a worker (a node outside the Raft configuration) asks a voter who leads while
   * nothing tells it the leader changed; a forward that finds the leader gone asks at once. */
  workerLeaderQueryMs: number
  /** How often the leader reconsiders the voter set. */
  autopilotIntervalMs: number
  /** A voter dead this long is replaced by a healthy member, so a cluster whose machines come
   * and go keeps a quorum; long enough that a reboot does not cost a configuration change. */
  replaceDeadVoterAfterMs: number
  removeDeadLearnerAfterMs: number
  /** A learner this many entries behind the leader counts as caught up and may vote. */
  learnerCatchUpLag: number
  /** How long a write waits for a leader and a commit before answering 503. */
  writeTimeoutMs: number
}

export const DEFAULT_ELECTION: ElectionConfig = {
  tickMs: 50,
  electionTicks: 30,
  heartbeatTicks: 10,
  compactEvery: 1000,
  maxVoters: 5,
  maxStandbys: 2,
  workerLeaderQueryMs: 5000,
  autopilotIntervalMs: 500,
  replaceDeadVoterAfterMs: 15_000,
  removeDeadLearnerAfterMs: 60_000,
  learnerCatchUpLag: 64,
  writeTimeoutMs: 5000,
}
