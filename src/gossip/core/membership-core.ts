// The membership core (membership v2): a pure state machine that turns probes, gossiped events,
// anti-entropy exchanges and the passage of time into member states alive → suspect → dead (or
// left), with bounded work per node (see /docs/architecture.md, "Membership"). It never reads a
// clock, draws randomness of its own or does I/O: every input carries nowMs, randomness is
// injected, and every call returns what the adapter must send, publish and report.
import { MinHeap } from '../../util/min-heap.js'
import type { MemberState } from '../member-state.js'
import type { MembershipCoreConfig } from './config.js'
import { bucketOf, memberHash, sameDigest, TableDigest } from './digest.js'
import { Rings } from './rings.js'
import type {
  CoreOutput,
  DirectMessage,
  MemberInfo,
  MemberRecord,
  MemberSnapshot,
  MembershipEvent,
  Transition,
} from './types.js'

export interface Member {
  record: MemberRecord
  state: MemberState
  stateIncarnation: number
  /** Local time the member entered its current state. */
  stateSinceMs: number
  /** Local time of the last first-hand sign of life (a probe, an ack, its own event). */
  lastSeenMs: number
  /** Members that told us they suspect it at stateIncarnation (the first one included); null
   * when none (most members, most of the time: a table of thousands stays small). */
  suspectors: string[] | null
  /** Position in the core's array of live members, -1 when not live. */
  liveIndex: number
}

export interface MembershipCoreInit {
  self: MemberRecord
  config: MembershipCoreConfig
  nowMs: number
  /** Uniform in [0, 1): probe phases, anti-entropy partners, indirect helpers. */
  random: () => number
  /** Signs this node's own record (deterministic, e.g. Ed25519): the core re-signs it when it
   * refutes a suspicion or changes its info. */
  sign: (record: Omit<MemberRecord, 'signature'>) => string
}

interface ProbeState {
  nextProbeAtMs: number
  missedRounds: number
  /** Smoothed round-trip time of direct probes and its mean deviation (as TCP's RTO): a subject
   * that is merely slow gets a longer timeout instead of a suspicion. Null before the first ack. */
  srttMs: number | null
  rttVarMs: number
  /** The round in progress. */
  outstanding: { seq: number; sentAtMs: number; indirect: boolean } | null
  /** A round started because someone else suspects the subject: its failure confirms at once. */
  confirming: boolean
}

interface Relay {
  requester: string
  seq: number
  target: string
  expiresAtMs: number
}

interface SuspicionTimer {
  dueMs: number
  nodeId: string
  incarnation: number
}

const isLive = (state: MemberState): boolean => state === 'alive' || state === 'suspect'
const suspectorCount = (m: Member): number => m.suspectors?.length ?? 0
const hasSuspector = (m: Member, id: string): boolean => m.suspectors?.includes(id) === true

export class MembershipCore {
  private self: MemberRecord
  private readonly members = new Map<string, Member>()
  private readonly rings: Rings
  private readonly digest: TableDigest
  /** Live members (not self) in an array, for O(1) random picks. */
  private readonly live: Member[] = []
  private readonly probes = new Map<string, ProbeState>()
  private readonly relays = new Map<number, Relay>()
  private readonly suspicions = new MinHeap<SuspicionTimer>((a, b) => a.dueMs < b.dueMs)
  private activeView = new Set<string>()
  private probeSeq = 0
  private awareness = 0
  private lastTickMs: number
  private nextAntiEntropyMs: number
  private nextForgetScanMs: number
  private nextReviveMs: number
  private join: { targets: string[]; attempt: number; nextAttemptMs: number } | null = null
  private out: CoreOutput = emptyOutput()
  private readonly cfg: MembershipCoreConfig

  constructor(private readonly init: MembershipCoreInit) {
    this.cfg = init.config
    this.self = init.self
    this.rings = new Rings(this.cfg.observersPerMember)
    this.digest = new TableDigest(this.cfg.syncBuckets)
    this.rings.add(this.self.info.nodeId)
    this.digest.add(this.selfId, this.selfHash())
    this.lastTickMs = init.nowMs
    this.nextAntiEntropyMs = init.nowMs + this.jitter(this.cfg.antiEntropyIntervalMs)
    this.nextForgetScanMs = init.nowMs + this.cfg.forgetAfterMs / 10
    this.nextReviveMs = init.nowMs + this.jitter(this.cfg.reviveIntervalMs)
  }

