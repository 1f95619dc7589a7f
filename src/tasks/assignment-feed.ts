// The leader's side of /meshos/assign (assign-wire.ts): pushes to each worker that said hello the
// attempts the log assigns to it, the cancellations of those, and those taken back (re-queued
// elsewhere, as at a drain's deadline), as they are applied; sends the full set to a worker that
// asks (after it (re)connects, or when a new leader took over); resends what stays
// unacknowledged. Only workers outside the Raft configuration need it: a node that
// holds the log reads its assignments from its own replica.
import type { Logger } from 'pino'
import type { FrameChannelLimits, P2PHost } from '../p2p/host.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import type { Clock, TimerHandle } from '../util/clock.js'
import type { TaskCluster } from './cluster-port.js'
import type { TaskRecord } from './task-table.js'
import { isRevocation } from './assignments.js'
import {
  ASSIGN_FRAME_MAX_BYTES,
  ASSIGN_PAGE,
  ASSIGN_PAGE_BYTES,
  ASSIGN_PROTOCOL,
  encodeAssignFrame,
  type AssignFrame,
  type AssignMessage,
  type WireAssignment,
} from './assign-wire.js'

const CHANNEL_LIMITS: FrameChannelLimits = {
  maxFrameBytes: ASSIGN_FRAME_MAX_BYTES,
  maxQueuedBytes: 4 * ASSIGN_FRAME_MAX_BYTES,
  dialTimeoutMs: 2000,
  redialBackoffMs: 250,
}

export interface AssignmentFeedInit {
  host: P2PHost
  cluster: TaskCluster
  /** Only live members may subscribe. */
  isMember: (peerId: string) => boolean
  /** Whether a node is in the Raft configuration: it reads its assignments from its own replica. */
  holdsLog: (peerId: string) => boolean
  /** Unacknowledged frames are sent again after this long. */
  resendMs: number
  clock: Clock
  metrics: NodeMetrics
  logger: Logger
}

interface Subscriber {
  nextSeq: number
  unacked: Map<number, { message: AssignMessage; sentAtMs: number }>
  /** Assignments, cancellations and revocations collected in this turn, sent together. */
  batch: Batch | null
}

interface Batch {
  assignments: WireAssignment[]
  cancels: string[]
  revokes: Array<{ id: string; attempt: number }>
}

export const toWire = (t: Pick<TaskRecord, 'id' | 'attempt' | 'spec' | 'cancelRequested'>): WireAssignment => ({
  id: t.id,
  attempt: t.attempt,
  spec: t.spec,
  cancelRequested: t.cancelRequested,
})

/** Splits assignments into pages of at most ASSIGN_PAGE items and about ASSIGN_PAGE_BYTES. */
export function pages(assignments: WireAssignment[]): WireAssignment[][] {
  const out: WireAssignment[][] = []
  let page: WireAssignment[] = []
  let bytes = 0
  for (const a of assignments) {
    const size = JSON.stringify(a.spec).length + 128
    if (page.length > 0 && (page.length >= ASSIGN_PAGE || bytes + size > ASSIGN_PAGE_BYTES)) {
      out.push(page)
      page = []
      bytes = 0
    }
    page.push(a)
    bytes += size
  }
  if (page.length > 0) out.push(page)
  return out
}

export class AssignmentFeed {
  private readonly subscribers = new Map<string, Subscriber>()
  /** When each member assigned work without a subscription was last told to subscribe. */
  private readonly nudgedAtMs = new Map<string, number>()
  /** The term the subscribers subscribed in: a new term (a new leadership) starts over. */
  private term = 0
  private timer: TimerHandle | undefined
  private readonly log: Logger

  constructor(private readonly init: AssignmentFeedInit) {
    this.log = init.logger.child({ component: 'assignment-feed' })
  }

  start(): void {
    this.init.cluster.table.onEvent(ev => {
      if (ev.type === 'assigned' && ev.task.node !== null)
        this.queue(ev.task.node, s => s.assignments.push(toWire(ev.task)))
      if (ev.type === 'cancel_requested' && ev.task.node !== null)
        this.queue(ev.task.node, s => s.cancels.push(ev.task.id))
      // A re-queue starts the next attempt: the one taken back is the one before.
      if (isRevocation(ev) && ev.node !== null)
        this.queue(ev.node, s => s.revokes.push({ id: ev.task.id, attempt: ev.task.attempt - 1 }))
    })
    this.timer = this.init.clock.setInterval(() => {
      this.resend()
    }, this.init.resendMs)
  }

  stop(): void {
    this.init.clock.clear(this.timer)
    this.subscribers.clear()
  }

  /** Workers subscribed in this leadership (for metrics and tests). */
  get subscriberCount(): number {
    return this.subscribers.size
  }

