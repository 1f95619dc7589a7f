// The master role: on the leader only, turns the replicated task table plus the membership view
// into scheduling decisions and commits them. One round at a time: read a snapshot, ask the pure
// scheduler for a plan, commit the plan, and only then look again, so a task is never planned
// twice from a stale view. Also marks the tasks of dead workers lost and fails pending tasks whose
// deadline passed.
//
// When the queue is empty, the master also places a submission as it is proposed (the
// placements ride in the submission's own log entry), so a task on an idle cluster starts after
// one commit instead of two. Placements proposed but not yet applied are held in a reservation
// ledger that every plan counts, so the two paths never give out the same capacity.
import type { Logger } from 'pino'
import type { MemberTable } from '../gossip/member-table.js'
import type { ClusterCommand } from '../cluster/commands.js'
import { plan } from '../scheduler/scheduler.js'
import type { SchedulerInput, SchedulerNode, SchedulerPolicy, SchedulerTask, Resources } from '../scheduler/types.js'
import type { TaskRecord, TaskTable } from './task-table.js'

export interface MasterInit {
  /** This node's id: it wins placement ties (see SchedulerInput.preferredNodeId). */
  self: string
  table: TaskTable
  members: MemberTable
  policy: SchedulerPolicy
  /** True while this node leads and has applied an entry of its own term (its view is complete). */
  isReadyLeader: () => boolean
  term: () => number
  write: (command: ClusterCommand) => Promise<unknown>
  /** How often the master looks even when nothing changed: deadlines and dead workers. */
  pollMs: number
  /** Pending tasks considered per round: bounds the cost of one plan. */
  maxTasksPerRound: number
  unknownWorkerGraceMs: number
  logger: Logger
}

export class Master {
  private running = false
  private again = false
  private timer: NodeJS.Timeout | undefined
  private roundRobinAfter: string | null = null
  /** When this node last became a ready leader (null while it is not one). */
  private leadingSinceMs: number | null = null
  private stopped = false
  /** Resources of placements proposed but not yet applied, per node. */
  private readonly reserved = new Map<string, Resources & { taskCount: number }>()
  private readonly log: Logger

  constructor (private readonly init: MasterInit) {
    this.log = init.logger.child({ component: 'master' })
  }

  start (): void {
    this.init.table.onEvent(ev => { if (ev.type === 'changed') this.poke() })
    this.timer = setInterval(() => { this.poke() }, this.init.pollMs)
  }

  stop (): void {
    this.stopped = true
    clearInterval(this.timer)
  }

  /** Schedules a round soon; coalesces bursts of changes into one round. */
  poke (): void {
    if (this.stopped) return
    if (this.running) {
      this.again = true
      return
    }
    this.running = true
    setImmediate(() => { void this.loop() })
  }

  private async loop (): Promise<void> {
    try {
      do {
        this.again = false
        if (!this.init.isReadyLeader()) {
          this.leadingSinceMs = null
          return
        }
        await this.round()
      } while (this.again && !this.stopped)
    } catch (err) {
      // A lost leadership or a timeout: the next poke (or poll) tries again from fresh state.
      this.log.debug({ err: (err as Error).message }, 'scheduling round failed')
    } finally {
      this.running = false
    }
  }

  private async round (): Promise<void> {
    const nowMs = Date.now()
    const lost = this.lostTasks(nowMs)
    for (const [node, tasks] of lost) {
      this.log.warn({ node, tasks: tasks.length }, 'worker is gone; marking its tasks lost')
      await this.init.write({ type: 'task.lost', node, tasks, at: nowMs, message: `worker ${this.nameOf(node)} left or died` })
    }
    // From here to the reservation nothing awaits: a submission placed meanwhile (placeOnSubmit)
    // is either in the table or in the reservations that this view of the nodes counts.
    const input = this.input(this.schedulerNodes(), nowMs)
    if (input.pending.length === 0) return
    const result = plan(input)
    this.roundRobinAfter = result.roundRobinAfter
    const assignments = result.assignments.map(a => ({
      id: a.taskId, attempt: this.init.table.get(a.taskId)?.attempt ?? 1, node: a.nodeId, placement: a.placement
    }))
    const release = this.reserve(assignments.map(a => ({ node: a.node, spec: this.init.table.get(a.id)!.spec })))
    try {
      if (result.expired.length > 0) await this.init.write({ type: 'task.expire', ids: result.expired, at: nowMs })
      // More may fit once these are placed; the commit's 'changed' event pokes us again.
      if (assignments.length > 0) await this.init.write({ type: 'task.assign', term: this.init.term(), assignments })
    } finally {
      release()
    }
  }

