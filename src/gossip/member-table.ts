// The member table: a pure state machine that turns heartbeats, leave announcements, connection
// events and silence into member states alive → suspect → dead (or left). It never reads a clock:
// every input carries `nowMs`, so tests drive it with plain numbers.
import { MEMBERSHIP_LIMITS, type MembershipConfig } from './config.js'
import type { HeartbeatMessage, LeaveMessage, MemberRecord, NodeInfo, Suspicion } from './heartbeat.js'
import { confirmedSuspicionTimeoutMs } from './suspicion.js'
import type { MemberState } from './member-state.js'

export interface Member {
  info: NodeInfo
  state: MemberState
  /** Local time of the last first-hand sign of life (a heartbeat or join request). */
  lastSeenAtMs: number
  /** Local time the member entered its current state. */
  stateSinceAtMs: number
  /** Other members that told us they suspect it too (Lifeguard confirmations). */
  confirmations: Set<string>
}

export type MemberEvent =
  | { type: 'state'; nodeId: string; from: MemberState | null; to: MemberState; reason: string }
  /** A member we have not met: the adapter should connect to it. */
  | { type: 'discovered'; nodeId: string; addrs: string[] }
  | { type: 'forgotten'; nodeId: string }
  /** Someone suspects us: we bumped our incarnation and should announce it now. */
  | { type: 'refuted'; incarnation: number }

/** (incarnation, seq) orders announcements of one node; a restart bumps the incarnation. */
function isNewer(a: { incarnation: number; seq: number }, b: { incarnation: number; seq: number }): boolean {
  return a.incarnation > b.incarnation || (a.incarnation === b.incarnation && a.seq > b.seq)
}

export class MemberTable {
  private readonly members = new Map<string, Member>()
  private self: NodeInfo
  private lastTickMs: number

  constructor(
    self: NodeInfo,
    private readonly cfg: MembershipConfig,
    nowMs: number,
  ) {
    this.self = { ...self }
    this.lastTickMs = nowMs
  }

  get selfInfo(): NodeInfo {
    return this.self
  }

  /** Changes what this node says about itself (load, allocations); sent with the next heartbeat. */
  updateSelf(patch: Partial<Pick<NodeInfo, 'allocated' | 'running' | 'load' | 'addrs'>>): void {
    this.self = { ...this.self, ...patch }
  }

  /** The next heartbeat to publish: bumps our sequence number. */
  nextHeartbeat(): HeartbeatMessage {
    this.self = { ...this.self, seq: this.self.seq + 1 }
    return { v: 1, type: 'heartbeat', node: this.self, suspects: this.suspicions() }
  }

  /** The leave announcement for a graceful stop. */
  leaveMessage(): LeaveMessage {
    this.self = { ...this.self, seq: this.self.seq + 1 }
    return { v: 1, type: 'leave', nodeId: this.self.nodeId, incarnation: this.self.incarnation, seq: this.self.seq }
  }

  get(nodeId: string): Member | undefined {
    return this.members.get(nodeId)
  }

  /** Another node this one currently counts as a member: alive or suspect (not dead, not left,
   * not unknown). Peers are trusted with cluster requests only while they are. */
  isLiveMember(nodeId: string): boolean {
    const state = this.members.get(nodeId)?.state
    return state === 'alive' || state === 'suspect'
  }

  /** The display name of a node (this one included), or null if it is not known here. */
  nameOf(nodeId: string): string | null {
    if (nodeId === this.self.nodeId) return this.self.name
    return this.members.get(nodeId)?.info.name ?? null
  }

  /** Every other member (not this node). */
  others(): Member[] {
    return [...this.members.values()]
  }

  /** Live members including this node: the n in the suspicion formula. */
  liveCount(): number {
    let n = 1
    for (const m of this.members.values()) if (m.state === 'alive' || m.state === 'suspect') n++
    return n
  }

