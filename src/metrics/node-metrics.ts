// Prometheus metrics of one node. A registry per node (not prom-client's global one) so several
// nodes in one process — tests, simulations — keep separate counts. The layers feed it from below
// (this folder imports nothing of theirs); gauges that mirror state are set by the hooks their
// owners register with onScrape(), just before each scrape, so nothing pays for them between.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { COMMIT_SECONDS, HTTP_SECONDS, SCHEDULING_SECONDS, TASK_RUN_SECONDS, WRITE_SECONDS } from './buckets.js'

/** prom-client's process defaults that are gauges named like counters, which Prometheus' own
 * checker (promtool check metrics) refuses; each is the sum of the by-type gauge beside it. */
const GAUGES_NAMED_TOTAL = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
]

export const METRICS_PREFIX = 'meshos_'

/** How a write through the write path ended (meshos_cluster_write_duration_seconds). */
export type WriteOutcome = 'committed' | 'no_leader' | 'unknown' | 'refused' | 'error'

/** The event-loop delay monitor wakes the process this often (prom-client's default, 10 ms, is
 * 100 wake-ups a second, a large share of an idle node's CPU); a stall shorter than this is
 * still measured, since the delay is what the wake-up comes late by. */
const EVENT_LOOP_MONITOR_MS = 100

export class NodeMetrics {
  readonly registry = new Registry()
  private readonly scrapeHooks: Array<() => void> = []

  /** Wire messages refused before any code acted on them, by protocol and reason. */
  readonly wireRejected = new Counter({
    name: 'meshos_wire_messages_rejected_total',
    help: "Wire messages dropped because they were oversized, not JSON, failed their schema, or were not the sender's to send",
    labelNames: ['protocol', 'reason'] as const,
    registers: [this.registry],
  })

  readonly wireAccepted = new Counter({
    name: 'meshos_wire_messages_accepted_total',
    help: 'Wire messages that passed validation',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  })

