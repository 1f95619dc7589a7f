// A few membership cores wired together with no latency and no loss, for unit tests of exchanges
// between two nodes (anti-entropy, joins, revival): messages are delivered in the order they were
// sent, and the transcript of what went between the cores is kept for the test to assert on.
import type { MembershipCore } from '../../src/gossip/core/membership-core.js'
import type { MembershipCoreConfig } from '../../src/gossip/core/config.js'
import type {
  CoreOutput,
  DirectMessage,
  MemberSnapshot,
  MembershipEvent,
  Transition,
} from '../../src/gossip/core/types.js'
import { newCore, record } from './core-driver.js'

export interface Delivery {
  atMs: number
  from: string
  to: string
  message: DirectMessage
}

export class CoreCluster {
  readonly cores = new Map<string, MembershipCore>()
  nowMs = 0
  /** Direct messages between cores of the cluster, in delivery order. */
  readonly transcript: Delivery[] = []
  /** Direct messages to ids outside the cluster (nobody answers them). */
  readonly undelivered: Delivery[] = []
  readonly publishes: Array<{ atMs: number; by: string; event: MembershipEvent }> = []
  readonly transitions: Array<Transition & { atMs: number; observer: string }> = []
  readonly forgotten: Array<{ atMs: number; observer: string; id: string }> = []
  /** Whether publishes reach the other cores (as gossip): off, a test delivers events itself. */
  gossip = false
  private readonly queue: Delivery[] = []

  constructor(readonly cfg: MembershipCoreConfig) {}

  add(
    id: string,
    table: MemberSnapshot[],
    opts: { config?: MembershipCoreConfig; seed?: number } = {},
  ): MembershipCore {
    const core = newCore(record(id), opts.config ?? this.cfg, this.nowMs, opts.seed ?? this.cores.size + 1)
    this.cores.set(id, core)
    this.apply(id, core.load(table, this.nowMs))
    return core
  }

  core(id: string): MembershipCore {
    const core = this.cores.get(id)
    if (core === undefined) throw new Error(`no core ${id}`)
    return core
  }

  /** Feeds one core's output into the cluster and delivers everything that follows from it. */
  apply(id: string, out: CoreOutput): void {
    this.record(id, out)
    this.drain()
  }

  /** Ticks the given cores at `nowMs + stepMs`, delivering after each. */
  tick(ids: string[], stepMs = this.cfg.tickIntervalMs): void {
    this.nowMs += stepMs
    for (const id of ids) this.apply(id, this.core(id).tick(this.nowMs))
  }

  /** Ticks until `stop` holds (checked after each round of ticks), at most `durationMs`. */
  runUntil(ids: string[], stop: () => boolean, durationMs: number): boolean {
    const end = this.nowMs + durationMs
    while (this.nowMs < end) {
      this.tick(ids)
      if (stop()) return true
    }
    return false
  }

  /** The sync conversation (syncHello, syncBuckets, syncPull, syncPush) since `mark`. */
  syncMessages(mark = 0): Delivery[] {
    return this.transcript.slice(mark).filter(d => d.message.type.startsWith('sync'))
  }

  private record(id: string, out: CoreOutput): void {
    for (const t of out.transitions) this.transitions.push({ ...t, atMs: this.nowMs, observer: id })
    for (const f of out.forgotten) this.forgotten.push({ atMs: this.nowMs, observer: id, id: f })
    for (const event of out.publishes) this.publishes.push({ atMs: this.nowMs, by: id, event })
    for (const { to, message } of out.sends) {
      const d = { atMs: this.nowMs, from: id, to, message }
      if (this.cores.has(to)) this.queue.push(d)
      else this.undelivered.push(d)
    }
    if (this.gossip) {
      for (const event of out.publishes) {
        for (const [other, core] of this.cores) {
          if (other !== id) this.record(other, core.gossip(id, event, this.nowMs))
        }
      }
    }
  }

  private drain(): void {
    for (let d = this.queue.shift(); d !== undefined; d = this.queue.shift()) {
      this.transcript.push(d)
      this.record(d.to, this.core(d.to).receive(d.from, d.message, this.nowMs))
    }
  }
}