  // ------------------------------------------------------------------ reads

  get selfId(): string {
    return this.self.info.nodeId
  }

  get selfRecord(): MemberRecord {
    return this.self
  }

  get(nodeId: string): Member | undefined {
    return this.members.get(nodeId)
  }

  /** Every other member this node knows (live, dead and departed until forgotten). */
  others(): IterableIterator<Member> {
    return this.members.values()
  }

  /** Live members (alive or suspect), this node included: the n of the suspicion timeout. */
  liveCount(): number {
    return this.live.length + 1
  }

  /** The active view of a live member as the same rings give it from this node's table (its
   * own, exactly, for this node); empty for a member that is not live here. */
  activePeersOf(nodeId: string): string[] {
    if (nodeId === this.selfId) return this.activePeers()
    if (!this.rings.has(nodeId)) return []
    return [...new Set([...this.rings.subjectsOf(nodeId), ...this.rings.observersOf(nodeId)])]
  }

  /** The peers this node keeps connections to: its subjects and observers. */
  activePeers(): string[] {
    return [...this.activeView]
  }

  /** The members this node probes. */
  subjects(): string[] {
    return this.rings.subjectsOf(this.selfId)
  }

  /** The members that probe `nodeId` (this node possibly among them). */
  observersOf(nodeId: string): string[] {
    return this.rings.observersOf(nodeId)
  }

  // ------------------------------------------------------------- local calls

  /** Asks `targets` (bootstrap peers), one after another until one answers, for the table. */
  startJoin(targets: string[], nowMs: number): CoreOutput {
    const others = targets.filter(t => t !== this.selfId)
    if (others.length > 0) {
      this.join = { targets: others, attempt: 0, nextAttemptMs: nowMs }
      this.tryJoin(nowMs)
    }
    return this.flush()
  }

  /** Fills an empty table at once (a simulation starting from a converged cluster, or a table
   * restored from disk): one sort per ring instead of an insertion per member. */
  load(members: MemberSnapshot[], nowMs: number): CoreOutput {
    const suspects: Member[] = []
    for (const s of members) {
      const id = s.record.info.nodeId
      if (id === this.selfId || this.members.has(id)) continue
      const since = nowMs - Math.max(0, Math.min(s.stateAgeMs, this.cfg.forgetAfterMs))
      const m: Member = {
        record: s.record,
        state: s.state,
        stateIncarnation: s.stateIncarnation,
        stateSinceMs: since,
        lastSeenMs: since,
        suspectors: null,
        liveIndex: -1,
      }
      this.members.set(id, m)
      this.digest.add(id, this.hashOf(m))
      if (isLive(m.state)) this.goLive(m, false)
      if (m.state === 'suspect') suspects.push(m)
    }
    this.rings.addAll(this.live.map(m => m.record.info.nodeId))
    this.refreshActiveView()
    // A suspicion runs out here too (timed from when the sender began it), once n is known.
    for (const m of suspects)
      this.suspicions.push({ dueMs: this.dueMs(m), nodeId: m.record.info.nodeId, incarnation: m.stateIncarnation })
    return this.flush()
  }

  /** A graceful stop: tells everyone this node leaves (before its connections close). */
  leave(): CoreOutput {
    this.out.publishes.push({ kind: 'left', nodeId: this.selfId, incarnation: this.self.incarnation })
    for (const peer of this.activeView) this.send(peer, { type: 'left', incarnation: this.self.incarnation })
    return this.flush()
  }

  /** The node's own info changed (an operator changed capacity or labels): announce it. */
  updateInfo(patch: Partial<Omit<MemberInfo, 'nodeId'>>): CoreOutput {
    this.setSelf({ ...this.self, info: { ...this.self.info, ...patch }, seq: this.self.seq + 1 })
    this.out.publishes.push({ kind: 'alive', record: this.self })
    return this.flush()
  }

  // ------------------------------------------------------------------ inputs

