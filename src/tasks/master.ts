// The master role: on the leader only, turns the replicated task table plus the membership view
// into scheduling decisions and commits them. One round at a time: read a snapshot, ask the pure
// scheduler for a plan (through the Placer), commit the plan, and only then look again, so a task
// is never planned twice from a stale view. Also marks the tasks of dead workers lost and fails
// pending tasks whose deadline passed, and keeps the drains of nodes (drain-keeper.ts).
import type { Logger } from 'pino'
import type { MemberDirectory } from '../gossip/member-directory.js'
import type { Clock, TimerHandle } from '../util/clock.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import type { TaskCluster } from './cluster-port.js'
import { TASK_COMMAND_LIMITS } from './commands.js'
import type { Placer } from './placer.js'
import { keepDrains } from './drain-keeper.js'

export interface MasterInit {
  cluster: TaskCluster
  members: MemberDirectory
  placer: Placer
  clock: Clock
  /** How often the master looks even when nothing changed: deadlines and dead workers. */
  pollMs: number
  unknownWorkerGraceMs: number
  logger: Logger
  /** Counts the attempts this master declares lost and the tasks whose deadline it expires. */
  metrics?: NodeMetrics
}

type LostByWorker = Map<string, Array<{ id: string; attempt: number }>>

export class Master {
  private running = false
  private again = false
  private timer: TimerHandle | undefined
  /** When this node last became a ready leader (null while it is not one). */
  private leadingSinceMs: number | null = null
  private stopped = false
  private readonly log: Logger

  constructor(private readonly init: MasterInit) {
    this.log = init.logger.child({ component: 'master' })
  }

  start(): void {
    this.init.cluster.table.onEvent(ev => {
      if (ev.type === 'changed') this.poke()
    })
    this.timer = this.init.clock.setInterval(() => {
      this.poke()
    }, this.init.pollMs)
  }

  stop(): void {
    this.stopped = true
    this.init.clock.clear(this.timer)
  }

  /** Schedules a round soon; coalesces bursts of changes into one round. */
  poke(): void {
    if (this.stopped) return
    if (this.running) {
      this.again = true
      return
    }
    this.running = true
    setImmediate(() => {
      void this.loop()
    })
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false
        if (!this.init.cluster.isReadyLeader()) {
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

  private async round(): Promise<void> {
    const { cluster, placer } = this.init
    const nowMs = this.init.clock.nowMs()
    for (const [node, tasks] of this.lostTasks(nowMs)) {
      this.log.warn({ peer: node, tasks: tasks.length }, 'worker is gone; marking its tasks lost')
      const name = this.init.members.nameOf(node) ?? node
      for (const part of chunks(tasks)) {
        await cluster.write(
          { type: 'task.lost', node, tasks: part, at: nowMs, message: `worker ${name} left or died` },
          { idempotent: true },
        )
        this.init.metrics?.taskOutcomes.inc({ outcome: 'lost' }, part.length)
      }
    }
    const nameOf = (node: string): string => this.init.members.nameOf(node) ?? node
    const { evicted } = await keepDrains(cluster, nowMs, nameOf, this.log)
    if (evicted > 0) this.init.metrics?.taskOutcomes.inc({ outcome: 'drained' }, evicted)
    // From the plan to the reservation nothing awaits: a submission placed meanwhile
    // (Placer.placeSubmission) is either in the table or in the reservations the plan counts.
    const result = placer.planRound(nowMs)
    if (result === null) return
    const assignments = result.assignments.map(a => ({
      id: a.taskId,
      attempt: cluster.table.get(a.taskId)?.attempt ?? 1,
      node: a.nodeId,
      placement: a.placement,
    }))
    const release = placer.reserve(assignments.map(a => ({ node: a.node, spec: cluster.table.get(a.id)!.spec })))
    try {
      for (const ids of chunks(result.expired)) {
        await cluster.write({ type: 'task.expire', ids, at: nowMs }, { idempotent: true })
        this.init.metrics?.taskOutcomes.inc({ outcome: 'deadline_missed' }, ids.length)
      }
      // More may fit once these are placed; the commit's 'changed' event pokes us again.
      for (const part of chunks(assignments))
        await cluster.write({ type: 'task.assign', term: cluster.term(), assignments: part }, { idempotent: true })
    } finally {
      release()
    }
  }

  /** Tasks assigned to workers that are dead, have left, or were forgotten, grouped by worker.
   * A worker this node has never heard of counts as gone only after unknownWorkerGraceMs of
   * leading: a leader that just restarted is still learning the membership. */
  private lostTasks(nowMs: number): LostByWorker {
    const gone: LostByWorker = new Map()
    const self = this.init.members.selfInfo.nodeId
    this.leadingSinceMs ??= nowMs
    const trustUnknown = nowMs - this.leadingSinceMs >= this.init.unknownWorkerGraceMs
    for (const t of this.init.cluster.table.activeTasks()) {
      if (t.node === null || t.node === self) continue
      const state = this.init.members.get(t.node)?.state
      if (state === 'alive' || state === 'suspect' || (state === undefined && !trustUnknown)) continue
      const list = gone.get(t.node) ?? []
      list.push({ id: t.id, attempt: t.attempt })
      gone.set(t.node, list)
    }
    return gone
  }
}

/** `items` in runs no longer than a command may carry. */
function chunks<T>(items: T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += TASK_COMMAND_LIMITS.maxItems)
    out.push(items.slice(i, i + TASK_COMMAND_LIMITS.maxItems))
  return out
}
