// A node fed malformed, oversized and forged wire messages by a real libp2p peer drops and
// counts them, stays healthy, and believes none of them.
import assert from 'node:assert/strict'
import { fromString } from 'uint8arrays'
import type { P2PHost } from '../../src/p2p/host.js'
import { JOIN_PROTOCOL, LEAVE_PROTOCOL, MEMBERSHIP_TOPIC } from '../../src/gossip/membership.js'
import { encodeGossip, type NodeInfo } from '../../src/gossip/heartbeat.js'
import { MEMBERSHIP_LIMITS } from '../../src/gossip/config.js'
import { RPC_PROTOCOL, decodeRpcFrame, encodeRpcFrame, type RpcFrame } from '../../src/cluster/write-rpc.js'
import { LOGS_PROTOCOL, decodeLogResponse, encodeLogRequest } from '../../src/tasks/log-rpc.js'
import { AgentProcess } from '../../harness/agent-process.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import { loopbackHost } from '../helpers/fixtures.js'

async function metricSum(agent: AgentProcess, name: string, label: string): Promise<number> {
  const res = await fetch(`${agent.client.baseUrl}/metrics`)
  const text = await res.text()
  let total = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(label)) total += Number(line.split(' ').pop())
  }
  return total
}

async function rejectedCount(agent: AgentProcess, protocol: string): Promise<number> {
  return await metricSum(agent, 'meshos_wire_messages_rejected_total', `protocol="${protocol}"`)
}

/** A peer holding the cluster key, subscribed to membership gossip and connected to `agent`. */
async function gossipPeer(agent: AgentProcess): Promise<P2PHost> {
  const peer = await loopbackHost()
  peer.subscribe(
    MEMBERSHIP_TOPIC,
    () => 'accept',
    () => {},
  )
  await peer.dial([agent.addr], 5000)
  await waitFor(
    'the victim to be subscribed as seen by the peer',
    async () => peer.topicPeers(MEMBERSHIP_TOPIC).includes(agent.peerId),
    10_000,
  )
  return peer
}