  tick(nowMs: number): CoreOutput {
    const gapMs = nowMs - this.lastTickMs
    this.lastTickMs = nowMs
    if (gapMs > this.cfg.localPauseThresholdMs) this.creditPause(gapMs - this.cfg.tickIntervalMs, nowMs)
    this.runProbes(nowMs)
    this.expireRelays(nowMs)
    this.runSuspicionTimers(nowMs)
    if (this.join !== null && nowMs >= this.join.nextAttemptMs) this.tryJoin(nowMs)
    if (nowMs >= this.nextAntiEntropyMs) this.startAntiEntropy(nowMs)
    if (nowMs >= this.nextForgetScanMs) this.forgetOld(nowMs)
    if (nowMs >= this.nextReviveMs) this.offerRevival(nowMs)
    return this.flush()
  }

  /** A message sent to this node directly by `from` (the transport authenticated the sender). */
  receive(from: string, message: DirectMessage, nowMs: number): CoreOutput {
    this.seen(from, nowMs)
    switch (message.type) {
      case 'probe':
        if (message.suspectedAt !== undefined && message.suspectedAt >= this.self.incarnation) {
          this.refute(message.suspectedAt)
        }
        this.send(from, { type: 'ack', seq: message.seq })
        break
      case 'ack':
        this.onAck(from, message.seq, nowMs)
        break
      case 'probeReq': {
        const seq = ++this.probeSeq
        this.relays.set(seq, {
          requester: from,
          seq: message.seq,
          target: message.target,
          expiresAtMs: nowMs + this.cfg.probeIntervalMs,
        })
        this.send(message.target, { type: 'probe', seq })
        break
      }
      case 'probeReqAck':
        this.onIndirectAck(message.target, message.seq, nowMs)
        break
      case 'syncHello':
        this.onSyncHello(from, message.root, message.joining, nowMs)
        break
      case 'syncBuckets':
        this.onSyncBuckets(from, message.buckets, nowMs)
        break
      case 'syncPull':
        this.onSyncPull(from, message.buckets, message.members, nowMs)
        break
      case 'left':
        this.onLeft(from, message.incarnation, nowMs)
        break
      case 'syncPush':
        for (const m of message.members) this.applySnapshot(m, nowMs, 'anti-entropy')
        if (message.last && this.join?.targets.includes(from) === true) this.joined(from)
        break
    }
    return this.flush()
  }

  /** An event received by gossip; `author` is its verified publisher. */
  gossip(author: string, event: MembershipEvent, nowMs: number): CoreOutput {
    switch (event.kind) {
      case 'alive':
        if (event.record.info.nodeId === author) this.seen(author, nowMs)
        this.applyRecord(event.record, nowMs, 'announced')
        break
      case 'suspect':
        this.onSuspect(event.nodeId, event.incarnation, event.by, nowMs)
        break
      case 'dead':
        this.onDead(event.nodeId, event.incarnation, `declared dead by ${event.by}`, nowMs)
        break
      case 'left':
        this.onLeft(event.nodeId, event.incarnation, nowMs)
        break
    }
    return this.flush()
  }

  /** The transport could not reach `nodeId` at all (connection refused or closed): its round does
   * not wait for the probe timeout before asking others. */
  unreachable(nodeId: string, nowMs: number): CoreOutput {
    const p = this.probes.get(nodeId)
    if (p !== undefined) {
      if (p.outstanding === null) this.probe(nodeId, p, nowMs)
      if (p.outstanding !== null && !p.outstanding.indirect) this.probeIndirectly(nodeId, p, nowMs)
    }
    return this.flush()
  }

  // ---------------------------------------------------------- failure detector

  private runProbes(nowMs: number): void {
    for (const subject of this.subjects()) {
      let p = this.probes.get(subject)
      if (p === undefined) {
        // Spread first probes over the period, so subjects are not probed in lockstep.
        p = {
          nextProbeAtMs: nowMs + this.jitter(this.cfg.probeIntervalMs),
          missedRounds: 0,
          srttMs: null,
          rttVarMs: 0,
          outstanding: null,
          confirming: false,
        }
        this.probes.set(subject, p)
      }
      const o = p.outstanding
      const timeoutMs = this.probeTimeoutFor(p)
      if (o !== null && !o.indirect && nowMs - o.sentAtMs >= timeoutMs) this.probeIndirectly(subject, p, nowMs)
      if (o !== null && nowMs - o.sentAtMs >= 2 * timeoutMs) this.roundFailed(subject, p, nowMs)
      if (p.outstanding === null && nowMs >= p.nextProbeAtMs) this.probe(subject, p, nowMs)
    }
  }