  /** The full table, self included, as sent to a joining node. */
  records(nowMs: number): MemberRecord[] {
    const rows: MemberRecord[] = [{ node: this.self, state: 'alive', lastSeenAgoMs: 0 }]
    for (const m of this.members.values()) {
      rows.push({ node: m.info, state: m.state, lastSeenAgoMs: Math.max(0, Math.round(nowMs - m.lastSeenAtMs)) })
    }
    return rows
  }

  /** A heartbeat (or a join request, which carries the same self-description). */
  onHeartbeat(msg: Pick<HeartbeatMessage, 'node'> & { suspects?: Suspicion[] }, nowMs: number): MemberEvent[] {
    const events: MemberEvent[] = []
    const info = msg.node
    if (info.nodeId === this.self.nodeId) return events
    const known = this.members.get(info.nodeId)
    // A stale or duplicate message says nothing new, not even about whom it suspects.
    if (known != null && !isNewer(info, known.info)) return events
    for (const s of msg.suspects ?? []) this.onSuspicionReport(info.nodeId, s, events)
    this.observe(info, nowMs, 'heartbeat', events)
    return events
  }

  onLeave(msg: LeaveMessage, nowMs: number): MemberEvent[] {
    const m = this.members.get(msg.nodeId)
    if (m == null || msg.nodeId === this.self.nodeId) return []
    if (!isNewer(msg, m.info) && !(msg.incarnation === m.info.incarnation && msg.seq === m.info.seq)) return []
    m.info = { ...m.info, incarnation: msg.incarnation, seq: msg.seq }
    return this.transition(m, 'left', nowMs, 'announced leave')
  }

  /** The member table fetched from a bootstrap peer: second-hand, so it only adds what we do not
   * know better. A member it reports alive counts as seen `lastSeenAgoMs` ago. */
  onJoinRecords(records: MemberRecord[], nowMs: number): MemberEvent[] {
    const events: MemberEvent[] = []
    for (const r of records) {
      if (r.node.nodeId === this.self.nodeId) {
        // A table that knows us from a previous life: make sure our next heartbeat wins.
        if (r.node.incarnation >= this.self.incarnation) this.refute(r.node.incarnation, events)
        continue
      }
      const known = this.members.get(r.node.nodeId)
      if (known != null && !isNewer(r.node, known.info)) continue
      const seenMs = nowMs - r.lastSeenAgoMs
      if (r.state === 'alive' || r.state === 'suspect') {
        this.observe(r.node, seenMs, 'bootstrap table', events, nowMs)
      } else if (known == null) {
        // Keep dead and left members too, so every node shows the same history.
        this.members.set(r.node.nodeId, {
          info: r.node,
          state: r.state,
          lastSeenAtMs: seenMs,
          stateSinceAtMs: nowMs,
          confirmations: new Set(),
        })
        events.push({ type: 'state', nodeId: r.node.nodeId, from: null, to: r.state, reason: 'bootstrap table' })
      }
    }
    return events
  }

  /** Every connection to the member closed. On a LAN that is the fastest sign of a crash, but it
   * may also be a transient network fault: suspect, do not condemn. */
  onDisconnect(nodeId: string, nowMs: number): MemberEvent[] {
    const m = this.members.get(nodeId)
    if (m?.state !== 'alive') return []
    return this.transition(m, 'suspect', nowMs, 'connection lost')
  }

