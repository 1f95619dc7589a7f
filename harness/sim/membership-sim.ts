// A seeded discrete-event simulation of the membership core (src/gossip/core) over a network with
// per-message latency, loss and slow nodes. Direct messages go node to node; gossip is modelled
// as gossipsub's eager push: a node forwards a message it sees for the first time to D mesh peers
// chosen from its active view (gossipsub's lazy IHAVE/IWANT repair is not modelled, which can only
// make dissemination look worse; anti-entropy repairs what is lost). Time and randomness are the
// simulation's own, so a run is replayed exactly from its seed.
import { MembershipCore, type Member } from '../../src/gossip/core/membership-core.js'
import type { MembershipCoreConfig } from '../../src/gossip/core/config.js'
import type {
  CoreOutput,
  DirectMessage,
  MemberRecord,
  MemberSnapshot,
  MembershipEvent,
  Transition,
} from '../../src/gossip/core/types.js'
import type { MemberState } from '../../src/gossip/member-state.js'
import { MinHeap } from '../../src/util/min-heap.js'
import { Prng } from './prng.js'

export interface SimNetwork {
  /** One-way latency of every message, uniform in [min, max] ms. */
  latencyMs: [number, number]
  /** Probability that a message (direct, or one gossip hop) is lost. */
  lossRate: number
  /** Slow nodes handle every message and tick this much later, uniform in [min, max] ms (a node
   * whose event loop lags: GC, an overloaded machine). */
  slowDelayMs: [number, number]
  /** gossipsub's mesh degree D. */
  meshDegree: number
  /** Bytes added to every message for framing (length prefix, yamux, noise, TCP/IP share). */
  overheadBytes: number
}

export const DEFAULT_SIM_NETWORK: SimNetwork = {
  latencyMs: [1, 50],
  lossRate: 0.01,
  slowDelayMs: [100, 500],
  meshDegree: 6,
  overheadBytes: 64,
}

interface SimNode {
  id: string
  core: MembershipCore
  rng: Prng
  up: boolean
  slow: boolean
  /** Gossip message ids already seen (ids are unique per publish). */
  seen: Set<string>
  mesh: string[]
  msgsSent: number
  bytesSent: number
}

type SimEvent =
  | { at: number; n: number; kind: 'tick'; node: string }
  | { at: number; n: number; kind: 'direct'; from: string; to: string; message: DirectMessage }
  | {
      at: number
      n: number
      kind: 'gossip'
      from: string
      to: string
      id: string
      author: string
      event: MembershipEvent
    }

export interface TransitionRecord extends Transition {
  at: number
  observer: string
}

export class MembershipSim {
  readonly nodes = new Map<string, SimNode>()
  readonly transitions: TransitionRecord[] = []
  private readonly queue = new MinHeap<SimEvent>((a, b) => a.at < b.at || (a.at === b.at && a.n < b.n))
  private readonly rng: Prng
  private eventSeq = 0
  private publishSeq = 0
  now = 0
  /** Keep every transition (tests); benchmarks at thousands of nodes keep only what they ask. */
  recordTransitions: (t: Transition, observer: string) => boolean = () => true

  constructor(
    readonly seed: number,
    readonly config: MembershipCoreConfig,
    readonly network: SimNetwork = DEFAULT_SIM_NETWORK,
  ) {
    this.rng = new Prng(seed)
  }

  static nodeId(i: number): string {
    return `n${String(i).padStart(5, '0')}`
  }

  static record(id: string, incarnation = 1): MemberRecord {
    return {
      info: {
        nodeId: id,
        name: id,
        addrs: [],
        capacity: { cpus: 4, memoryMb: 4096 },
        labels: {},
        version: 'sim',
        startedAt: 0,
      },
      incarnation,
      seq: 0,
      signature: '',
    }
  }

  /** `count` nodes that already know each other (as after they all joined): steady state at once. */
  startConverged(count: number): string[] {
    const ids = Array.from({ length: count }, (_, i) => MembershipSim.nodeId(i))
    const table: MemberSnapshot[] = ids.map(id => ({
      record: MembershipSim.record(id),
      state: 'alive',
      stateIncarnation: 1,
      stateAgeMs: 0,
    }))
    for (const id of ids) {
      const node = this.makeNode(id, MembershipSim.record(id))
      this.handle(node, node.core.load(table, this.now))
    }
    return ids
  }

  /** A new node that joins through `bootstrap`. */
  join(id: string, bootstrap: string[]): void {
    const node = this.makeNode(id, MembershipSim.record(id))
    this.handle(node, node.core.startJoin(bootstrap, this.now))
  }

  crash(id: string): void {
    this.nodes.get(id)!.up = false
  }

  slowDown(id: string): void {
    this.nodes.get(id)!.slow = true
  }

  leave(id: string): void {
    const node = this.nodes.get(id)!
    this.handle(node, node.core.leave())
    node.up = false
  }