  /** Connections refused or cut by the p2p layer: no or another cluster key, invalid gossip. */
  readonly peersRefused = new Counter({
    name: 'meshos_p2p_peers_refused_total',
    help: 'Connections refused (peer not in this private network) or cut (peer sent invalid gossip), by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })

  /** Raft messages that passed the wire schema but were dropped before or by the core: the sender
   * may not send them (not_voter, not_leader, not_member, from_self), or they cannot be true
   * (invalid_message, commit_beyond_log, index_beyond_log, invalid_snapshot). */
  readonly raftRejected = new Counter({
    name: 'meshos_raft_messages_rejected_total',
    help: 'Raft messages dropped by the authorization gate or by semantic checks, by message type and reason',
    labelNames: ['type', 'reason'] as const,
    registers: [this.registry],
  })

  readonly members = new Gauge({
    name: 'meshos_members',
    help: 'Members of the cluster as this node sees them, by state (this node included)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  })

  readonly memberTransitions = new Counter({
    name: 'meshos_member_transitions_total',
    help: 'Member state changes seen by this node',
    labelNames: ['to'] as const,
    registers: [this.registry],
  })

  /** Set from the replicated task table when scraped (see MeshosNode). */
  readonly tasks = new Gauge({
    name: 'meshos_tasks',
    help: 'Tasks in the replicated task table, by state, as this node has applied it',
    labelNames: ['state'] as const,
    registers: [this.registry],
  })

  readonly taskReportsQueued = new Gauge({
    name: 'meshos_task_reports_queued',
    help: 'Task starts and outcomes of this worker not yet committed to the log',
    registers: [this.registry],
  })

  readonly tasksRunningHere = new Gauge({
    name: 'meshos_tasks_running_here',
    help: 'Task attempts this node is running (launched, outcome not yet reported)',
    registers: [this.registry],
  })

  /** 1 for what keeps this node's tasks from the agent (GET /v1/status, isolation). */
  readonly executorIsolation = new Gauge({
    name: 'meshos_executor_isolation',
    help: 'What isolates tasks: task_user (a user name, or agent when they run as the agent), cgroups (v1, v2, none), memory_limit (kernel or polling)',
    labelNames: ['task_user', 'cgroups', 'memory_limit'] as const,
    registers: [this.registry],
  })

  /** 1 for the way this node starts tasks; a node on the child_process fallback stands out. */
  readonly executorSpawner = new Gauge({
    name: 'meshos_executor_spawner',
    help: 'How this node starts task processes: launcher (posix_spawn) or child_process (fallback without a C compiler at build)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  })

  /** Messages this node queued for a peer (or published, for the gossip topic), by protocol. */
  readonly wireSent = new Counter({
    name: 'meshos_wire_messages_sent_total',
    help: 'Wire messages this node sent: frames queued on a channel to a peer, or events published on the gossip topic',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  })

  /** Messages dropped before they left: no channel to the peer, or its queue was full. */
  readonly wireSendDropped = new Counter({
    name: 'meshos_wire_messages_send_dropped_total',
    help: 'Wire messages this node meant to send but dropped: no channel to the peer, or its send queue was full',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  })

  readonly leaderChanges = new Counter({
    name: 'meshos_raft_leader_changes_total',
    help: 'Leaders this node learned of (a new leader, or the same one in a new term), the first one included',
    registers: [this.registry],
  })

  readonly raftTerm = new Gauge({
    name: 'meshos_raft_term',
    help: "This node's current Raft term (0 before the cluster is up)",
    registers: [this.registry],
  })

  /** On the leader only: from append() to the entry's apply on the leader. */
  readonly commitDuration = new Histogram({
    name: 'meshos_raft_commit_duration_seconds',
    help: 'On the leader: time from appending an entry it proposed to applying it (replicated to a majority, fsynced)',
    buckets: COMMIT_SECONDS,
    registers: [this.registry],
  })

  readonly writeDuration = new Histogram({
    name: 'meshos_cluster_write_duration_seconds',
    help: 'Writes to the replicated log made by this node (forwarded to the leader if need be), until applied here, by outcome',
    labelNames: ['outcome'] as const,
    buckets: WRITE_SECONDS,
    registers: [this.registry],
  })

  readonly raftLogEntries = new Gauge({
    name: 'meshos_raft_log_entries',
    help: "Entries in this node's Raft log after its latest snapshot",
    registers: [this.registry],
  })

  readonly raftSnapshotBytes = new Gauge({
    name: 'meshos_raft_snapshot_bytes',
    help: "Size of this node's latest Raft snapshot on disk (0 before the first)",
    registers: [this.registry],
  })

  /** On the leader only, for tasks queued while it led. */
  readonly schedulingLatency = new Histogram({
    name: 'meshos_task_scheduling_latency_seconds',
    help: 'On the leader: time from a task entering the queue (its submission, or a retry, applied) to its assignment applied',
    buckets: SCHEDULING_SECONDS,
    registers: [this.registry],
  })

  readonly tasksPending = new Gauge({
    name: 'meshos_tasks_pending',
    help: 'Tasks waiting for a placement, by tenant, in the task table as this node has applied it (a tenant with none is absent)',
    labelNames: ['tenant'] as const,
    registers: [this.registry],
  })

  readonly taskRunDuration = new Histogram({
    name: 'meshos_task_run_duration_seconds',
    help: 'Run time of the task attempts this node ran, from spawn to exit',
    buckets: TASK_RUN_SECONDS,
    registers: [this.registry],
  })

  /** Counted once per attempt: by the node that ran (or refused) it; lost and deadline_missed by
   * the leader that declared them. */
  readonly taskOutcomes = new Counter({
    name: 'meshos_task_outcomes_total',
    help: 'Task attempts that ended, by outcome: succeeded, exit_code, signal, timeout, memory, disk, cancelled, spawn_error, refused (by this node), lost, deadline_missed, drained (by the leader)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })

  readonly spawnFailures = new Counter({
    name: 'meshos_task_spawn_failures_total',
    help: 'Task attempts whose process could not be started on this node (the task message says why)',
    registers: [this.registry],
  })

  /** Labelled by route pattern (`/v1/tasks/:id`), never by the URL a client sent. */
  readonly httpRequests = new Counter({
    name: 'meshos_http_requests_total',
    help: 'HTTP API requests answered, by method, route pattern (unmatched: no route) and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  })

  readonly httpDuration = new Histogram({
    name: 'meshos_http_request_duration_seconds',
    help: 'HTTP API time from the request to its response starting (a followed stream counts until its first byte), by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_SECONDS,
    registers: [this.registry],
  })

  constructor(collectProcessMetrics = true) {
    if (!collectProcessMetrics) return
    collectDefaultMetrics({
      register: this.registry,
      prefix: METRICS_PREFIX,
      eventLoopMonitoringPrecision: EVENT_LOOP_MONITOR_MS,
    })
    for (const name of GAUGES_NAMED_TOTAL) this.registry.removeSingleMetric(METRICS_PREFIX + name)
  }

  /** `hook` runs before every scrape: it sets the gauges that mirror its owner's state. */
  onScrape(hook: () => void): void {
    this.scrapeHooks.push(hook)
  }

  /** The text a Prometheus scrape gets, with every scrape hook run first. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    for (const hook of this.scrapeHooks) hook()
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