  /** Advances timers: silence makes members suspect, unrefuted suspicion makes them dead, and
   * long-dead members are forgotten. */
  tick(nowMs: number): MemberEvent[] {
    const events: MemberEvent[] = []
    const gapMs = nowMs - this.lastTickMs
    this.lastTickMs = nowMs
    if (gapMs > this.cfg.localPauseThresholdMs) {
      // We were paused ourselves; everyone else's silence during the pause is not evidence.
      // Clamped to now: heartbeats queued during the pause may already have been applied.
      const creditMs = gapMs - this.cfg.tickIntervalMs
      for (const m of this.members.values()) {
        m.lastSeenAtMs = Math.min(nowMs, m.lastSeenAtMs + creditMs)
        m.stateSinceAtMs = Math.min(nowMs, m.stateSinceAtMs + creditMs)
      }
    }
    const liveCount = this.liveCount()
    for (const m of [...this.members.values()]) {
      if (m.state === 'alive' && nowMs - m.lastSeenAtMs >= this.cfg.suspectAfterMs) {
        events.push(...this.transition(m, 'suspect', nowMs, `no heartbeat for ${nowMs - m.lastSeenAtMs} ms`))
      } else if (m.state === 'suspect') {
        const timeoutMs = confirmedSuspicionTimeoutMs(this.cfg, liveCount, m.confirmations.size)
        if (nowMs - m.stateSinceAtMs >= timeoutMs) {
          events.push(
            ...this.transition(
              m,
              'dead',
              nowMs,
              `suspicion not refuted within ${timeoutMs} ms (${m.confirmations.size} confirmations)`,
            ),
          )
        }
      } else if ((m.state === 'dead' || m.state === 'left') && nowMs - m.stateSinceAtMs >= this.cfg.forgetAfterMs) {
        this.members.delete(m.info.nodeId)
        events.push({ type: 'forgotten', nodeId: m.info.nodeId })
      }
    }
    return events
  }

  /** What we tell others we suspect, with the incarnation we suspect (bounded per message). */
  suspicions(): Suspicion[] {
    const out: Suspicion[] = []
    for (const m of this.members.values()) {
      if (out.length >= MEMBERSHIP_LIMITS.maxSuspectsPerHeartbeat) break
      if (m.state === 'suspect') out.push({ nodeId: m.info.nodeId, incarnation: m.info.incarnation })
    }
    return out
  }

  private onSuspicionReport(reporter: string, s: Suspicion, events: MemberEvent[]): void {
    if (s.nodeId === this.self.nodeId) {
      if (s.incarnation >= this.self.incarnation) this.refute(s.incarnation, events)
      return
    }
    const m = this.members.get(s.nodeId)
    if (m?.state === 'suspect' && s.incarnation === m.info.incarnation) m.confirmations.add(reporter)
  }

  private refute(suspectedIncarnation: number, events: MemberEvent[]): void {
    // Beyond the bound our heartbeats would be refused by every peer: stay as we are. Only a peer
    // inventing an incarnation we never announced gets here.
    if (suspectedIncarnation >= MEMBERSHIP_LIMITS.maxCounter) return
    this.self = { ...this.self, incarnation: suspectedIncarnation + 1 }
    events.push({ type: 'refuted', incarnation: this.self.incarnation })
  }

  /** First-hand (or bootstrap-table) news about a member: newer news makes it alive. */
  private observe(info: NodeInfo, seenMs: number, reason: string, events: MemberEvent[], nowMs = seenMs): void {
    const m = this.members.get(info.nodeId)
    if (m == null) {
      this.members.set(info.nodeId, {
        info,
        state: 'alive',
        lastSeenAtMs: seenMs,
        stateSinceAtMs: nowMs,
        confirmations: new Set(),
      })
      events.push({ type: 'state', nodeId: info.nodeId, from: null, to: 'alive', reason })
      events.push({ type: 'discovered', nodeId: info.nodeId, addrs: info.addrs })
      return
    }
    if (!isNewer(info, m.info)) return
    const restarted = info.incarnation > m.info.incarnation && info.startedAt !== m.info.startedAt
    m.info = info
    m.lastSeenAtMs = Math.max(m.lastSeenAtMs, seenMs)
    if (m.state !== 'alive') {
      events.push(...this.transition(m, 'alive', nowMs, restarted ? `${reason} (restarted)` : reason))
      // Its connections may be gone (or its addresses new, after a restart): reconnect.
      events.push({ type: 'discovered', nodeId: info.nodeId, addrs: info.addrs })
    }
  }

  private transition(m: Member, to: MemberState, nowMs: number, reason: string): MemberEvent[] {
    if (m.state === to) return []
    const from = m.state
    m.state = to
    m.stateSinceAtMs = nowMs
    m.confirmations.clear()
    return [{ type: 'state', nodeId: m.info.nodeId, from, to, reason }]
  }
}