  /** A frame from a worker (assign-endpoint.ts routes them here). */
  onFrame(from: string, msg: Extract<AssignFrame, { type: 'hello' | 'ack' }>): void {
    if (msg.type === 'ack') {
      this.subscribers.get(from)?.unacked.delete(msg.seq)
      return
    }
    if (!this.init.isMember(from)) {
      this.init.metrics.wireRejected.inc({ protocol: ASSIGN_PROTOCOL, reason: 'not_member' })
      return
    }
    this.init.metrics.wireAccepted.inc({ protocol: ASSIGN_PROTOCOL })
    const { cluster } = this.init
    if (!cluster.isReadyLeader()) {
      this.send(from, { type: 'notLeader', leader: cluster.leader() })
      return
    }
    this.syncTerm()
    const sub: Subscriber = { nextSeq: 1, unacked: new Map(), batch: null }
    this.subscribers.set(from, sub)
    const mine: WireAssignment[] = []
    for (const t of cluster.table.activeTasks()) if (t.node === from) mine.push(toWire(t))
    const split = pages(mine)
    if (split.length === 0) split.push([])
    split.forEach((assignments, i) => {
      this.push(from, sub, { type: 'full', seq: 0, term: this.term, assignments, last: i === split.length - 1 })
    })
    this.log.debug({ worker: from, assignments: mine.length }, 'worker subscribed to its assignments')
  }

  /** Collects what this turn pushes to `node`, sent in one frame per kind at the end of the turn. */
  private queue(node: string, add: (batch: Batch) => void): void {
    const sub = this.subscribers.get(node)
    if (!this.init.cluster.isReadyLeader()) return
    if (sub === undefined) {
      this.nudge(node)
      return
    }
    if (sub.batch === null) {
      sub.batch = { assignments: [], cancels: [], revokes: [] }
      queueMicrotask(() => {
        this.flush(node, sub)
      })
    }
    add(sub.batch)
  }

  private flush(node: string, sub: Subscriber): void {
    const batch = sub.batch
    sub.batch = null
    if (batch === null || this.subscribers.get(node) !== sub) return
    for (const assignments of pages(batch.assignments))
      this.push(node, sub, { type: 'assign', seq: 0, term: this.term, assignments })
    if (batch.cancels.length > 0) this.push(node, sub, { type: 'cancel', seq: 0, term: this.term, ids: batch.cancels })
    if (batch.revokes.length > 0)
      this.push(node, sub, { type: 'revoke', seq: 0, term: this.term, tasks: batch.revokes })
  }

  /** A worker paused long enough to be declared dead was dropped, yet still believes it is
   * subscribed (the leader did not change, its stream never broke): work assigned to it after it
   * came back would wait forever. A notLeader frame from the leader itself makes it say hello and
   * take the full set; sent at most once per resendMs. */
  private nudge(node: string): void {
    if (!this.init.isMember(node) || this.init.holdsLog(node)) return
    const nowMs = this.init.clock.nowMs()
    if (nowMs - (this.nudgedAtMs.get(node) ?? -Infinity) < this.init.resendMs) return
    this.nudgedAtMs.set(node, nowMs)
    if (this.nudgedAtMs.size > 10_000) this.nudgedAtMs.delete(this.nudgedAtMs.keys().next().value!)
    this.send(node, { type: 'notLeader', leader: this.init.host.peerId })
  }

  private push(node: string, sub: Subscriber, message: AssignMessage & { seq: number }): void {
    const numbered = { ...message, seq: sub.nextSeq++ }
    sub.unacked.set(numbered.seq, { message: numbered, sentAtMs: this.init.clock.nowMs() })
    this.send(node, numbered)
  }

  private send(node: string, message: AssignMessage): void {
    this.init.host.sendFrame(node, ASSIGN_PROTOCOL, encodeAssignFrame(message), CHANNEL_LIMITS)
  }

  /** What a worker has not acknowledged goes again; a worker gone from the membership is dropped
   * (its tasks are re-queued as lost by the master; it will say hello again if it returns). */
  private resend(): void {
    if (!this.init.cluster.isReadyLeader()) {
      this.subscribers.clear()
      return
    }
    this.syncTerm()
    const nowMs = this.init.clock.nowMs()
    for (const [node, sub] of this.subscribers) {
      if (!this.init.isMember(node)) {
        this.subscribers.delete(node)
        continue
      }
      for (const entry of sub.unacked.values()) {
        if (nowMs - entry.sentAtMs < this.init.resendMs) continue
        entry.sentAtMs = nowMs
        this.send(node, entry.message)
      }
    }
  }

  private syncTerm(): void {
    const term = this.init.cluster.term()
    if (term === this.term) return
    this.term = term
    this.subscribers.clear()
  }
}
