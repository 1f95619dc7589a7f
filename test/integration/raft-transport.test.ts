// The raft transport over real libp2p hosts in-process: messages of every type cross intact in
// both directions over long-lived streams; forged or malformed frames are dropped and counted.
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { fromString } from 'uint8arrays'
import type { P2PHost } from '../../src/p2p/host.js'
import { NodeMetrics } from '../../src/metrics/node-metrics.js'
import { P2PRaftTransport } from '../../src/election/transport/raft-transport-p2p.js'
import {
  RAFT_FRAME_MAX_BYTES,
  RAFT_PROTOCOL,
  decodeRaftMessage,
  encodeRaftMessage,
} from '../../src/election/transport/raft-wire.js'
import type { RaftMessage } from '../../src/election/core/types.js'
import { waitFor } from '../../harness/wait-for.js'
import { loopbackHost } from '../helpers/fixtures.js'

const silent = pino({ level: process.env.DBG ?? 'silent' })

/** One message of every type, typed as RaftMessage so the compiler checks them against types.ts. */
function everyMessage(from: string, to: string): RaftMessage[] {
  const b = { from, to, term: 3 }
  return [
    { ...b, type: 'preVote', lastLogIndex: 7, lastLogTerm: 2 },
    { ...b, type: 'preVoteResp', granted: true },
    { ...b, type: 'vote', lastLogIndex: 7, lastLogTerm: 2, transfer: false },
    { ...b, type: 'voteResp', granted: false },
    {
      ...b,
      type: 'append',
      prevLogIndex: 6,
      prevLogTerm: 2,
      commit: 5,
      entries: [
        { term: 3, index: 7, type: 'normal', data: { type: 'kv.put', key: 'k', value: 'v' } },
        { term: 3, index: 8, type: 'config', data: { voters: [from], learners: [to] } },
      ],
    },
    { ...b, type: 'appendResp', reject: true, index: 6, hintIndex: 4, hintTerm: 1 },
    {
      ...b,
      type: 'snapshot',
      snapshot: { index: 9, term: 3, config: { voters: [from, to], learners: [] }, data: { kv: { a: '1' } } },
    },
    { ...b, type: 'heartbeat', commit: 9 },
    { ...b, type: 'heartbeatResp' },
    { ...b, type: 'commit', commit: 9, logTerm: 3 },
    { ...b, type: 'timeoutNow' },
  ]
}