  /** Runs the simulation until `untilMs` (absolute simulated time). */
  runUntil(untilMs: number): void {
    for (let e = this.queue.peek(); e !== undefined && e.at <= untilMs; e = this.queue.peek()) {
      this.queue.pop()
      this.now = e.at
      this.dispatch(e)
    }
    this.now = untilMs
  }

  /** What `observer` thinks of `subject` (null if unknown; 'alive' for itself). */
  stateOf(observer: string, subject: string): MemberState | null {
    const node = this.nodes.get(observer)!
    if (observer === subject) return 'alive'
    return node.core.get(subject)?.state ?? null
  }

  member(observer: string, subject: string): Member | undefined {
    return this.nodes.get(observer)!.core.get(subject)
  }

  upNodes(): SimNode[] {
    return [...this.nodes.values()].filter(n => n.up)
  }

  /** Messages and bytes sent by up nodes, summed, and reset. */
  takeTraffic(): { msgs: number; bytes: number; nodes: number } {
    let msgs = 0
    let bytes = 0
    let nodes = 0
    for (const n of this.nodes.values()) {
      if (n.up) {
        msgs += n.msgsSent
        bytes += n.bytesSent
        nodes++
      }
      n.msgsSent = 0
      n.bytesSent = 0
    }
    return { msgs, bytes, nodes }
  }

  /** Largest active view among up nodes (the connections a node keeps for membership). */
  maxActiveView(): number {
    let max = 0
    for (const n of this.nodes.values()) if (n.up) max = Math.max(max, n.core.activePeers().length)
    return max
  }

  private makeNode(id: string, record: MemberRecord): SimNode {
    const rng = this.rng.fork()
    const core = new MembershipCore({
      self: record,
      config: this.config,
      nowMs: this.now,
      random: () => rng.next(),
      sign: () => '',
    })
    const node: SimNode = { id, core, rng, up: true, slow: false, seen: new Set(), mesh: [], msgsSent: 0, bytesSent: 0 }
    this.nodes.set(id, node)
    this.schedule({ at: this.now + rng.int(this.config.tickIntervalMs), n: 0, kind: 'tick', node: id })
    return node
  }

  private dispatch(e: SimEvent): void {
    if (e.kind === 'tick') {
      const node = this.nodes.get(e.node)
      if (node === undefined || !node.up) return
      this.handle(node, node.core.tick(this.now))
      this.schedule({
        at: this.now + this.config.tickIntervalMs + this.slowness(node),
        n: 0,
        kind: 'tick',
        node: e.node,
      })
      return
    }
    const node = this.nodes.get(e.to)
    if (node === undefined || !node.up) return
    if (e.kind === 'direct') {
      this.handle(node, node.core.receive(e.from, e.message, this.now))
      return
    }
    if (node.seen.has(e.id)) return
    node.seen.add(e.id)
    this.handle(node, node.core.gossip(e.author, e.event, this.now))
    this.forward(node, e.id, e.author, e.event, e.from)
  }

  private handle(node: SimNode, out: CoreOutput): void {
    for (const t of out.transitions)
      if (this.recordTransitions(t, node.id)) this.transitions.push({ ...t, at: this.now, observer: node.id })
    if (out.activeViewChanged || node.mesh.length === 0)
      node.mesh = node.rng.shuffle(node.core.activePeers()).slice(0, this.network.meshDegree)
    for (const { to, message } of out.sends) {
      this.transmit(node, to, message, at => ({ at, n: 0, kind: 'direct', from: node.id, to, message }))
    }
    for (const event of out.publishes) {
      const id = `${node.id}#${++this.publishSeq}`
      node.seen.add(id)
      this.forward(node, id, node.id, event, null)
    }
  }

  private forward(node: SimNode, id: string, author: string, event: MembershipEvent, except: string | null): void {
    for (const peer of node.mesh) {
      if (peer === except) continue
      this.transmit(node, peer, event, at => ({ at, n: 0, kind: 'gossip', from: node.id, to: peer, id, author, event }))
    }
  }

  private transmit(
    node: SimNode,
    to: string,
    payload: DirectMessage | MembershipEvent,
    make: (at: number) => SimEvent,
  ): void {
    node.msgsSent++
    node.bytesSent += JSON.stringify(payload).length + this.network.overheadBytes
    if (this.rng.chance(this.network.lossRate)) return
    const [min, max] = this.network.latencyMs
    const receiver = this.nodes.get(to)
    const delay =
      min + this.rng.next() * (max - min) + this.slowness(node) + (receiver === undefined ? 0 : this.slowness(receiver))
    this.schedule(make(this.now + delay))
  }

  private slowness(node: SimNode): number {
    if (!node.slow) return 0
    const [min, max] = this.network.slowDelayMs
    return min + node.rng.next() * (max - min)
  }

  private schedule(e: SimEvent): void {
    e.n = ++this.eventSeq
    this.queue.push(e)
  }
}