  /** max(probeTimeoutMs, srtt + 4 rttvar), capped, times (1 + awareness) for our own health. */
  private probeTimeoutFor(p: ProbeState): number {
    const base = p.srttMs === null ? 0 : p.srttMs + 4 * p.rttVarMs
    return Math.min(this.cfg.maxProbeTimeoutMs, Math.max(this.cfg.probeTimeoutMs, base)) * (1 + this.awareness)
  }

  private probe(subject: string, p: ProbeState, nowMs: number): void {
    const seq = ++this.probeSeq
    p.outstanding = { seq, sentAtMs: nowMs, indirect: false }
    p.nextProbeAtMs = Math.max(p.nextProbeAtMs + this.cfg.probeIntervalMs, nowMs)
    const m = this.members.get(subject)
    this.send(
      subject,
      m?.state === 'suspect' ? { type: 'probe', seq, suspectedAt: m.stateIncarnation } : { type: 'probe', seq },
    )
  }

  private probeIndirectly(subject: string, p: ProbeState, nowMs: number): void {
    if (p.outstanding === null) return
    p.outstanding.indirect = true
    for (const helper of this.helpersFor(subject)) {
      this.send(helper, { type: 'probeReq', seq: p.outstanding.seq, target: subject })
    }
    void nowMs
  }

  /** Other observers of the subject first (they watch it anyway), then random live members. */
  private helpersFor(subject: string): string[] {
    const want = this.cfg.indirectProbes
    const helpers = new Set(this.rings.observersOf(subject).filter(id => id !== this.selfId && id !== subject))
    for (let tries = 0; helpers.size < want && tries < 4 * want && this.live.length > 0; tries++) {
      const id = this.live[Math.floor(this.init.random() * this.live.length)]!.record.info.nodeId
      if (id !== subject) helpers.add(id)
    }
    return [...helpers].slice(0, want)
  }

  private roundFailed(subject: string, p: ProbeState, nowMs: number): void {
    p.outstanding = null
    p.missedRounds++
    this.awareness = Math.min(this.cfg.maxAwareness, this.awareness + 1)
    const m = this.members.get(subject)
    if (m === undefined || !isLive(m.state)) return
    const confirm = p.confirming && m.state === 'suspect'
    if (p.missedRounds >= this.cfg.missedRoundsBeforeSuspect || confirm) {
      p.confirming = false
      const incarnation = m.state === 'suspect' ? m.stateIncarnation : m.record.incarnation
      if (m.state === 'suspect' && hasSuspector(m, this.selfId)) return
      this.onSuspect(subject, incarnation, this.selfId, nowMs)
      this.out.publishes.push({ kind: 'suspect', nodeId: subject, incarnation, by: this.selfId })
    }
  }

  private onAck(from: string, seq: number, nowMs: number): void {
    const relay = this.relays.get(seq)
    if (relay !== undefined && relay.target === from) {
      this.relays.delete(seq)
      this.send(relay.requester, { type: 'probeReqAck', seq: relay.seq, target: relay.target })
      return
    }
    this.answered(from, seq, nowMs, true)
  }

  private onIndirectAck(target: string, seq: number, nowMs: number): void {
    this.answered(target, seq, nowMs, false)
  }

  private answered(subject: string, seq: number, nowMs: number, direct: boolean): void {
    const p = this.probes.get(subject)
    if (p?.outstanding?.seq !== seq) return
    if (direct) {
      const rttMs = nowMs - p.outstanding.sentAtMs
      if (p.srttMs === null) {
        p.srttMs = rttMs
        p.rttVarMs = rttMs / 2
      } else {
        p.rttVarMs = 0.75 * p.rttVarMs + 0.25 * Math.abs(p.srttMs - rttMs)
        p.srttMs = 0.875 * p.srttMs + 0.125 * rttMs
      }
    }
    p.outstanding = null
    p.missedRounds = 0
    p.confirming = false
    this.awareness = Math.max(0, this.awareness - 1)
  }

  private expireRelays(nowMs: number): void {
    for (const [seq, r] of this.relays) if (nowMs >= r.expiresAtMs) this.relays.delete(seq)
  }

  /** This node was paused: nobody's silence during the pause counts against them. */
  private creditPause(creditMs: number, nowMs: number): void {
    for (const p of this.probes.values()) {
      p.nextProbeAtMs += creditMs
      if (p.outstanding !== null) p.outstanding.sentAtMs = Math.min(nowMs, p.outstanding.sentAtMs + creditMs)
    }
    for (const m of this.members.values()) {
      m.lastSeenMs = Math.min(nowMs, m.lastSeenMs + creditMs)
      if (m.state === 'suspect') m.stateSinceMs = Math.min(nowMs, m.stateSinceMs + creditMs)
    }
  }

