// A node fed malformed, oversized and forged wire messages by a real libp2p peer drops and
// counts them, stays healthy, and believes none of them.
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { fromString } from 'uint8arrays'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { P2PHost } from '../../src/p2p/host.js'
import { JOIN_PROTOCOL, MEMBERSHIP_TOPIC } from '../../src/gossip/membership.js'
import { encodeGossip, type NodeInfo } from '../../src/gossip/heartbeat.js'
import { WIRE_LIMITS } from '../../src/node/config.js'
import { AgentProcess, TempDirs, waitFor } from '../helpers/agent-process.js'

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
    rogue = await P2PHost.create({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], logger: pino({ level: 'silent' }) })
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
})