  /** The proposal hook: places the tasks of a submission when nothing else waits, so the queue
   * order of the policy is never bypassed. A scheduling round may be under way: the tasks it
   * plans stay pending until its assignment applies (so this path stands back), and what it
   * placed is in the reservations. Under load a round is nearly always scheduled (every applied
   * entry pokes one), and standing back for it cost most tasks a second commit. */
  placeOnSubmit (command: ClusterCommand): { command: ClusterCommand, done: () => void } {
    const unchanged = { command, done: () => {} }
    if (command.type !== 'task.submit' || !this.init.isReadyLeader()) return unchanged
    if (!this.init.table.pending().next().done) return unchanged
    const nowMs = Date.now()
    const pending: SchedulerTask[] = command.tasks.map((t, i) => toSchedulerTask({ id: t.id, seq: i, spec: t.spec }))
    const input = { ...this.input(this.schedulerNodes(), nowMs), pending }
    const result = plan(input)
    if (result.assignments.length === 0) return unchanged
    this.roundRobinAfter = result.roundRobinAfter
    const placed = new Map(result.assignments.map(a => [a.taskId, a]))
    const tasks = command.tasks.map(t => {
      const a = placed.get(t.id)
      return a === undefined ? t : { ...t, assign: { node: a.nodeId, placement: a.placement } }
    })
    const done = this.reserve(tasks.filter(t => t.assign !== undefined).map(t => ({ node: t.assign!.node, spec: t.spec })))
    return { command: { ...command, tasks, term: this.init.term() }, done }
  }

  /** Holds capacity for placements until their entry is applied (or failed); returns the release. */
  private reserve (placements: Array<{ node: string, spec: { cpus: number, memoryMb: number } }>): () => void {
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

  /** Every known node as the scheduler sees it: capacity from gossip, allocations from the log. */
  schedulerNodes (): SchedulerNode[] {
    const members = this.init.members
    const allocated = new Map<string, Resources & { taskCount: number }>()
    for (const [node, r] of this.reserved) allocated.set(node, { ...r })
    for (const t of this.init.table.activeTasks()) {
      if (t.node === null) continue
      const a = allocated.get(t.node) ?? { cpus: 0, memoryMb: 0, taskCount: 0 }
      a.cpus += t.spec.cpus
      a.memoryMb += t.spec.memoryMb
      a.taskCount++
      allocated.set(t.node, a)
    }
    const toNode = (info: typeof members.selfInfo, alive: boolean, draining: boolean): SchedulerNode => {
      const a = allocated.get(info.nodeId)
      return {
        id: info.nodeId,
        name: info.name,
        alive,
        draining,
        labels: info.labels,
        capacity: info.capacity,
        allocated: { cpus: a?.cpus ?? 0, memoryMb: a?.memoryMb ?? 0 },
        taskCount: a?.taskCount ?? 0
      }
    }
    const nodes = [toNode(members.selfInfo, true, false)]
    for (const m of members.others()) nodes.push(toNode(m.info, m.state === 'alive', m.state === 'left'))
    return nodes
  }

  /** Tasks assigned to workers that are dead, have left, or were forgotten, grouped by worker.
   * A worker this node has never heard of counts as gone only after unknownWorkerGraceMs of
   * leading: a leader that just restarted is still learning the membership. */
  private lostTasks (nowMs: number): Map<string, Array<{ id: string, attempt: number }>> {
    const gone = new Map<string, Array<{ id: string, attempt: number }>>()
    const self = this.init.members.selfInfo.nodeId
    this.leadingSinceMs ??= nowMs
    const trustUnknown = nowMs - this.leadingSinceMs >= this.init.unknownWorkerGraceMs
    for (const t of this.init.table.activeTasks()) {
      if (t.node === null || t.node === self) continue
      const state = this.init.members.get(t.node)?.state
      if (state === 'alive' || state === 'suspect' || (state === undefined && !trustUnknown)) continue
      const list = gone.get(t.node) ?? []
      list.push({ id: t.id, attempt: t.attempt })
      gone.set(t.node, list)
    }
    return gone
  }

  private input (nodes: SchedulerNode[], nowMs: number): SchedulerInput {
    const tenantUsage: Record<string, Resources> = {}
    for (const t of this.init.table.activeTasks()) {
      const u = tenantUsage[t.spec.tenant] ?? { cpus: 0, memoryMb: 0 }
      u.cpus += t.spec.cpus
      u.memoryMb += t.spec.memoryMb
      tenantUsage[t.spec.tenant] = u
    }
    const pending: SchedulerTask[] = []
    for (const t of this.init.table.pending()) {
      if (pending.length >= this.init.maxTasksPerRound) break
      pending.push(toSchedulerTask(t))
    }
    return { policy: this.init.policy, nodes, pending, tenantUsage, roundRobinAfter: this.roundRobinAfter, nowMs, preferredNodeId: this.init.self }
  }

  private nameOf (nodeId: string): string {
    return this.init.members.get(nodeId)?.info.name ?? nodeId
  }
}

export function toSchedulerTask (t: Pick<TaskRecord, 'id' | 'seq' | 'spec'>): SchedulerTask {
  return {
    id: t.id,
    cpus: t.spec.cpus,
    memoryMb: t.spec.memoryMb,
    priority: t.spec.priority,
    deadlineMs: t.spec.deadline,
    tenant: t.spec.tenant,
    constraints: t.spec.constraints,
    seq: t.seq,
    ...(t.spec.policy !== null ? { policy: t.spec.policy } : {})
  }
}