  // --------------------------------------------------------------- suspicion

  private suspicionTimeoutMs(confirmations: number): number {
    const cfg = this.cfg
    const n = this.liveCount()
    const maxMs = cfg.suspicionMult * Math.max(1, Math.log10(Math.max(1, n))) * cfg.suspicionBaseMs
    const expected = Math.min(cfg.suspicionMaxConfirmations, n - 2)
    if (expected < 1 || confirmations <= 0) return Math.round(maxMs)
    const minMs = maxMs * cfg.suspicionMinFraction
    const fraction = Math.log(Math.min(confirmations, expected) + 1) / Math.log(expected + 1)
    return Math.round(Math.max(minMs, maxMs - (maxMs - minMs) * fraction))
  }

  private dueMs(m: Member): number {
    return m.stateSinceMs + this.suspicionTimeoutMs(suspectorCount(m) - 1)
  }

  private onSuspect(nodeId: string, incarnation: number, by: string, nowMs: number): void {
    if (nodeId === this.selfId) {
      if (incarnation >= this.self.incarnation) this.refute(incarnation)
      return
    }
    const m = this.members.get(nodeId)
    if (m === undefined) return
    if (m.state === 'alive' && incarnation >= m.record.incarnation) {
      this.transition(
        m,
        'suspect',
        incarnation,
        nowMs,
        by === this.selfId ? 'no answer to probes' : `suspected by ${by}`,
      )
      m.suspectors = [by]
      this.suspicions.push({ dueMs: this.dueMs(m), nodeId, incarnation })
      this.confirmIfObserver(nodeId, by, nowMs)
    } else if (m.state === 'suspect' && incarnation > m.stateIncarnation) {
      this.transition(m, 'suspect', incarnation, nowMs, `suspected by ${by}`)
      m.suspectors = [by]
      this.suspicions.push({ dueMs: this.dueMs(m), nodeId, incarnation })
    } else if (m.state === 'suspect' && incarnation === m.stateIncarnation && !hasSuspector(m, by)) {
      ;(m.suspectors ??= []).push(by)
      this.suspicions.push({ dueMs: this.dueMs(m), nodeId, incarnation })
    }
  }

  /** An observer that hears someone else suspect its subject checks it at once; if that round
   * fails too it publishes its own suspicion (an independent confirmation). */
  private confirmIfObserver(nodeId: string, by: string, nowMs: number): void {
    if (by === this.selfId) return
    const p = this.probes.get(nodeId)
    if (p === undefined) return
    p.confirming = true
    if (p.outstanding === null) this.probe(nodeId, p, nowMs)
  }

  private runSuspicionTimers(nowMs: number): void {
    for (let t = this.suspicions.peek(); t !== undefined && t.dueMs <= nowMs; t = this.suspicions.peek()) {
      this.suspicions.pop()
      const m = this.members.get(t.nodeId)
      if (m?.state !== 'suspect' || m.stateIncarnation !== t.incarnation) continue
      const due = this.dueMs(m)
      if (due > nowMs) {
        this.suspicions.push({ dueMs: due, nodeId: t.nodeId, incarnation: t.incarnation })
        continue
      }
      // Observers (and whoever suspected it) announce the death; everyone else only marks it.
      const announce = hasSuspector(m, this.selfId) || this.rings.observersOf(t.nodeId).includes(this.selfId)
      this.onDead(
        t.nodeId,
        t.incarnation,
        `suspicion not refuted within ${due - m.stateSinceMs} ms (${suspectorCount(m)} suspecting)`,
        nowMs,
      )
      if (announce)
        this.out.publishes.push({ kind: 'dead', nodeId: t.nodeId, incarnation: t.incarnation, by: this.selfId })
    }
  }

  private onDead(nodeId: string, incarnation: number, reason: string, nowMs: number): void {
    if (nodeId === this.selfId) {
      if (incarnation >= this.self.incarnation) this.refute(incarnation)
      return
    }
    const m = this.members.get(nodeId)
    if (m === undefined || !isLive(m.state)) return
    const current = m.state === 'alive' ? m.record.incarnation : m.stateIncarnation
    if (incarnation < current) return
    this.transition(m, 'dead', incarnation, nowMs, reason)
  }

