import assert from 'node:assert/strict'
import { MemberTable, type MemberEvent } from '../../src/gossip/member-table.js'
import { DEFAULT_MEMBERSHIP, MEMBERSHIP_LIMITS, type MembershipConfig } from '../../src/gossip/config.js'
import { confirmedSuspicionTimeoutMs, suspicionTimeoutMs } from '../../src/gossip/suspicion.js'
import type { HeartbeatMessage, NodeInfo } from '../../src/gossip/heartbeat.js'
import { nodeInfo } from '../helpers/fixtures.js'

const cfg: MembershipConfig = { ...DEFAULT_MEMBERSHIP }

const info = nodeInfo

function hb(node: NodeInfo, suspects: HeartbeatMessage['suspects'] = []): HeartbeatMessage {
  return { v: 1, type: 'heartbeat', node, suspects }
}

/** Drives a table with a fake clock in tick-sized steps, the way the adapter's timer does. */
class Harness {
  nowMs = 0
  readonly table = new MemberTable(info('self'), cfg, 0)
  readonly events: MemberEvent[] = []

  advance(ms: number): void {
    const end = this.nowMs + ms
    while (this.nowMs < end) {
      this.nowMs = Math.min(end, this.nowMs + cfg.tickIntervalMs)
      this.events.push(...this.table.tick(this.nowMs))
    }
  }

  /** Advances until `nodeId` reaches `state`; returns the elapsed fake time. */
  advanceUntil(nodeId: string, state: string, limitMs: number): number {
    const start = this.nowMs
    while (this.table.get(nodeId)?.state !== state) {
      if (this.nowMs - start > limitMs)
        assert.fail(`${nodeId} did not become ${state} within ${limitMs} ms (is ${this.table.get(nodeId)?.state})`)
      this.advance(cfg.tickIntervalMs)
    }
    return this.nowMs - start
  }

  heartbeat(node: NodeInfo, suspects: HeartbeatMessage['suspects'] = []): MemberEvent[] {
    const ev = this.table.onHeartbeat(hb(node, suspects), this.nowMs)
    this.events.push(...ev)
    return ev
  }
}

