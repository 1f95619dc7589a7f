// Drives one membership core (src/gossip/core) in a unit test: time is a plain number the test
// advances, randomness a seeded Prng, and the other members are scripted peers that answer probes
// (or not, or late), so a test states what the peers do and asserts what the core outputs.
import { MembershipCore } from '../../src/gossip/core/membership-core.js'
import { DEFAULT_MEMBERSHIP_CORE, type MembershipCoreConfig } from '../../src/gossip/core/config.js'
import type {
  CoreOutput,
  DirectMessage,
  MemberRecord,
  MemberSnapshot,
  MembershipEvent,
  Transition,
} from '../../src/gossip/core/types.js'
import type { MemberState } from '../../src/gossip/member-state.js'
import { Prng } from '../../harness/sim/prng.js'

export const nodeIds = (count: number, prefix = 'n'): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`)

export function record(
  id: string,
  incarnation = 1,
  over: { seq?: number; startedAt?: number; name?: string } = {},
): MemberRecord {
  const unsigned = {
    info: {
      nodeId: id,
      name: over.name ?? id,
      addrs: [],
      capacity: { cpus: 2, memoryMb: 1024 },
      labels: {},
      version: 'test',
      startedAt: over.startedAt ?? 1000,
    },
    incarnation,
    seq: over.seq ?? 0,
  }
  return { ...unsigned, signature: fakeSign(unsigned) }
}

export function snapshot(
  id: string,
  state: MemberState = 'alive',
  incarnation = 1,
  stateAgeMs = 0,
  recordIncarnation = incarnation,
): MemberSnapshot {
  return { record: record(id, recordIncarnation), state, stateIncarnation: incarnation, stateAgeMs }
}

/** A stand-in for a signature that shows which record it was made for. */
export function fakeSign(r: Omit<MemberRecord, 'signature'>): string {
  return `sig:${r.info.nodeId}:${r.incarnation}:${r.seq}`
}

export function coreConfig(over: Partial<MembershipCoreConfig> = {}): MembershipCoreConfig {
  return { ...DEFAULT_MEMBERSHIP_CORE, ...over }
}

export function newCore(self: MemberRecord, config: MembershipCoreConfig, nowMs: number, seed: number): MembershipCore {
  const rng = new Prng(seed)
  return new MembershipCore({ self, config, nowMs, random: () => rng.next(), sign: fakeSign })
}

export interface Sent {
  atMs: number
  to: string
  message: DirectMessage
}
export interface Published {
  atMs: number
  event: MembershipEvent
}
export interface Transitioned extends Transition {
  atMs: number
}

export interface DriverOptions {
  self?: string
  /** The table the core starts with (its own record excluded). */
  members?: MemberSnapshot[]
  selfIncarnation?: number
  config?: Partial<MembershipCoreConfig>
  seed?: number
  nowMs?: number
}

export class CoreDriver {
  readonly core: MembershipCore
  readonly cfg: MembershipCoreConfig
  nowMs: number
  /** Every output of the core, in order, with the time of the call that produced it. */
  readonly log: Array<{ atMs: number; out: CoreOutput }> = []
  /** Peers that never answer anyone (crashed): our probes and our helpers' probes of them fail. */
  readonly down = new Set<string>()
  /** Peers whose answers to our own direct probes are lost (a broken link); helpers still reach them. */
  readonly mute = new Set<string>()
  /** One-way delay, in ms, of a peer's ack to our direct probe (0: answered within the call). */
  readonly ackDelayMs = new Map<string, number>()
  /** Whether a helper asked to probe `target` for us answers (default: unless either is down). */
  relays: (helper: string, target: string) => boolean = (helper, target) =>
    !this.down.has(helper) && !this.down.has(target)
  /** Decides, per direct probe (numbered from 1 per peer), whether the peer answers it. */
  answers: (peer: string, nth: number) => boolean = peer => !this.down.has(peer) && !this.mute.has(peer)
  private readonly probesTo = new Map<string, number>()
  private pending: Array<{ atMs: number; from: string; message: DirectMessage }> = []

  constructor(opts: DriverOptions = {}) {
    this.cfg = coreConfig(opts.config)
    this.nowMs = opts.nowMs ?? 0
    this.core = newCore(record(opts.self ?? 'self', opts.selfIncarnation ?? 1), this.cfg, this.nowMs, opts.seed ?? 1)
    if (opts.members !== undefined) this.handle(this.core.load(opts.members, this.nowMs))
  }

  get selfId(): string {
    return this.core.selfId
  }

  stateOf(id: string): MemberState | undefined {
    return this.core.get(id)?.state
  }

  /** One tick, tickIntervalMs (or `stepMs`) after the last; acks due by then arrive first. */
  tick(stepMs = this.cfg.tickIntervalMs): CoreOutput {
    return this.tickAt(this.nowMs + stepMs)
  }

  tickAt(atMs: number): CoreOutput {
    this.nowMs = atMs
    const due = this.pending.filter(p => p.atMs <= atMs)
    this.pending = this.pending.filter(p => p.atMs > atMs)
    for (const p of due) this.handle(this.core.receive(p.from, p.message, atMs))
    return this.handle(this.core.tick(atMs))
  }

  /** Ticks for `durationMs`, or until `stop` holds after a tick; returns whether it stopped early. */
  runFor(durationMs: number, stop: () => boolean = () => false, stepMs = this.cfg.tickIntervalMs): boolean {
    const end = this.nowMs + durationMs
    while (this.nowMs + stepMs <= end) {
      this.tick(stepMs)
      if (stop()) return true
    }
    return false
  }

  receive(from: string, message: DirectMessage): CoreOutput {
    return this.handle(this.core.receive(from, message, this.nowMs))
  }

  gossip(author: string, event: MembershipEvent): CoreOutput {
    return this.handle(this.core.gossip(author, event, this.nowMs))
  }

  unreachable(id: string): CoreOutput {
    return this.handle(this.core.unreachable(id, this.nowMs))
  }

  /** Everything logged so far; pass a mark (log.length earlier) to see only what came after. */
  sent(since = 0): Sent[] {
    return this.log.slice(since).flatMap(e => e.out.sends.map(s => ({ atMs: e.atMs, ...s })))
  }

  published(since = 0): Published[] {
    return this.log.slice(since).flatMap(e => e.out.publishes.map(event => ({ atMs: e.atMs, event })))
  }

  transitions(since = 0): Transitioned[] {
    return this.log.slice(since).flatMap(e => e.out.transitions.map(t => ({ atMs: e.atMs, ...t })))
  }

  forgotten(since = 0): Array<{ atMs: number; id: string }> {
    return this.log.slice(since).flatMap(e => e.out.forgotten.map(id => ({ atMs: e.atMs, id })))
  }

  /** Direct probes to `peer` (not the indirect requests for it). */
  probesOf(peer: string, since = 0): Sent[] {
    return this.sent(since).filter(s => s.to === peer && s.message.type === 'probe')
  }

  probeReqsFor(target: string, since = 0): Sent[] {
    return this.sent(since).filter(s => s.message.type === 'probeReq' && s.message.target === target)
  }

  /** Suspicions (or deaths) this node published about `id`. */
  publishedAbout(id: string, kind: MembershipEvent['kind'], since = 0): Published[] {
    return this.published(since).filter(
      p => p.event.kind === kind && (p.event.kind === 'alive' ? p.event.record.info.nodeId : p.event.nodeId) === id,
    )
  }

  private handle(out: CoreOutput): CoreOutput {
    this.log.push({ atMs: this.nowMs, out })
    for (const { to, message } of out.sends) this.answer(to, message)
    return out
  }

  /** The scripted peers: a probe is acked, a probeReq relayed, anything else only recorded. */
  private answer(to: string, message: DirectMessage): void {
    if (message.type === 'probe') {
      const nth = (this.probesTo.get(to) ?? 0) + 1
      this.probesTo.set(to, nth)
      if (!this.answers(to, nth)) return
      const delayMs = this.ackDelayMs.get(to) ?? 0
      const ack: DirectMessage = { type: 'ack', seq: message.seq }
      if (delayMs === 0) this.handle(this.core.receive(to, ack, this.nowMs))
      else this.pending.push({ atMs: this.nowMs + delayMs, from: to, message: ack })
    } else if (message.type === 'probeReq') {
      if (!this.relays(to, message.target)) return
      this.handle(this.core.receive(to, { type: 'probeReqAck', seq: message.seq, target: message.target }, this.nowMs))
    }
  }
}