  private onLeft(nodeId: string, incarnation: number, nowMs: number): void {
    const m = this.members.get(nodeId)
    if (m === undefined || m.state === 'left' || incarnation < m.record.incarnation) return
    this.transition(m, 'left', incarnation, nowMs, 'announced leave')
  }

  /** Someone suspects (or declared dead) this node at `incarnation`: outbid it. */
  private refute(incarnation: number): void {
    this.setSelf({ ...this.self, incarnation: incarnation + 1, seq: 0 })
    this.out.publishes.push({ kind: 'alive', record: this.self })
  }

  // --------------------------------------------------------------- the table

  /** A member's own (signed) record: newer news of a member makes it alive again when its
   * incarnation outbids what it was suspected or declared dead at. */
  private applyRecord(record: MemberRecord, nowMs: number, reason: string): void {
    const id = record.info.nodeId
    if (id === this.selfId) {
      // A table that knows us from a previous life at a higher incarnation: outbid it.
      if (record.incarnation > this.self.incarnation) this.refute(record.incarnation)
      return
    }
    const m = this.members.get(id)
    if (m === undefined) {
      this.add(record, 'alive', record.incarnation, nowMs, nowMs, reason)
      return
    }
    const newer =
      record.incarnation > m.record.incarnation ||
      (record.incarnation === m.record.incarnation && record.seq > m.record.seq)
    if (!newer) return
    const restarted = record.info.startedAt !== m.record.info.startedAt
    this.replaceRecord(m, record)
    if (m.state !== 'alive' && record.incarnation > m.stateIncarnation) {
      this.transition(m, 'alive', record.incarnation, nowMs, restarted ? `${reason} (restarted)` : reason)
    } else if (m.state === 'alive') {
      this.rehash(m, () => {
        m.stateIncarnation = record.incarnation
      })
    }
  }

  private applySnapshot(s: MemberSnapshot, nowMs: number, reason: string): void {
    const id = s.record.info.nodeId
    if (id === this.selfId) {
      if (s.state !== 'alive' && s.stateIncarnation >= this.self.incarnation) this.refute(s.stateIncarnation)
      else this.applyRecord(s.record, nowMs, reason)
      return
    }
    const since = nowMs - Math.max(0, Math.min(s.stateAgeMs, this.cfg.forgetAfterMs))
    if (!this.members.has(id)) {
      this.add(s.record, s.state, s.stateIncarnation, since, nowMs, reason)
      return
    }
    this.applyRecord(s.record, nowMs, reason)
    if (s.state === 'suspect') this.onSuspect(id, s.stateIncarnation, '(anti-entropy)', nowMs)
    else if (s.state === 'dead') this.onDead(id, s.stateIncarnation, reason, nowMs)
    else if (s.state === 'left') this.onLeft(id, s.stateIncarnation, nowMs)
  }

  private add(
    record: MemberRecord,
    state: MemberState,
    stateIncarnation: number,
    sinceMs: number,
    nowMs: number,
    reason: string,
  ): void {
    const m: Member = {
      record,
      state,
      stateIncarnation,
      stateSinceMs: sinceMs,
      lastSeenMs: sinceMs,
      suspectors: null,
      liveIndex: -1,
    }
    this.members.set(record.info.nodeId, m)
    this.digest.add(record.info.nodeId, this.hashOf(m))
    if (isLive(state)) this.goLive(m)
    this.out.transitions.push({ nodeId: record.info.nodeId, from: null, to: state, reason })
    if (state === 'suspect')
      this.suspicions.push({ dueMs: this.dueMs(m), nodeId: record.info.nodeId, incarnation: stateIncarnation })
    void nowMs
  }

  private transition(m: Member, to: MemberState, stateIncarnation: number, nowMs: number, reason: string): void {
    const from = m.state
    this.rehash(m, () => {
      m.state = to
      m.stateIncarnation = stateIncarnation
    })
    m.stateSinceMs = nowMs
    if (to !== 'suspect') m.suspectors = null
    const id = m.record.info.nodeId
    if (isLive(to) && !isLive(from)) this.goLive(m)
    if (!isLive(to) && isLive(from)) this.goDown(m)
    if (from !== to) this.out.transitions.push({ nodeId: id, from, to, reason })
  }