describe('member table', () => {
  it('adds a member on its first heartbeat as alive and asks to connect to it', () => {
    const h = new Harness()
    const ev = h.heartbeat(info('a'))
    assert.equal(h.table.get('a')?.state, 'alive')
    assert.deepEqual(
      ev.map(e => e.type),
      ['state', 'discovered'],
    )
  })

  it('ignores its own heartbeat', () => {
    const h = new Harness()
    assert.deepEqual(h.heartbeat(info('self', { seq: 99 })), [])
    assert.equal(h.table.others().length, 0)
  })

  it('goes alive → suspect after suspectAfterMs of silence, then dead after the suspicion timeout', () => {
    const h = new Harness()
    h.heartbeat(info('a'))
    const toSuspect = h.advanceUntil('a', 'suspect', 10_000)
    assert.ok(
      toSuspect >= cfg.suspectAfterMs && toSuspect <= cfg.suspectAfterMs + cfg.tickIntervalMs,
      `suspect after ${toSuspect} ms`,
    )
    const toDead = h.advanceUntil('a', 'dead', 10_000)
    const expected = suspicionTimeoutMs(cfg, 2)
    assert.ok(
      toDead >= expected && toDead <= expected + cfg.tickIntervalMs,
      `dead after ${toDead} ms, expected ~${expected}`,
    )
  })

  it('keeps a member alive while its heartbeats keep coming', () => {
    const h = new Harness()
    for (let seq = 1; seq <= 50; seq++) {
      h.heartbeat(info('a', { seq }))
      h.advance(cfg.heartbeatIntervalMs)
      assert.equal(h.table.get('a')?.state, 'alive')
    }
  })

  it('ignores stale or duplicate heartbeats: they are not evidence of life', () => {
    const h = new Harness()
    h.heartbeat(info('a', { seq: 10 }))
    h.advance(cfg.suspectAfterMs - 200)
    h.heartbeat(info('a', { seq: 10 }))
    h.heartbeat(info('a', { seq: 9 }))
    h.advance(200)
    assert.equal(h.table.get('a')?.state, 'suspect')
  })

  it('a newer heartbeat brings a suspect or dead member back to alive', () => {
    const h = new Harness()
    h.heartbeat(info('a', { seq: 1 }))
    h.advanceUntil('a', 'dead', 10_000)
    h.heartbeat(info('a', { seq: 2 }))
    assert.equal(h.table.get('a')?.state, 'alive')
  })

  it('a restarted member (higher incarnation, seq from 1) is accepted again', () => {
    const h = new Harness()
    h.heartbeat(info('a', { seq: 500 }))
    h.advanceUntil('a', 'dead', 10_000)
    const ev = h.heartbeat(info('a', { incarnation: 2, seq: 1, startedAt: 9000 }))
    assert.equal(h.table.get('a')?.state, 'alive')
    assert.ok(ev.some(e => e.type === 'state' && e.reason.includes('restarted')))
  })

  it('connection loss makes an alive member suspect at once; a heartbeat refutes it', () => {
    const h = new Harness()
    h.heartbeat(info('a', { seq: 1 }))
    h.table.onDisconnect('a', h.nowMs)
    assert.equal(h.table.get('a')?.state, 'suspect')
    h.advance(100)
    h.heartbeat(info('a', { seq: 2 }))
    assert.equal(h.table.get('a')?.state, 'alive')
  })

  it('marks an announced leave as left right away, and never suspects a left member', () => {
    const h = new Harness()
    h.heartbeat(info('a', { seq: 4 }))
    h.table.onLeave({ v: 1, type: 'leave', nodeId: 'a', incarnation: 1, seq: 5 }, h.nowMs)
    assert.equal(h.table.get('a')?.state, 'left')
    h.advance(cfg.suspectAfterMs * 10)
    assert.equal(h.table.get('a')?.state, 'left')
  })

  it('ignores a stale leave (an older incarnation leaving must not remove the restarted node)', () => {
    const h = new Harness()
    h.heartbeat(info('a', { incarnation: 3, seq: 1 }))
    h.table.onLeave({ v: 1, type: 'leave', nodeId: 'a', incarnation: 2, seq: 900 }, h.nowMs)
    assert.equal(h.table.get('a')?.state, 'alive')
  })

  it('refutes a suspicion of itself by bumping its incarnation above the suspected one', () => {
    const h = new Harness()
    const ev = h.heartbeat(info('a'), [{ nodeId: 'self', incarnation: 1 }])
    assert.deepEqual(
      ev.find(e => e.type === 'refuted'),
      { type: 'refuted', incarnation: 2 },
    )
    assert.equal(h.table.nextHeartbeat().node.incarnation, 2)
    // An old suspicion (of an incarnation we already refuted) needs no new refutation.
    assert.equal(
      h.heartbeat(info('a', { seq: 2 }), [{ nodeId: 'self', incarnation: 1 }]).some(e => e.type === 'refuted'),
      false,
    )
  })

  it('never refutes past the incarnation bound, so its own heartbeats stay acceptable to peers', () => {
    const h = new Harness()
    const max = MEMBERSHIP_LIMITS.maxCounter
    // Only a peer inventing an incarnation this node never announced can suspect one this high.
    const ev = h.heartbeat(info('a'), [{ nodeId: 'self', incarnation: max }])
    assert.equal(
      ev.some(e => e.type === 'refuted'),
      false,
    )
    assert.equal(h.table.nextHeartbeat().node.incarnation, 1)
    const below = h.heartbeat(info('a', { seq: 2 }), [{ nodeId: 'self', incarnation: max - 1 }])
    assert.deepEqual(
      below.find(e => e.type === 'refuted'),
      { type: 'refuted', incarnation: max },
    )
    assert.ok(Number.isSafeInteger(h.table.nextHeartbeat().node.incarnation))
  })

  it('counts alive and suspect members as members, and no one else', () => {
    const h = new Harness()
    h.heartbeat(info('a'))
    h.heartbeat(info('b'))
    h.table.onDisconnect('b', h.nowMs)
    h.heartbeat(info('c'))
    h.table.onLeave({ v: 1, type: 'leave', nodeId: 'c', incarnation: 1, seq: 2 }, h.nowMs)
    assert.deepEqual(
      ['a', 'b', 'c', 'unknown', 'self'].map(id => h.table.isLiveMember(id)),
      [true, true, false, false, false],
    )
  })

  it('a refuted node is alive again for its peers: the refutation outranks the suspicion', () => {
    const h = new Harness()
    h.heartbeat(info('a', { incarnation: 1, seq: 7 }))
    h.table.onDisconnect('a', h.nowMs)
    assert.deepEqual(h.table.suspicions(), [{ nodeId: 'a', incarnation: 1 }])
    h.heartbeat(info('a', { incarnation: 2, seq: 8 }))
    assert.equal(h.table.get('a')?.state, 'alive')
    assert.deepEqual(h.table.suspicions(), [])
  })

  it('confirmations from other members shorten the suspicion (Lifeguard)', () => {
    /** Fake time until 'a' is declared dead, with b, c, d beating every tick and, when
     * `confirm`, reporting that they suspect a as well. */
    const timeToDead = (confirm: boolean): number => {
      const h = new Harness()
      for (const id of ['a', 'b', 'c', 'd']) h.heartbeat(info(id))
      h.table.onDisconnect('a', h.nowMs)
      for (let seq = 2; h.table.get('a')?.state === 'suspect'; seq++) {
        if (seq > 1000) assert.fail('a never died')
        for (const id of ['b', 'c', 'd'])
          h.heartbeat(info(id, { seq }), confirm ? [{ nodeId: 'a', incarnation: 1 }] : [])
        h.advance(cfg.tickIntervalMs)
      }
      assert.equal(h.table.get('a')?.state, 'dead')
      return h.nowMs
    }
    const unconfirmedMs = timeToDead(false)
    const confirmedMs = timeToDead(true)
    assert.equal(unconfirmedMs, suspicionTimeoutMs(cfg, 5))
    assert.equal(confirmedMs, confirmedSuspicionTimeoutMs(cfg, 5, 3))
    assert.ok(confirmedMs < unconfirmedMs)
  })

  it('a suspicion of an older incarnation does not count as a confirmation', () => {
    const h = new Harness()
    h.heartbeat(info('a', { incarnation: 5 }))
    h.heartbeat(info('b'))
    h.heartbeat(info('c'))
    h.table.onDisconnect('a', h.nowMs)
    h.heartbeat(info('b', { seq: 2 }), [{ nodeId: 'a', incarnation: 4 }])
    assert.equal(h.table.get('a')?.confirmations.size, 0)
    h.heartbeat(info('c', { seq: 2 }), [{ nodeId: 'a', incarnation: 5 }])
    assert.equal(h.table.get('a')?.confirmations.size, 1)
  })

  it('does not accuse others for silence that happened while it was itself paused', () => {
    const h = new Harness()
    h.heartbeat(info('a'))
    // One tick arrives 6 s late: this process was frozen (SIGSTOP, GC), not the peer.
    h.nowMs += 6000
    h.events.push(...h.table.tick(h.nowMs))
    assert.equal(h.table.get('a')?.state, 'alive')
    // Silence after the pause still counts.
    h.advanceUntil('a', 'suspect', cfg.suspectAfterMs + cfg.tickIntervalMs * 2)
  })

  it('after a pause, heartbeats applied before the late tick are not credited into the future', () => {
    const h = new Harness()
    h.heartbeat(info('a', { seq: 1 }))
    h.nowMs += 6000
    // The heartbeat queued during the pause is handled before the late timer fires.
    h.heartbeat(info('a', { seq: 2 }))
    h.events.push(...h.table.tick(h.nowMs))
    assert.ok(h.table.get('a')!.lastSeenAtMs <= h.nowMs, 'last seen in the future')
    // So silence from now on is noticed on time, not a whole pause late.
    const toSuspect = h.advanceUntil('a', 'suspect', cfg.suspectAfterMs * 2)
    assert.ok(toSuspect <= cfg.suspectAfterMs + cfg.tickIntervalMs, `suspect after ${toSuspect} ms`)
  })

  it('a stale or duplicate heartbeat does not count as a confirmation', () => {
    const h = new Harness()
    for (const id of ['a', 'b', 'c']) h.heartbeat(info(id, { seq: 5 }))
    h.table.onDisconnect('a', h.nowMs)
    h.heartbeat(info('b', { seq: 5 }), [{ nodeId: 'a', incarnation: 1 }])
    h.heartbeat(info('b', { seq: 4 }), [{ nodeId: 'a', incarnation: 1 }])
    assert.equal(h.table.get('a')?.confirmations.size, 0)
    h.heartbeat(info('b', { seq: 6 }), [{ nodeId: 'a', incarnation: 1 }])
    assert.equal(h.table.get('a')?.confirmations.size, 1)
  })

  it('bounds the suspicions carried by one heartbeat', () => {
    const h = new Harness()
    for (let i = 0; i < 100; i++) {
      h.heartbeat(info(`m${i}`))
      h.table.onDisconnect(`m${i}`, h.nowMs)
    }
    assert.equal(h.table.nextHeartbeat().suspects.length, MEMBERSHIP_LIMITS.maxSuspectsPerHeartbeat)
  })

  it('forgets dead and left members after forgetAfterMs', () => {
    const h = new Harness()
    h.heartbeat(info('a'))
    h.table.onLeave({ v: 1, type: 'leave', nodeId: 'a', incarnation: 1, seq: 2 }, h.nowMs)
    h.advance(cfg.forgetAfterMs + cfg.tickIntervalMs)
    assert.equal(h.table.get('a'), undefined)
    assert.ok(h.events.some(e => e.type === 'forgotten' && e.nodeId === 'a'))
  })

  it('adopts a bootstrap table: alive members with their age, dead ones as history, itself refuted', () => {
    const h = new Harness()
    h.advance(10_000)
    const ev = h.table.onJoinRecords(
      [
        { node: info('self', { incarnation: 4 }), state: 'dead', lastSeenAgoMs: 0 },
        { node: info('a'), state: 'alive', lastSeenAgoMs: 1000 },
        { node: info('b'), state: 'dead', lastSeenAgoMs: 9000 },
      ],
      h.nowMs,
    )
    assert.equal(h.table.get('a')?.state, 'alive')
    assert.equal(h.table.get('a')?.lastSeenAtMs, 9000)
    assert.equal(h.table.get('b')?.state, 'dead')
    assert.ok(ev.some(e => e.type === 'refuted' && e.incarnation === 5))
    // a was last seen 1 s ago, so it becomes suspect 0.5 s from now unless it beats.
    h.advanceUntil('a', 'suspect', cfg.suspectAfterMs - 1000 + cfg.tickIntervalMs)
  })

  it('prefers its own fresher knowledge over an older bootstrap record', () => {
    const h = new Harness()
    h.heartbeat(info('a', { seq: 50, name: 'fresh' }))
    h.table.onJoinRecords([{ node: info('a', { seq: 10, name: 'old' }), state: 'dead', lastSeenAgoMs: 0 }], h.nowMs)
    assert.equal(h.table.get('a')?.info.name, 'fresh')
    assert.equal(h.table.get('a')?.state, 'alive')
  })

  it('numbers its heartbeats and leave announcement in one increasing sequence', () => {
    const h = new Harness()
    const seqs = [h.table.nextHeartbeat().node.seq, h.table.nextHeartbeat().node.seq, h.table.leaveMessage().seq]
    assert.deepEqual(seqs, [2, 3, 4])
  })
})

