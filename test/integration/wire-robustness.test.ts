// A node fed malformed, oversized and forged wire messages by a real libp2p peer drops and
// counts them, stays healthy, and believes none of them.
import assert from 'node:assert/strict'
import { fromString } from 'uint8arrays'
import type { P2PHost } from '../../src/p2p/host.js'
import { JOIN_PROTOCOL, MEMBERSHIP_TOPIC } from '../../src/gossip/membership.js'
import { encodeGossip, type NodeInfo } from '../../src/gossip/heartbeat.js'
import { WIRE_LIMITS } from '../../src/node/config.js'
import { RPC_PROTOCOL, decodeProposeResponse, encodeProposeRequest, type ProposeResponse } from '../../src/cluster/write-rpc.js'
import { AgentProcess, TempDirs, waitFor } from '../helpers/agent-process.js'
import { loopbackHost } from '../helpers/fixtures.js'

async function rejectedCount (agent: AgentProcess, protocol: string): Promise<number> {
  const res = await fetch(`${agent.client.baseUrl}/metrics`)
  const text = await res.text()
  let total = 0
  for (const line of text.split('\n')) {
    if (line.startsWith('meshos_wire_messages_rejected_total{') && line.includes(`protocol="${protocol}"`)) total += Number(line.split(' ').pop())
  }
  return total
}

describe('wire robustness against a misbehaving peer', function () {
  this.timeout(60_000)
  const dirs = new TempDirs()
  let agent: AgentProcess
  let rogue: P2PHost

  before(async () => {
    agent = await AgentProcess.start({ name: 'victim', dataDir: await dirs.make() })
    rogue = await loopbackHost()
    rogue.subscribe(MEMBERSHIP_TOPIC, () => 'accept', () => {})
    await rogue.dial([agent.addr], 5000)
    await waitFor('the victim to be subscribed as seen by the rogue', async () => rogue.topicPeers(MEMBERSHIP_TOPIC).includes(agent.peerId), 10_000)
  })

  after(async () => {
    await rogue?.stop()
    await agent?.kill()
    await dirs.cleanup()
  })

  it('drops and counts bad gossip, and never believes a heartbeat sent on behalf of another node', async () => {
    const forged: NodeInfo = {
      nodeId: agent.peerId.replace(/.$/, c => (c === 'a' ? 'b' : 'a')),
      name: 'forged', addrs: [], incarnation: 1, seq: 1, capacity: { cpus: 64, memoryMb: 1 }, allocated: { cpus: 0, memoryMb: 0 },
      running: 0, load: 0, labels: {}, version: 'x', startedAt: 0
    }
    const bad = [
      fromString('not json at all'),
      fromString(JSON.stringify({ v: 99, type: 'heartbeat' })),
      new Uint8Array(WIRE_LIMITS.heartbeatBytes + 1).fill(0x7b),
      encodeGossip({ v: 1, type: 'heartbeat', node: forged, suspects: [] })
    ]
    const before = await rejectedCount(agent, MEMBERSHIP_TOPIC)
    for (const msg of bad) await rogue.publish(MEMBERSHIP_TOPIC, msg)
    await waitFor('all 4 bad gossip messages to be counted', async () => (await rejectedCount(agent, MEMBERSHIP_TOPIC)) - before >= bad.length, 10_000)
    assert.equal((await agent.client.health()).status, 'ok')
    const names = (await agent.nodes()).map(n => n.name)
    assert.ok(!names.includes('forged'), `forged node was believed: ${names.join(',')}`)
  })

  it('refuses malformed and oversized join requests without answering them, and stays up', async () => {
    const before = await rejectedCount(agent, JOIN_PROTOCOL)
    for (const junk of [fromString('{'), fromString('{"v":1,"node":{}}')]) {
      await assert.rejects(rogue.request(agent.addr, JOIN_PROTOCOL, junk, { timeoutMs: 3000, maxResponseBytes: 1024 }))
    }
    // Larger than the frame limit: the stream is cut before the body is read.
    await assert.rejects(rogue.request(agent.addr, JOIN_PROTOCOL, new Uint8Array(WIRE_LIMITS.joinRequestBytes + 10), { timeoutMs: 3000, maxResponseBytes: 1024 }))
    await waitFor('the 2 parseable-size bad join requests to be counted', async () => (await rejectedCount(agent, JOIN_PROTOCOL)) - before >= 2, 5000)
    assert.equal((await agent.client.health()).status, 'ok')
    assert.equal(agent.child.exitCode, null)
  })

  it('answers malformed or invalid forwarded writes with code invalid and writes nothing', async () => {
    await waitFor('the victim to lead its one-node cluster', async () => (await agent.client.status()).role === 'leader', 10_000)
    const before = await rejectedCount(agent, RPC_PROTOCOL)
    const ask = async (bytes: Uint8Array): Promise<ProposeResponse> => {
      const res = decodeProposeResponse(await rogue.request(agent.addr, RPC_PROTOCOL, bytes, { timeoutMs: 5000, maxResponseBytes: 64 * 1024 }))
      assert.ok(res.ok, 'the answer itself is well-formed')
      return res.value
    }
    const notAWrite = await ask(fromString('{"v":1,"type":"nonsense"}'))
    assert.deepEqual([notAWrite.ok, notAWrite.ok ? null : notAWrite.code], [false, 'invalid'])
    const badCommand = await ask(encodeProposeRequest({ v: 1, type: 'propose', command: { type: 'kv.put', key: 'sneaky' } }))
    assert.equal(badCommand.ok, false)
    if (!badCommand.ok) assert.match(badCommand.message, /^command: value: Required/)
    assert.equal((await rejectedCount(agent, RPC_PROTOCOL)) - before, 2)
    assert.deepEqual(await agent.client.kvList(), {})
    // A valid forwarded write from a member-to-be commits, as from any node.
    const good = await ask(encodeProposeRequest({ v: 1, type: 'propose', command: { type: 'kv.put', key: 'fine', value: 'yes' } }))
    assert.equal(good.ok, true)
    assert.equal(await agent.client.kvGet('fine'), 'yes')
  })
})
