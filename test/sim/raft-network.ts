// A simulated network of RaftCores: the adapter role played in memory.
//
// Each node has a "disk" (what it persisted through ready()) and a volatile
// RaftCore + state machine. A crash drops the core and everything it had not
// persisted; a restart builds a new core from the disk. Messages travel as
// JSON (like the real wire) and can be dropped, delayed, duplicated and
// reordered, and partitions cut links in both directions. All randomness comes
// from one seeded Prng, so a run is replayable from its seed.
//
// Every delivery passes the node's RaftGate first, as in RaftNode, and a refused
// leader or candidate makes the node ask its vouchers (its known voters and the
// ids it was given at addNode) over the same faulty links. Honest traffic must
// never trip the core's own checks: a rejection by step() throws.

import { RaftCore, type RaftOptions } from '../../src/election/core/raft.js'
import { RaftGate } from '../../src/election/core/raft-gate.js'
import type { Entry, NodeId, PersistedState, RaftMessage, Snapshot } from '../../src/election/core/types.js'
import { Prng } from '../../harness/sim/prng.js'

export interface SimNode {
  readonly id: NodeId
  /** null while crashed. */
  core: RaftCore | null
  /** The gate in front of `core` (volatile: a restart starts with no vouches). */
  gate: RaftGate | null
  /** Peers this node was told to join through (the agent's --bootstrap). */
  readonly vouchers: NodeId[]
  /** Durable state: only what ready() handed out and the harness persisted. */
  disk: PersistedState
  /** The state machine: data of applied normal entries, in log order. */
  stateMachine: unknown[]
  appliedIndex: number
}

export interface NetworkFaults {
  /** Probability that a sent message is lost. */
  dropRate: number
  /** Probability that a sent message is delivered twice. */
  duplicateRate: number
  /** Each copy is delayed by a uniform 0..maxDelaySteps steps, which also reorders. */
  maxDelaySteps: number
}

export const NO_FAULTS: NetworkFaults = { dropRate: 0, duplicateRate: 0, maxDelaySteps: 0 }

/** Hooks for invariant checking; every method is optional. */
export interface NetworkObserver {
  /** Before `entry` is applied to `node`'s state machine. */
  onApply?(node: SimNode, entry: Entry): void
  /** After `node` restored its state machine from a snapshot sent by the leader. */
  onRestore?(node: SimNode, snapshot: Snapshot): void
  /** After anything happened to `node` (tick, delivery, proposal, ready cycle). */
  afterEvent?(node: SimNode): void
}

export interface NetworkOptions {
  seed: number
  raft?: Omit<Partial<RaftOptions>, 'id' | 'random'>
  faults?: NetworkFaults
  observer?: NetworkObserver
}

interface InFlight {
  message: string // JSON, as on the wire
  to: NodeId
  from: NodeId
  deliverAt: number
}

/** Timings of simulated cores unless a scenario sets its own: ticks are logical, so only the ratio matters. */
const SIM_TIMING = { electionTicks: 10, heartbeatTicks: 1 }

export class RaftNetwork {
  readonly nodes = new Map<NodeId, SimNode>()
  readonly rng: Prng
  faults: NetworkFaults
  /** Simulated time in steps; messages are due at a step. */
  now = 0
  delivered = 0
  /** Deliveries the receiver's gate refused, by reason. */
  readonly refused = new Map<string, number>()
  private inflight: InFlight[] = []
  private readonly cut = new Set<string>()
  private readonly raftOptions: Omit<Partial<RaftOptions>, 'id' | 'random'>
  private readonly observer: NetworkObserver

  constructor(options: NetworkOptions) {
    this.rng = new Prng(options.seed)
    this.faults = options.faults ?? NO_FAULTS
    this.raftOptions = options.raft ?? {}
    this.observer = options.observer ?? {}
  }

  /** A static cluster: every id bootstrapped with the same voter set. */
  static cluster(ids: NodeId[], options: NetworkOptions): RaftNetwork {
    const net = new RaftNetwork(options)
    for (const id of ids) net.addNode(id, RaftCore.bootstrapState({ voters: ids, learners: [] }))
    return net
  }

  addNode(id: NodeId, state: PersistedState, vouchers: NodeId[] = []): SimNode {
    if (this.nodes.has(id)) throw new Error(`duplicate node ${id}`)
    const node: SimNode = {
      id,
      core: null,
      gate: null,
      vouchers,
      disk: clone(state),
      stateMachine: [],
      appliedIndex: 0,
    }
    this.nodes.set(id, node)
    this.start(node)
    return node
  }