  private replaceRecord(m: Member, record: MemberRecord): void {
    this.rehash(m, () => {
      m.record = record
    })
  }

  /** Applies `change` to `m`, keeping the digest in step. */
  private rehash(m: Member, change: () => void): void {
    const id = m.record.info.nodeId
    this.digest.remove(id, this.hashOf(m))
    change()
    this.digest.add(id, this.hashOf(m))
  }

  private hashOf(m: Member): ReturnType<typeof memberHash> {
    return memberHash(m.record.info.nodeId, m.record.incarnation, m.record.seq, m.state, m.stateIncarnation)
  }

  private selfHash(): ReturnType<typeof memberHash> {
    return memberHash(this.selfId, this.self.incarnation, this.self.seq, 'alive', this.self.incarnation)
  }

  private setSelf(record: Omit<MemberRecord, 'signature'> & { signature?: string }): void {
    this.digest.remove(this.selfId, this.selfHash())
    const { signature: _old, ...unsigned } = record
    this.self = { ...unsigned, signature: this.init.sign(unsigned) }
    this.digest.add(this.selfId, this.selfHash())
    this.out.selfChanged = true
  }

  private goLive(m: Member, refresh = true): void {
    if (m.liveIndex >= 0) return
    m.liveIndex = this.live.length
    this.live.push(m)
    if (!refresh) return
    this.rings.add(m.record.info.nodeId)
    this.refreshActiveView()
  }

  private goDown(m: Member): void {
    const i = m.liveIndex
    if (i < 0) return
    const last = this.live.pop()!
    if (last !== m) {
      this.live[i] = last
      last.liveIndex = i
    }
    m.liveIndex = -1
    const id = m.record.info.nodeId
    this.rings.remove(id)
    this.probes.delete(id)
    this.refreshActiveView()
  }

  private refreshActiveView(): void {
    const next = new Set([...this.rings.subjectsOf(this.selfId), ...this.rings.observersOf(this.selfId)])
    let changed = next.size !== this.activeView.size
    if (!changed) for (const id of next) if (!this.activeView.has(id)) changed = true
    if (!changed) return
    this.activeView = next
    this.out.activeViewChanged = true
    // Probe state of members that are no longer subjects goes (a new subject starts fresh).
    const subjects = new Set(this.rings.subjectsOf(this.selfId))
    for (const id of this.probes.keys()) if (!subjects.has(id)) this.probes.delete(id)
  }

  private seen(nodeId: string, nowMs: number): void {
    const m = this.members.get(nodeId)
    if (m !== undefined) m.lastSeenMs = Math.max(m.lastSeenMs, nowMs)
  }

  /** One dead member, chosen at random, is offered our table: if it is only cut off, not dead, it
   * answers, learns it was declared dead, and refutes. */
  private offerRevival(nowMs: number): void {
    this.nextReviveMs = nowMs + this.cfg.reviveIntervalMs / 2 + this.jitter(this.cfg.reviveIntervalMs)
    let chosen: Member | undefined
    let seen = 0
    for (const m of this.members.values()) {
      if (m.state !== 'dead') continue
      seen++
      if (this.init.random() * seen < 1) chosen = m // reservoir sampling: one pass, uniform
    }
    if (chosen !== undefined) this.send(chosen.record.info.nodeId, { type: 'syncHello', root: this.digest.root })
  }

  private forgetOld(nowMs: number): void {
    this.nextForgetScanMs = nowMs + this.cfg.forgetAfterMs / 10
    for (const [id, m] of this.members) {
      if (isLive(m.state) || nowMs - m.stateSinceMs < this.cfg.forgetAfterMs) continue
      this.digest.remove(id, this.hashOf(m))
      this.members.delete(id)
      this.out.forgotten.push(id)
    }
  }

  // ------------------------------------------------------------ anti-entropy

  private tryJoin(nowMs: number): void {
    const j = this.join!
    const target = j.targets[j.attempt % j.targets.length]!
    const stepMs = Math.min(
      this.cfg.joinRetryMaxMs,
      this.cfg.joinRetryInitialMs * 2 ** Math.floor(j.attempt / j.targets.length),
    )
    j.attempt++
    // Jittered (50-100% of the step) so nodes started together do not retry in lockstep.
    j.nextAttemptMs = nowMs + Math.round(stepMs * (0.5 + this.init.random() / 2))
    this.send(target, { type: 'syncHello', root: this.digest.root, joining: this.snapshotOfSelf() })
  }