describe('suspicion formulas', () => {
  it('scales the timeout with log10 of the cluster size, never below the 10-node value', () => {
    const base = cfg.suspicionMult * cfg.suspicionBaseMs
    assert.equal(suspicionTimeoutMs(cfg, 1), base)
    assert.equal(suspicionTimeoutMs(cfg, 10), base)
    assert.equal(suspicionTimeoutMs(cfg, 100), 2 * base)
    assert.equal(suspicionTimeoutMs(cfg, 1000), 3 * base)
    assert.ok(suspicionTimeoutMs(cfg, 30) > base && suspicionTimeoutMs(cfg, 30) < 2 * base)
  })

  it('shortens with confirmations down to the minimum fraction, and not below', () => {
    const full = suspicionTimeoutMs(cfg, 10)
    const rows = [0, 1, 2, 3, 10].map(c => confirmedSuspicionTimeoutMs(cfg, 10, c))
    assert.equal(rows[0], full)
    assert.ok(rows[1]! < full && rows[2]! < rows[1]! && rows[3]! < rows[2]!, rows.join(','))
    assert.equal(rows[3], full * cfg.suspicionMinFraction)
    assert.equal(rows[4], full * cfg.suspicionMinFraction)
  })

  it('ignores confirmations in a cluster too small to have independent witnesses', () => {
    assert.equal(confirmedSuspicionTimeoutMs(cfg, 2, 5), suspicionTimeoutMs(cfg, 2))
  })
})
