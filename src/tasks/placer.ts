// The leader's placement state, shared by the master's scheduling rounds (master.ts) and by
// placement at submission: the scheduler's view of the nodes, the round-robin cursor, and a
// ledger of placements proposed but not yet applied, which every plan counts so that the two
// paths never give out the same capacity.
//
// When the queue is empty, a submission is placed as it is proposed (the placements ride in the
// submission's own log entry), so a task on an idle cluster starts after one commit instead of two.
import type { MemberDirectory } from '../gossip/member-directory.js'
import type { MemberInfo } from '../gossip/core/types.js'
import { usableCapacity } from '../gossip/capacity.js'
import { plan } from '../scheduler/scheduler.js'
import type {
  SchedulerInput,
  SchedulerNode,
  SchedulerPlan,
  SchedulerPolicy,
  SchedulerTask,
} from '../scheduler/types.js'
import type { Resources } from '../util/resources.js'
import type { TaskClusterView } from './cluster-port.js'
import type { TaskSubmitCommand } from './commands.js'
import type { TaskRecord } from './task-table.js'

export interface PlacerInit {
  /** This node's id: it wins placement ties (see SchedulerInput.preferredNodeId). */
  self: string
  cluster: TaskClusterView
  members: MemberDirectory
  policy: SchedulerPolicy
  /** Pending tasks considered per round: bounds the cost of one plan. */
  maxTasksPerRound: number
}

/** A submission as it is proposed, and what to call once its proposal is settled. */
export interface PlacedSubmission {
  command: TaskSubmitCommand
  done: () => void
}

type Allocation = Resources & { taskCount: number }

export class Placer {
  private roundRobinAfter: string | null = null
  /** Resources of placements proposed but not yet applied, per node. */
  private readonly reserved = new Map<string, Allocation>()

  constructor(private readonly init: PlacerInit) {}

  /** A plan for the pending queue (at most maxTasksPerRound tasks), as of `nowMs`; null when
   * nothing is pending. */
  planRound(nowMs: number): SchedulerPlan | null {
    const pending: SchedulerTask[] = []
    for (const t of this.init.cluster.table.pending()) {
      if (pending.length >= this.init.maxTasksPerRound) break
      pending.push(toSchedulerTask(t))
    }
    return pending.length === 0 ? null : this.plan(pending, nowMs)
  }

  /** Places the tasks of a submission as it is proposed, when nothing else waits, so the queue
   * order of the policy is never bypassed. A scheduling round may be under way: the tasks it
   * plans stay pending until its assignment applies (so this path stands back), and what it
   * placed is in the reservations. Under load a round is nearly always scheduled (every applied
   * entry pokes one), and standing back for it cost most tasks a second commit. */
  placeSubmission(command: TaskSubmitCommand, nowMs: number): PlacedSubmission {
    const unchanged = { command, done: () => {} }
    const cluster = this.init.cluster
    if (!cluster.isReadyLeader() || !cluster.table.pending().next().done) return unchanged
    const result = this.plan(
      command.tasks.map((t, i) => toSchedulerTask({ id: t.id, seq: i, spec: t.spec })),
      nowMs,
    )
    if (result.assignments.length === 0) return unchanged
    const placed = new Map(result.assignments.map(a => [a.taskId, a]))
    const tasks = command.tasks.map(t => {
      const a = placed.get(t.id)
      return a === undefined ? t : { ...t, assign: { node: a.nodeId, placement: a.placement } }
    })
    const done = this.reserve(
      tasks.flatMap(t => (t.assign === undefined ? [] : [{ node: t.assign.node, spec: t.spec }])),
    )
    return { command: { ...command, tasks, term: cluster.term() }, done }
  }

  /** Holds capacity for placements until their entry is applied (or failed); returns the release. */
  reserve(placements: Array<{ node: string; spec: Resources }>): () => void {
    const add = (sign: 1 | -1): void => {
      for (const { node, spec } of placements) {
        const r = this.reserved.get(node) ?? { cpus: 0, memoryMb: 0, taskCount: 0 }
        r.cpus += sign * spec.cpus
        r.memoryMb += sign * spec.memoryMb
        r.taskCount += sign
        if (r.taskCount === 0) this.reserved.delete(node)
        else this.reserved.set(node, r)
      }
    }
    add(1)
    let released = false
    return () => {
      if (!released) add(-1)
      released = true
    }
  }

  /** Every known node as the scheduler sees it: capacity from gossip (none for a claim no node may
   * make), allocations from the log and the reservations. */
  schedulerNodes(): SchedulerNode[] {
    const allocated = new Map<string, Allocation>()
    for (const [node, r] of this.reserved) allocated.set(node, { ...r })
    for (const t of this.init.cluster.table.activeTasks()) {
      if (t.node === null) continue
      const a = allocated.get(t.node) ?? { cpus: 0, memoryMb: 0, taskCount: 0 }
      a.cpus += t.spec.cpus
      a.memoryMb += t.spec.memoryMb
      a.taskCount++
      allocated.set(t.node, a)
    }
    const toNode = (info: MemberInfo, alive: boolean, draining: boolean): SchedulerNode => {
      const a = allocated.get(info.nodeId)
      return {
        id: info.nodeId,
        name: info.name,
        alive,
        draining,
        labels: info.labels,
        capacity: usableCapacity(info.capacity),
        allocated: { cpus: a?.cpus ?? 0, memoryMb: a?.memoryMb ?? 0 },
        taskCount: a?.taskCount ?? 0,
      }
    }
    const members = this.init.members
    // An operator's drain, or a graceful leave: the node keeps what it runs and takes nothing new.
    const drains = this.init.cluster.table.drains
    const nodes = [toNode(members.selfInfo, true, drains.has(members.selfInfo.nodeId))]
    for (const m of members.others())
      nodes.push(toNode(m.record.info, m.state === 'alive', m.state === 'left' || drains.has(m.record.info.nodeId)))
    return nodes
  }

  private plan(pending: SchedulerTask[], nowMs: number): SchedulerPlan {
    const result = plan(this.input(pending, nowMs))
    this.roundRobinAfter = result.roundRobinAfter
    return result
  }

  private input(pending: SchedulerTask[], nowMs: number): SchedulerInput {
    const tenantUsage: Record<string, Resources> = {}
    for (const t of this.init.cluster.table.activeTasks()) {
      const u = tenantUsage[t.spec.tenant] ?? { cpus: 0, memoryMb: 0 }
      u.cpus += t.spec.cpus
      u.memoryMb += t.spec.memoryMb
      tenantUsage[t.spec.tenant] = u
    }
    return {
      policy: this.init.policy,
      nodes: this.schedulerNodes(),
      pending,
      tenantUsage,
      roundRobinAfter: this.roundRobinAfter,
      nowMs,
      preferredNodeId: this.init.self,
    }
  }
}

export function toSchedulerTask(t: Pick<TaskRecord, 'id' | 'seq' | 'spec'>): SchedulerTask {
  return {
    id: t.id,
    cpus: t.spec.cpus,
    memoryMb: t.spec.memoryMb,
    priority: t.spec.priority,
    deadlineMs: t.spec.deadline,
    tenant: t.spec.tenant,
    constraints: t.spec.constraints,
    seq: t.seq,
    ...(t.spec.policy !== null ? { policy: t.spec.policy } : {}),
  }
}