  node(id: NodeId): SimNode {
    const node = this.nodes.get(id)
    if (!node) throw new Error(`unknown node ${id}`)
    return node
  }

  /** The live core of `id`; throws if crashed. */
  core(id: NodeId): RaftCore {
    const core = this.node(id).core
    if (!core) throw new Error(`${id} is crashed`)
    return core
  }

  liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter(n => n.core !== null)
  }

  /** Ids of live nodes that currently believe they lead. */
  leaders(): NodeId[] {
    return this.liveNodes()
      .filter(n => n.core!.role === 'leader')
      .map(n => n.id)
  }

  // ------------------------------------------------------------ failures

  crash(id: NodeId): void {
    this.node(id).core = null
    this.node(id).gate = null
  }

  restart(id: NodeId): void {
    const node = this.node(id)
    if (node.core) throw new Error(`${id} is running`)
    this.start(node)
  }

  /** Cut every link between `id` and the other nodes. */
  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cutLink(id, other)
  }

  /** Only nodes in the same group can talk; nodes in no group are isolated. */
  partition(groups: NodeId[][]): void {
    this.heal()
    const groupOf = new Map<NodeId, number>()
    groups.forEach((group, i) => group.forEach(id => groupOf.set(id, i)))
    for (const a of this.nodes.keys()) {
      for (const b of this.nodes.keys()) {
        if (a !== b && (groupOf.get(a) === undefined || groupOf.get(a) !== groupOf.get(b))) this.cut.add(`${a}>${b}`)
      }
    }
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}>${b}`)
    this.cut.add(`${b}>${a}`)
  }

  heal(): void {
    this.cut.clear()
  }

  canReach(from: NodeId, to: NodeId): boolean {
    return !this.cut.has(`${from}>${to}`)
  }

  get inflightCount(): number {
    return this.inflight.length
  }

  // ------------------------------------------------------------ driving

  tick(id: NodeId): void {
    const node = this.node(id)
    if (!node.core) return
    node.core.tick()
    this.observer.afterEvent?.(node)
  }

  tickAll(): void {
    for (const node of this.liveNodes()) this.tick(node.id)
  }

  propose(id: NodeId, data: unknown): { index: number; term: number } {
    const result = this.core(id).propose(data)
    this.observer.afterEvent?.(this.node(id))
    return result
  }

  /** Run one ready/persist/send/apply/advance cycle per pending Ready of `id`. */
  processReady(id: NodeId): void {
    const node = this.node(id)
    const core = node.core
    if (!core) return
    while (core.hasReady()) {
      const rd = core.ready()
      const applyCommitted = (): void => {
        for (const entry of rd.committedEntries) {
          if (entry.index !== node.appliedIndex + 1) {
            throw new Error(`${id} applies index ${entry.index} after ${node.appliedIndex}`)
          }
          this.observer.onApply?.(node, entry)
          if (entry.type === 'normal' && entry.data !== null) node.stateMachine.push(entry.data)
          node.appliedIndex = entry.index
        }
      }
      // 0. As RaftNode does: committed entries (on a majority already) are applied before this
      // node writes newer ones, unless they follow a snapshot.
      if (!rd.snapshot) applyCommitted()
      // 1. Persist: snapshot, then entries (overwriting a conflicting suffix), then hard state.
      if (rd.snapshot) {
        node.disk.snapshot = clone(rd.snapshot)
        node.disk.entries = []
      }
      if (rd.entries.length > 0) persistEntries(node.disk, rd.entries)
      if (rd.hardState) node.disk.hardState = { ...rd.hardState }
      // 2. Send, only now that what the messages promise is durable.
      for (const message of rd.messages) this.send(message)
      // 3. Apply a snapshot and what follows it.
      if (rd.snapshot) {
        node.stateMachine = clone(rd.snapshot.data as unknown[])
        node.appliedIndex = rd.snapshot.index
        this.observer.onRestore?.(node, rd.snapshot)
        applyCommitted()
      }
      core.advance()
      this.observer.afterEvent?.(node)
    }
  }

  processAll(): void {
    for (const node of this.liveNodes()) this.processReady(node.id)
  }

  /** Snapshot `id`'s state machine at its applied index and compact its log. */
  compact(id: NodeId): Snapshot | null {
    const node = this.node(id)
    const core = node.core
    if (!core || node.appliedIndex < core.firstIndex) return null
    const snapshot = core.compact(node.appliedIndex, clone(node.stateMachine))
    node.disk.snapshot = clone(snapshot)
    node.disk.entries = node.disk.entries.filter(e => e.index > snapshot.index)
    return snapshot
  }

  /** Deliver every message due by `now`, in random order (the reordering fault). */
  deliverDue(): void {
    const due: InFlight[] = []
    const later: InFlight[] = []
    for (const m of this.inflight) (m.deliverAt <= this.now ? due : later).push(m)
    this.inflight = later
    for (const m of this.rng.shuffle(due)) this.deliver(m)
  }

  /**
   * Fault-free convergence for unit tests: persist and deliver everything,
   * in send order, until no node has anything left to say.
   */
  drain(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.processAll()
      if (this.inflight.length === 0) return
      const batch = this.inflight
      this.inflight = []
      for (const m of batch) this.deliver(m)
    }
    throw new Error(`network did not quiesce within ${maxRounds} rounds`)
  }

  /** Tick every live node `ticks` times, draining after each tick. */
  run(ticks: number): void {
    for (let i = 0; i < ticks; i++) {
      this.tickAll()
      this.drain()
    }
  }

  /** Messages currently in flight (decoded), for assertions in unit tests. */
  peek(): RaftMessage[] {
    return this.inflight.map(m => JSON.parse(m.message) as RaftMessage)
  }

  // ------------------------------------------------------------ internals

  private start(node: SimNode): void {
    const nodeRng = this.rng.fork()
    const timing = { ...SIM_TIMING, ...this.raftOptions }
    node.core = new RaftCore({ ...timing, id: node.id, random: () => nodeRng.next() }, clone(node.disk))
    node.gate = new RaftGate(node.core, {
      vouchers: node.vouchers,
      askEveryTicks: timing.electionTicks,
      vouchTicks: 10 * timing.electionTicks,
      learnerVoteAfterTicks: 20 * timing.electionTicks,
    })
    node.stateMachine = clone((node.disk.snapshot?.data as unknown[] | null) ?? [])
    node.appliedIndex = node.disk.snapshot?.index ?? 0
    this.observer.afterEvent?.(node)
  }

  private send(message: RaftMessage): void {
    const { dropRate, duplicateRate, maxDelaySteps } = this.faults
    if (dropRate > 0 && this.rng.chance(dropRate)) return
    const copies = duplicateRate > 0 && this.rng.chance(duplicateRate) ? 2 : 1
    const wire = JSON.stringify(message)
    for (let i = 0; i < copies; i++) {
      const delay = maxDelaySteps > 0 ? this.rng.int(maxDelaySteps + 1) : 0
      this.inflight.push({ message: wire, from: message.from, to: message.to, deliverAt: this.now + delay })
    }
  }

  private deliver(m: InFlight): void {
    // Partitions are checked on arrival, so a new partition also cuts messages already in flight.
    if (!this.canReach(m.from, m.to)) return
    const node = this.nodes.get(m.to)
    if (!node?.core || !node.gate) return
    this.delivered++
    const message = JSON.parse(m.message) as RaftMessage
    const verdict = node.gate.check(message)
    if (verdict !== 'ok') {
      this.refused.set(verdict, (this.refused.get(verdict) ?? 0) + 1)
      if (verdict === 'not_voter') this.askVouchers(node)
      return
    }
    const rejection = node.core.step(message)
    if (rejection !== null)
      throw new Error(`${node.id} rejected honest ${message.type} from ${message.from}: ${rejection}`)
    this.observer.afterEvent?.(node)
  }

  /** The question and its answer cross the same links as messages, and are lost as often. */
  private askVouchers(node: SimNode): void {
    for (const target of node.gate!.targetsToAsk()) {
      const voucher = this.nodes.get(target)
      if (!voucher?.gate || !this.canReach(node.id, target) || !this.canReach(target, node.id)) continue
      if (this.faults.dropRate > 0 && this.rng.chance(this.faults.dropRate)) continue
      node.gate!.vouch(voucher.gate.answer(node.id))
    }
  }
}

function persistEntries(disk: PersistedState, entries: Entry[]): void {
  const first = entries[0]!.index
  const base = disk.snapshot?.index ?? 0
  const diskLast = base + disk.entries.length
  if (first <= base || first > diskLast + 1) {
    throw new Error(`ready entries start at ${first} but disk holds (${base}, ${diskLast}]`)
  }
  disk.entries = disk.entries.slice(0, first - base - 1).concat(clone(entries))
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}
