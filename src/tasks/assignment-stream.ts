// A worker's side of /meshos/assign (assign-wire.ts): the attempts the leader assigns to this node,
// as an AssignmentSource. It says hello to the leader it knows, holds the full set the leader
// answers (replacing whatever it held: that is the reconciliation after a reconnect or a change of
// leader), adds what is pushed, and acknowledges every frame. Frames of a term below the highest
// seen are ignored, as are frames from anyone but the leader it said hello to.
import type { Logger } from 'pino'
import type { FrameChannelLimits, P2PHost } from '../p2p/host.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import type { Clock, TimerHandle } from '../util/clock.js'
import type { Assignment, AssignmentEvent, AssignmentSource } from './assignments.js'
import type { TaskClusterView } from './cluster-port.js'
import {
  ASSIGN_FRAME_MAX_BYTES,
  ASSIGN_PROTOCOL,
  encodeAssignFrame,
  type AssignFrame,
  type AssignMessage,
} from './assign-wire.js'

const CHANNEL_LIMITS: FrameChannelLimits = {
  maxFrameBytes: ASSIGN_FRAME_MAX_BYTES,
  maxQueuedBytes: ASSIGN_FRAME_MAX_BYTES,
  dialTimeoutMs: 2000,
  redialBackoffMs: 250,
}

/** Finished attempts remembered, for the task-dir GC (older ones go by their directory's age). */
const FINISHED_REMEMBERED = 10_000

export interface AssignmentStreamInit {
  host: P2PHost
  cluster: TaskClusterView
  /** How often it checks that it is subscribed to the current leader, and says hello again while
   * the leader has not answered. */
  checkMs: number
  clock: Clock
  metrics: NodeMetrics
  logger: Logger
}

export class AssignmentStream implements AssignmentSource {
  private assignments = new Map<string, Assignment>()
  private readonly finished = new Map<string, { attempt: number; atMs: number }>()
  /** The leader this node said hello to, and whether its full set has arrived. */
  private leader: string | null = null
  private complete = false
  /** Pages of a full set still arriving. */
  private incoming: Assignment[] | null = null
  private maxTerm = 0
  private helloAtMs = -Infinity
  private timer: TimerHandle | undefined
  private readonly listeners: Array<(ev: AssignmentEvent) => void> = []
  private readonly log: Logger

  constructor(private readonly init: AssignmentStreamInit) {
    this.log = init.logger.child({ component: 'assignment-stream' })
  }

  start(): void {
    this.init.host.onChannelClosed((peer, protocol) => {
      // The stream to the leader broke: frames may be lost, so ask for the full set again.
      if (protocol === ASSIGN_PROTOCOL && peer === this.leader) this.complete = false
    })
    this.timer = this.init.clock.setInterval(() => {
      this.check()
    }, this.init.checkMs)
    this.check()
  }

  stop(): void {
    this.init.clock.clear(this.timer)
  }

  // ---------------------------------------------------------- AssignmentSource

  ready(): boolean {
    return this.complete
  }

  active(): Iterable<Assignment> {
    return this.assignments.values()
  }

  current(id: string): Assignment | undefined {
    return this.assignments.get(id)
  }

  finishedAt(id: string, attempt: number): number | null | undefined {
    const a = this.assignments.get(id)
    if (a !== undefined && a.attempt <= attempt) return null
    const f = this.finished.get(id)
    return f !== undefined && f.attempt === attempt ? f.atMs : undefined
  }

  onEvent(listener: (ev: AssignmentEvent) => void): void {
    this.listeners.push(listener)
  }

  /** The worker reported this attempt finished: it leaves the active set at once (the leader's
   * next full set would say so too). */
  finishedHere(id: string, attempt: number): void {
    const a = this.assignments.get(id)
    if (a?.attempt === attempt) this.assignments.delete(id)
    this.finished.set(id, { attempt, atMs: this.init.clock.nowMs() })
    if (this.finished.size > FINISHED_REMEMBERED) this.finished.delete(this.finished.keys().next().value!)
  }

  // -------------------------------------------------------------- internals

  private check(): void {
    const { cluster } = this.init
    if (cluster.holdsLog()) {
      // The log is the source now; start over if this node becomes a worker again.
      this.leader = null
      this.complete = false
      return
    }
    const leader = cluster.leader()
    if (leader === null || leader === this.init.host.peerId) return
    if (leader !== this.leader) {
      this.leader = leader
      this.complete = false
      this.helloAtMs = -Infinity
    }
    if (this.complete || this.init.clock.nowMs() - this.helloAtMs < 2 * this.init.checkMs) return
    this.helloAtMs = this.init.clock.nowMs()
    this.incoming = null
    this.send({ type: 'hello' })
  }

  /** A frame from the leader's side of the protocol (assign-endpoint.ts routes them here). */
  onFrame(from: string, msg: Exclude<AssignFrame, { type: 'hello' | 'ack' }>): void {
    if (from !== this.leader) {
      this.init.metrics.wireRejected.inc({ protocol: ASSIGN_PROTOCOL, reason: 'wrong_sender' })
      return
    }
    if (msg.type === 'notLeader') {
      this.complete = false
      return
    }
    if (msg.term < this.maxTerm) {
      this.init.metrics.wireRejected.inc({ protocol: ASSIGN_PROTOCOL, reason: 'old_term' })
      return
    }
    this.maxTerm = msg.term
    this.init.metrics.wireAccepted.inc({ protocol: ASSIGN_PROTOCOL })
    this.send({ type: 'ack', seq: msg.seq })
    if (msg.type === 'full') {
      this.incoming = [...(this.incoming ?? []), ...msg.assignments]
      if (!msg.last) return
      this.assignments = new Map(this.incoming.map(a => [a.id, a]))
      this.incoming = null
      this.complete = true
      this.log.debug({ leader: from, assignments: this.assignments.size }, 'received the full set of assignments')
      this.emit({ type: 'assigned' })
      for (const a of this.assignments.values()) if (a.cancelRequested) this.emit({ type: 'cancel', id: a.id })
      return
    }
    if (msg.type === 'assign') {
      for (const a of msg.assignments) {
        const known = this.assignments.get(a.id)
        const done = this.finished.get(a.id)
        if ((known !== undefined && known.attempt > a.attempt) || (done !== undefined && done.attempt >= a.attempt))
          continue
        this.assignments.set(a.id, a)
      }
      this.emit({ type: 'assigned' })
      return
    }
    if (msg.type === 'revoke') {
      // The attempt named, not a later one the leader may already have assigned here again.
      for (const { id, attempt } of msg.tasks)
        if (this.assignments.get(id)?.attempt === attempt) this.assignments.delete(id)
      this.emit({ type: 'revoked' })
      return
    }
    for (const id of msg.ids) {
      const a = this.assignments.get(id)
      if (a !== undefined) a.cancelRequested = true
      this.emit({ type: 'cancel', id })
    }
  }

  private send(message: AssignMessage): void {
    if (this.leader !== null)
      this.init.host.sendFrame(this.leader, ASSIGN_PROTOCOL, encodeAssignFrame(message), CHANNEL_LIMITS)
  }

  private emit(ev: AssignmentEvent): void {
    for (const listener of this.listeners) listener(ev)
  }
}
