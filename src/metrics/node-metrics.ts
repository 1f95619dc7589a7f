// Prometheus metrics of one node. A registry per node (not prom-client's global one) so several
// nodes in one process — tests, simulations — keep separate counts.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'

export class NodeMetrics {
  readonly registry = new Registry()

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

  constructor(collectProcessMetrics = true) {
    if (collectProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'meshos_' })
  }
}
