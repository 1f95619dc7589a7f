// What the scheduler reads and what it returns. The scheduler is pure: the master builds a
// SchedulerInput snapshot (nodes from gossip, allocations and the queue from the replicated task
// table, the clock reading) and commits the plan it gets back; the scheduler itself never reads a
// clock, the network or the disk.

export type SchedulerPolicy = 'round-robin' | 'spread' | 'bin-pack' | 'edf' | 'fair'

export const SCHEDULER_POLICIES: readonly SchedulerPolicy[] = ['round-robin', 'spread', 'bin-pack', 'edf', 'fair']

export type { Resources } from '../util/resources.js'
import type { Resources } from '../util/resources.js'

export interface SchedulerNode {
  id: string
  name: string
  /** Alive in the membership view; suspect, dead and left members take no new work. */
  alive: boolean
  /** The node is leaving (or an operator drains it): it keeps what it runs, takes nothing new. */
  draining: boolean
  labels: Record<string, string>
  /** What the node advertises (gossip). */
  capacity: Resources
  /** Sum of the resources of tasks the log has assigned to it and that are not finished. */
  allocated: Resources
  /** Number of tasks the log has assigned to it that are not finished. */
  taskCount: number
}

export interface SchedulerTask {
  id: string
  cpus: number
  memoryMb: number
  /** 0..100, higher first. */
  priority: number
  /** Epoch ms, or null. */
  deadlineMs: number | null
  tenant: string
  /** Node labels that must all match exactly. */
  constraints: Record<string, string>
  /** Position in the log (submission order): the final tie-breaker, so plans are deterministic. */
  seq: number
  /** A per-task override of the policy's placement ranking (not of queue order). */
  policy?: SchedulerPolicy
}

export interface SchedulerInput {
  policy: SchedulerPolicy
  nodes: SchedulerNode[]
  /** Tasks waiting for a node, in any order: the scheduler orders them. */
  pending: SchedulerTask[]
  /** Resources currently held (assigned or running) per tenant, for `fair` (DRF). */
  tenantUsage: Record<string, Resources>
  /** Where round-robin continues: the id of the node that got the last round-robin task, or null. */
  roundRobinAfter: string | null
  nowMs: number
  /** Wins a full tie under spread and bin-pack: the master's own node, which applies a commit first
   * (no commit message to wait for) and reports on its tasks without a network hop. */
  preferredNodeId?: string
}

export interface Assignment {
  taskId: string
  nodeId: string
  /** Why this node, for the task's `placement` field: "spread: 3 nodes fit, chose n2 (least loaded, 0.2 of 2 cpus used)". */
  placement: string
}

export interface PendingExplanation {
  taskId: string
  /** Why the task is still pending: "3 nodes evaluated: 2 lack 4 cpus, 1 lacks label zone=edge". */
  placement: string
  /** No node could ever hold it (no alive node's capacity, empty or not, fits the task or its constraints). */
  unsatisfiable: boolean
}

export interface SchedulerPlan {
  assignments: Assignment[]
  pending: PendingExplanation[]
  /** Pending tasks whose deadline passed (deadlineMs < nowMs): the master fails them with deadline_missed. */
  expired: string[]
  roundRobinAfter: string | null
}