  private joined(from: string): void {
    this.join = null
    void from
    // Our own announcement: the bootstrap peer relayed our record already, this reaches anyone it
    // missed once our gossip mesh has formed.
    this.out.publishes.push({ kind: 'alive', record: this.self })
  }

  private startAntiEntropy(nowMs: number): void {
    this.nextAntiEntropyMs = nowMs + this.cfg.antiEntropyIntervalMs / 2 + this.jitter(this.cfg.antiEntropyIntervalMs)
    const peers = [...this.activeView]
    if (peers.length === 0) return
    const partner = peers[Math.floor(this.init.random() * peers.length)]!
    this.send(partner, { type: 'syncHello', root: this.digest.root })
  }

  private onSyncHello(from: string, root: [number, number], joining: MemberSnapshot | undefined, nowMs: number): void {
    if (joining !== undefined && joining.record.info.nodeId === from) {
      const known = this.members.get(from)
      this.applySnapshot(joining, nowMs, 'joined')
      // Spread the join now: the joiner's own gossip mesh takes seconds to form.
      if (this.members.get(from)?.record === joining.record && known?.record !== joining.record) {
        this.out.publishes.push({ kind: 'alive', record: joining.record })
      }
    }
    if (sameDigest(root, this.digest.root)) {
      if (joining !== undefined) this.send(from, { type: 'syncPush', members: [], last: true })
      return
    }
    this.send(from, { type: 'syncBuckets', buckets: this.digest.bucketDigests() })
  }

  private onSyncBuckets(from: string, buckets: Array<[number, number]>, nowMs: number): void {
    const differing = this.digest.differingBuckets(buckets)
    if (differing.length === 0) return
    const mine = this.membersIn(differing, nowMs)
    const pages = this.pages(mine)
    this.send(from, { type: 'syncPull', buckets: differing, members: pages[0] ?? [] })
    for (const page of pages.slice(1)) this.send(from, { type: 'syncPush', members: page, last: false })
  }

  private onSyncPull(from: string, buckets: number[], members: MemberSnapshot[], nowMs: number): void {
    const valid = buckets.filter(b => Number.isInteger(b) && b >= 0 && b < this.cfg.syncBuckets)
    const mine = this.membersIn(valid, nowMs)
    for (const m of members) this.applySnapshot(m, nowMs, 'anti-entropy')
    const pages = this.pages(mine)
    if (pages.length === 0) pages.push([])
    pages.forEach((page, i) => {
      this.send(from, { type: 'syncPush', members: page, last: i === pages.length - 1 })
    })
  }

  private membersIn(buckets: number[], nowMs: number): MemberSnapshot[] {
    const wanted = new Set(buckets)
    const out: MemberSnapshot[] = []
    const n = this.cfg.syncBuckets
    if (wanted.has(bucketOf(this.selfId, n))) out.push(this.snapshotOfSelf())
    for (const m of this.members.values()) {
      if (!wanted.has(bucketOf(m.record.info.nodeId, n))) continue
      out.push({
        record: m.record,
        state: m.state,
        stateIncarnation: m.stateIncarnation,
        stateAgeMs: Math.max(0, nowMs - m.stateSinceMs),
      })
    }
    return out
  }

  private pages(members: MemberSnapshot[]): MemberSnapshot[][] {
    const out: MemberSnapshot[][] = []
    for (let i = 0; i < members.length; i += this.cfg.maxMembersPerMessage)
      out.push(members.slice(i, i + this.cfg.maxMembersPerMessage))
    return out
  }

  private snapshotOfSelf(): MemberSnapshot {
    return { record: this.self, state: 'alive', stateIncarnation: this.self.incarnation, stateAgeMs: 0 }
  }

  // ------------------------------------------------------------------ output

  private send(to: string, message: DirectMessage): void {
    if (to !== this.selfId) this.out.sends.push({ to, message })
  }

  private jitter(periodMs: number): number {
    return Math.floor(this.init.random() * periodMs)
  }

  private flush(): CoreOutput {
    const out = this.out
    this.out = emptyOutput()
    return out
  }
}

function emptyOutput(): CoreOutput {
  return { sends: [], publishes: [], transitions: [], forgotten: [], activeViewChanged: false, selfChanged: false }
}

export type { Transition }