describe('wire robustness against a misbehaving peer', function () {
  this.timeout(60_000)
  const dirs = new TempDirs()
  let agent: AgentProcess
  let rogue: P2PHost
  /** Sends invalid gossip, for which the victim disconnects it: the other tests use `rogue`. */
  let gossiper: P2PHost | undefined

  before(async () => {
    agent = await AgentProcess.start({ name: 'victim', dataDir: await dirs.make() })
    rogue = await gossipPeer(agent)
  })

  after(async () => {
    await gossiper?.stop()
    await rogue?.stop()
    await agent?.kill()
    await dirs.cleanup()
  })

  it('drops and counts bad gossip, never believes a heartbeat sent on behalf of another node, and cuts the sender', async () => {
    gossiper = await gossipPeer(agent)
    const forged: NodeInfo = {
      nodeId: agent.peerId.replace(/.$/, c => (c === 'a' ? 'b' : 'a')),
      name: 'forged',
      addrs: [],
      incarnation: 1,
      seq: 1,
      capacity: { cpus: 64, memoryMb: 1 },
      allocated: { cpus: 0, memoryMb: 0 },
      running: 0,
      load: 0,
      labels: {},
      version: 'x',
      startedAt: 0,
    }
    const bad = [
      fromString('not json at all'),
      fromString(JSON.stringify({ v: 99, type: 'heartbeat' })),
      new Uint8Array(MEMBERSHIP_LIMITS.heartbeatBytes + 1).fill(0x7b),
      encodeGossip({ v: 1, type: 'heartbeat', node: forged, suspects: [] }),
    ]
    const before = await rejectedCount(agent, MEMBERSHIP_TOPIC)
    for (const msg of bad) await gossiper.publish(MEMBERSHIP_TOPIC, msg)
    await waitFor(
      'all 4 bad gossip messages to be counted',
      async () => (await rejectedCount(agent, MEMBERSHIP_TOPIC)) - before >= bad.length,
      10_000,
    )
    assert.equal((await agent.client.health()).status, 'ok')
    const names = (await agent.nodes()).map(n => n.name)
    assert.ok(!names.includes('forged'), `forged node was believed: ${names.join(',')}`)
    // Three were invalid (the other wire version is only ignored): enough to be disconnected.
    await waitFor(
      'the victim to cut the sender of invalid gossip',
      async () => (await metricSum(agent, 'meshos_p2p_peers_refused_total', 'reason="gossip_score"')) >= 1,
      5000,
    )
    await waitFor('the sender to lose its connection', async () => gossiper!.connectedPeers().length === 0, 5000)
  })

  it('refuses malformed and oversized join requests without answering them, and stays up', async () => {
    const before = await rejectedCount(agent, JOIN_PROTOCOL)
    for (const junk of [fromString('{'), fromString('{"v":1,"node":{}}')]) {
      await assert.rejects(rogue.request(agent.addr, JOIN_PROTOCOL, junk, { timeoutMs: 3000, maxResponseBytes: 1024 }))
    }
    // Larger than the frame limit: the stream is cut before the body is read.
    await assert.rejects(
      rogue.request(agent.addr, JOIN_PROTOCOL, new Uint8Array(MEMBERSHIP_LIMITS.joinRequestBytes + 10), {
        timeoutMs: 3000,
        maxResponseBytes: 1024,
      }),
    )
    await waitFor(
      'the 2 parseable-size bad join requests to be counted',
      async () => (await rejectedCount(agent, JOIN_PROTOCOL)) - before >= 2,
      5000,
    )
    assert.equal((await agent.client.health()).status, 'ok')
    assert.equal(agent.child.exitCode, null)
  })

  it('refuses a direct leave that is malformed or speaks for another node, and believes one from the node itself', async () => {
    const before = await rejectedCount(agent, LEAVE_PROTOCOL)
    const otherId = agent.peerId.replace(/.$/, c => (c === 'a' ? 'b' : 'a'))
    for (const junk of [
      fromString('{'),
      encodeGossip({ v: 1, type: 'leave', nodeId: otherId, incarnation: 1, seq: 2 }),
    ]) {
      await assert.rejects(rogue.request(agent.addr, LEAVE_PROTOCOL, junk, { timeoutMs: 3000, maxResponseBytes: 16 }))
    }
    await waitFor(
      'the 2 bad leave messages to be counted',
      async () => (await rejectedCount(agent, LEAVE_PROTOCOL)) - before >= 2,
      5000,
    )
    // The rogue becomes a member (a heartbeat about itself), then leaves by telling the victim directly.
    const self: NodeInfo = {
      nodeId: rogue.peerId,
      name: 'rogue',
      addrs: [],
      incarnation: 1,
      seq: 1,
      capacity: { cpus: 1, memoryMb: 64 },
      allocated: { cpus: 0, memoryMb: 0 },
      running: 0,
      load: 0,
      labels: {},
      version: 'x',
      startedAt: 0,
    }
    await rogue.publish(MEMBERSHIP_TOPIC, encodeGossip({ v: 1, type: 'heartbeat', node: self, suspects: [] }))
    await waitFor(
      'the victim to list the rogue alive',
      async () => (await agent.stateOf(rogue.peerId)) === 'alive',
      5000,
    )
    await rogue.request(
      agent.addr,
      LEAVE_PROTOCOL,
      encodeGossip({ v: 1, type: 'leave', nodeId: rogue.peerId, incarnation: 1, seq: 2 }),
      { timeoutMs: 3000, maxResponseBytes: 16 },
    )
    assert.equal(await agent.stateOf(rogue.peerId), 'left', 'answered only after applying it')
  })

  it('drops unparseable forwarded-write frames, answers invalid commands with code invalid, and writes nothing', async () => {
    await waitFor(
      'the victim to lead its one-node cluster',
      async () => (await agent.client.status()).role === 'leader',
      10_000,
    )
    const results = new Map<string, RpcFrame>()
    await rogue.handleFrames(RPC_PROTOCOL, 1024 * 1024, (_from, bytes) => {
      const frame = decodeRpcFrame(bytes)
      assert.ok(frame.ok, 'the answer itself is well-formed')
      if (frame.value.type === 'result') results.set(frame.value.id, frame.value)
    })
    const limits = {
      maxFrameBytes: 1024 * 1024,
      maxQueuedBytes: 1024 * 1024,
      dialTimeoutMs: 5000,
      redialBackoffMs: 100,
    }
    const ask = async (id: string, command: unknown): Promise<RpcFrame> => {
      assert.ok(
        rogue.sendFrame(agent.peerId, RPC_PROTOCOL, encodeRpcFrame({ v: 3, type: 'propose', id, command }), limits),
      )
      return await waitFor(`the answer to ${id}`, async () => results.get(id), 10_000)
    }
    const before = await rejectedCount(agent, RPC_PROTOCOL)
    // No id to answer: dropped and counted (the sender's write would time out).
    rogue.sendFrame(agent.peerId, RPC_PROTOCOL, fromString('{"v":2,"type":"nonsense"}'), limits)
    const badCommand = await ask('bad', { type: 'kv.put', key: 'sneaky' })
    assert.ok(
      badCommand.type === 'result' && !badCommand.ok && badCommand.code === 'invalid',
      JSON.stringify(badCommand),
    )
    if (badCommand.type === 'result' && !badCommand.ok) assert.match(badCommand.message, /^command: value: Required/)
    await waitFor(
      'both bad frames to be counted',
      async () => (await rejectedCount(agent, RPC_PROTOCOL)) - before === 2,
      5000,
    )
    assert.deepEqual(await agent.client.kvList(), {})
    // A valid forwarded write from a member-to-be commits, as from any node.
    const good = await ask('good', { type: 'kv.put', key: 'fine', value: 'yes' })
    assert.ok(good.type === 'result' && good.ok, JSON.stringify(good))
    assert.equal(await agent.client.kvGet('fine'), 'yes')
  })

  it('answers malformed log requests with found: false, counts them, and serves no file outside a task', async () => {
    const before = await rejectedCount(agent, LOGS_PROTOCOL)
    const ask = async (bytes: Uint8Array) => {
      const res = decodeLogResponse(
        await rogue.request(agent.addr, LOGS_PROTOCOL, bytes, { timeoutMs: 5000, maxResponseBytes: 512 * 1024 }),
      )
      assert.ok(res.ok, 'the answer itself is well-formed')
      return res.value
    }
    assert.equal((await ask(fromString('{"v":1,"taskId":"x"}'))).found, false)
    // A path-like task id fails the schema or finds no task directory; nothing is read.
    const traversal = await ask(
      encodeLogRequest({ v: 1, taskId: '../../peer-key', attempt: 1, stream: 'stdout', offset: 0, maxBytes: 1024 }),
    )
    assert.deepEqual([traversal.found, traversal.data], [false, ''])
    await waitFor(
      'the malformed log request to be counted',
      async () => (await rejectedCount(agent, LOGS_PROTOCOL)) - before >= 1,
      5000,
    )
    assert.equal((await agent.client.health()).status, 'ok')
  })
})
