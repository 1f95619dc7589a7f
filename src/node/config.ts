// Every default of a meshos node, in one place, with its unit and the reason it was chosen.
// The CLI (src/cli/agent-config.ts) turns flags and MESHOS_* env vars into overrides of these; nothing else
// in the codebase invents a default.
import os from 'node:os'
import type { SpawnerChoice } from '../executor/spawner.js'
import type { SchedulerPolicy } from '../scheduler/types.js'

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

export interface TasksConfig {
  /** Queue order and placement ranking of the master (--scheduler); see the README. spread
   * (least loaded) is the default: on a small cluster of unequal machines it keeps every node
   * responsive and loses the least work when one dies. */
  policy: SchedulerPolicy
  /** The master looks at the queue at least this often even when nothing changed, to fail
   * expired deadlines and re-queue the tasks of dead workers. */
  masterPollMs: number
  /** Pending tasks one scheduling round considers (in submission order): bounds one plan's cost
   * (~3 ms for 1,000 tasks on 30 nodes); the rest waits for the next round. */
  maxTasksPerRound: number
  /** A new master treats a worker it has never heard of (forgotten after its death, or not yet
   * learned after the master's own restart) as gone only after leading this long: the
   * membership of a freshly started node is complete within a join and a heartbeat or two. */
  unknownWorkerGraceMs: number
  /** How often a worker re-checks its assignments against what it runs, besides every change. */
  reconcileMs: number
  /** Task starts and outcomes per report entry in the log. */
  maxEventsPerReport: number
  /** A task's start is reported this late (or with the next report going anyway): a task that
   * ends sooner reports once, its finish carrying the start time. Every report is a commit (~6
   * messages across three nodes); for 1,000 short tasks at 50/s this cut Raft messages 13.0k ->
   * 12.1k and the agents' CPU by ~8%. The price: `running` shows up to this late. */
  startReportDelayMs: number
  /** A log read from another node that takes longer is abandoned (its worker is likely gone). */
  logRequestTimeoutMs: number
  /** A finished task's work dir and output stay on its node this long (then removed). */
  taskDirRetentionMs: number
  /** How often a node removes expired task dirs. */
  taskDirGcIntervalMs: number
  /** Per stream and attempt: output beyond this is dropped (and the read says truncated). */
  maxLogBytes: number
  /** SIGTERM, then SIGKILL after this long (timeouts and cancellations). */
  killGraceMs: number
  /** How often the memory of running task trees is measured against their memoryMb. */
  memoryPollMs: number
  /**
   * How task processes are created: 'launcher' (posix_spawn in native/launcher.c, a fraction of
   * the cost of a fork), 'child_process' (Node's spawn), or 'auto': the launcher if it was built.
   */
  spawner: SpawnerChoice
}

export interface NodeConfig {
  listen: string[]
  bootstrap: string[]
  httpHost: string
  httpPort: number
  dataDir: string
  name: string
  cpus: number
  memoryMb: number
  labels: Record<string, string>
  logLevel: string
  membership: MembershipConfig
  join: JoinConfig
  election: ElectionConfig
  tasks: TasksConfig
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
  localPauseThresholdMs: 1000
}

export const DEFAULT_ELECTION: ElectionConfig = {
  tickMs: 50,
  electionTicks: 6,
  heartbeatTicks: 1,
  compactEvery: 1000,
  maxVoters: 5,
  autopilotIntervalMs: 500,
  replaceDeadVoterAfterMs: 15_000,
  removeDeadLearnerAfterMs: 60_000,
  learnerCatchUpLag: 64,
  writeTimeoutMs: 5000
}

export const DEFAULT_TASKS: TasksConfig = {
  policy: 'spread',
  masterPollMs: 250,
  maxTasksPerRound: 5000,
  unknownWorkerGraceMs: 10_000,
  reconcileMs: 2000,
  maxEventsPerReport: 1000,
  startReportDelayMs: 100,
  logRequestTimeoutMs: 5000,
  taskDirRetentionMs: 24 * 3600_000,
  taskDirGcIntervalMs: 10 * 60_000,
  maxLogBytes: 8 * 1024 * 1024,
  killGraceMs: 2000,
  memoryPollMs: 250,
  spawner: 'auto'
}

export const DEFAULT_JOIN: JoinConfig = {
  retryInitialMs: 250,
  retryMaxMs: 15_000,
  requestTimeoutMs: 3_000
}

/** Wire size limits, in bytes. A heartbeat is ~1 KiB; 16 KiB leaves room for many labels
 * and addresses while bounding what a malicious peer can make us parse. */
export const WIRE_LIMITS = {
  heartbeatBytes: 16 * 1024,
  joinRequestBytes: 16 * 1024,
  /** A member table of 1,000 nodes is ~1 MiB of JSON. */
  joinResponseBytes: 4 * 1024 * 1024,
  /** A forwarded write: one command, up to 1,000 task specs. Above the HTTP body limit (16
   * MiB): the command carries each spec with its defaults filled in, plus ids and times. */
  rpcRequestBytes: 20 * 1024 * 1024,
  rpcResponseBytes: 64 * 1024,
  maxLabels: 64,
  maxAddrs: 16,
  /** Suspicions carried by one heartbeat (~70 bytes each): keeps it under heartbeatBytes. */
  maxSuspectsPerHeartbeat: 64
} as const

export const HTTP_LIMITS = {
  /** Requests are small JSON documents, except a batch of up to 1,000 task specs (a few KiB
   * each); 16 MiB bounds what one bad client can make us buffer. */
  bodyBytes: 16 * 1024 * 1024,
  /** Far above any id we issue, so over-long ids reach the schema check and get a clear 400. */
  maxParamLength: 2048
} as const

export const DEFAULT_HTTP_PORT = 7070
export const DEFAULT_P2P_PORT = 7000

export function defaultNodeConfig (): NodeConfig {
  return {
    listen: [`/ip4/127.0.0.1/tcp/${DEFAULT_P2P_PORT}`],
    bootstrap: [],
    // Node-local API: loopback only until authentication exists.
    httpHost: '127.0.0.1',
    httpPort: DEFAULT_HTTP_PORT,
    dataDir: './.meshos',
    name: os.hostname(),
    cpus: os.cpus().length,
    memoryMb: Math.floor(os.totalmem() / (1024 * 1024)),
    labels: {},
    logLevel: 'info',
    membership: { ...DEFAULT_MEMBERSHIP },
    join: { ...DEFAULT_JOIN },
    election: { ...DEFAULT_ELECTION },
    tasks: { ...DEFAULT_TASKS }
  }
}