describe('raft transport over libp2p', function () {
  this.timeout(30_000)
  let hosts: P2PHost[] = []
  afterEach(async () => {
    await Promise.all(
      hosts.map(async h => {
        await h.stop()
      }),
    )
    hosts = []
  })

  it('the wire schema accepts every message type and rejects a malformed one', () => {
    for (const msg of everyMessage('a', 'b'))
      assert.deepEqual(decodeRaftMessage(encodeRaftMessage(msg)), { ok: true, value: msg })
    const bad = decodeRaftMessage(fromString(JSON.stringify({ type: 'append', from: 'a', to: 'b', term: -1 })))
    assert.equal(bad.ok, false)
    const badCommit = decodeRaftMessage(
      fromString(JSON.stringify({ type: 'commit', from: 'a', to: 'b', term: 3, commit: -1 })),
    )
    assert.deepEqual(badCommit.ok ? null : [badCommit.reason, badCommit.detail], [
      'invalid_schema',
      'commit: Number must be greater than or equal to 0',
    ])
  })

  /** Two connected hosts with a raft transport each, recording what each receives. */
  async function connectedPair(): Promise<{
    a: P2PHost
    b: P2PHost
    ta: P2PRaftTransport
    tb: P2PRaftTransport
    atA: RaftMessage[]
    atB: RaftMessage[]
  }> {
    const [a, b] = (hosts = [await loopbackHost(), await loopbackHost()])
    const ta = new P2PRaftTransport(a!, new NodeMetrics(false), silent)
    const tb = new P2PRaftTransport(b!, new NodeMetrics(false), silent)
    await ta.start()
    await tb.start()
    const atA: RaftMessage[] = []
    const atB: RaftMessage[] = []
    ta.onMessage(m => atA.push(m))
    tb.onMessage(m => atB.push(m))
    await a!.dial(b!.multiaddrs(), 5000)
    // b dials back over the same connection, which it registers a moment after a's dial returns.
    await waitFor('b to see the connection', async () => b!.connectedPeers().includes(a.peerId), 5000)
    return { a: a!, b: b!, ta, tb, atA, atB }
  }

  it('delivers every message type in both directions, in order, over one stream per peer', async () => {
    const { a, b, ta, tb, atA, atB } = await connectedPair()
    const toB = everyMessage(a.peerId, b.peerId)
    const toA = everyMessage(b.peerId, a.peerId)
    for (const m of toB) ta.send(m)
    for (const m of toA) tb.send(m)
    await waitFor('all messages delivered', async () => atA.length === toA.length && atB.length === toB.length, 10_000)
    assert.deepEqual(atB, toB)
    assert.deepEqual(atA, toA)
  })

  const snapshotOf = (from: string, to: string, bytes: number): RaftMessage => ({
    from,
    to,
    term: 2,
    type: 'snapshot',
    snapshot: {
      index: 10,
      term: 2,
      config: { voters: [from, to], learners: [] },
      data: { kv: { big: 'x'.repeat(bytes) } },
    },
  })

  it('carries a snapshot six times the frame limit as chunks, in order with what follows it', async () => {
    const { a, b, ta, atB } = await connectedPair()
    const big = snapshotOf(a.peerId, b.peerId, 6 * RAFT_FRAME_MAX_BYTES)
    ta.send(big)
    const after: RaftMessage = { from: a.peerId, to: b.peerId, term: 2, type: 'heartbeat', commit: 10 }
    ta.send(after)
    await waitFor('the snapshot and the heartbeat after it', async () => atB.length === 2, 20_000)
    assert.deepEqual(atB[0], big)
    assert.deepEqual(atB[1], after)
  })

  it('asks the gate about every chunk, and never buffers those of a sender it refuses', async () => {
    const [a, b] = (hosts = [await loopbackHost(), await loopbackHost()])
    const ta = new P2PRaftTransport(a!, new NodeMetrics(false), silent)
    const tb = new P2PRaftTransport(b!, new NodeMetrics(false), silent)
    await ta.start()
    await tb.start()
    const atB: RaftMessage[] = []
    const asked: string[] = []
    let allow = false
    tb.onMessage(
      m => atB.push(m),
      envelope => {
        asked.push(`${envelope.type}@${envelope.term}`)
        return allow
      },
    )
    await a!.dial(b!.multiaddrs(), 5000)
    const big = snapshotOf(a!.peerId, b!.peerId, 3 * RAFT_FRAME_MAX_BYTES)
    ta.send(big)
    await waitFor('every chunk to be judged', async () => asked.length === 4, 10_000)
    assert.deepEqual(asked, ['snapshot@2', 'snapshot@2', 'snapshot@2', 'snapshot@2'])
    assert.deepEqual(atB, [])
    allow = true
    ta.send(big)
    await waitFor('the snapshot, once admitted', async () => atB.length === 1, 10_000)
    assert.deepEqual(atB[0], big)
  })

  it('answers the trust anchor question by peer id and by address', async () => {
    const { a, b, ta, tb } = await connectedPair()
    const seen: string[] = []
    tb.onConfigQuery(from => {
      seen.push(from)
      return { status: 'ok', term: 4, leader: b.peerId, voters: [b.peerId] }
    })
    assert.deepEqual(await ta.askConfig(b.peerId), { status: 'ok', term: 4, leader: b.peerId, voters: [b.peerId] })
    const viaAddress = await ta.askConfig(b.multiaddrs()[0]!)
    assert.equal(viaAddress.status, 'ok')
    assert.deepEqual(seen, [a.peerId, a.peerId], 'the answerer sees the authenticated asker')
  })

  it('drops and counts a frame that claims another sender, and one that is not a raft message', async () => {
    const [victim, rogue] = (hosts = [await loopbackHost(), await loopbackHost()])
    const metrics = new NodeMetrics(false)
    const t = new P2PRaftTransport(victim!, metrics, silent)
    await t.start()
    const received: RaftMessage[] = []
    t.onMessage(m => received.push(m))
    await rogue!.dial(victim!.multiaddrs(), 5000)
    await waitFor(
      'the victim to see the connection',
      async () => victim!.connectedPeers().includes(rogue!.peerId),
      5000,
    )
    const limits = { maxFrameBytes: 1024, maxQueuedBytes: 64 * 1024, dialTimeoutMs: 2000, redialBackoffMs: 500 }
    const forged: RaftMessage = { from: 'someone-else', to: victim!.peerId, term: 99, type: 'timeoutNow' }
    rogue!.sendFrame(victim!.peerId, RAFT_PROTOCOL, encodeRaftMessage(forged), limits)
    rogue!.sendFrame(victim!.peerId, RAFT_PROTOCOL, fromString('{"not":"raft"}'), limits)
    const genuine: RaftMessage = { from: rogue!.peerId, to: victim!.peerId, term: 1, type: 'heartbeatResp' }
    rogue!.sendFrame(victim!.peerId, RAFT_PROTOCOL, encodeRaftMessage(genuine), limits)
    await waitFor('the genuine frame after the bad ones', async () => received.length === 1, 10_000)
    assert.deepEqual(received, [genuine])
    const rejected = (await metrics.wireRejected.get()).values
    assert.deepEqual(rejected.map(v => [v.labels.reason, v.value]).sort(), [
      ['invalid_schema', 1],
      ['wrong_sender', 1],
    ])
  })
})
