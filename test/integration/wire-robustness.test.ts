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
import { parseTaskSpec } from '../../src/tasks/spec.js'

async function metricSum(agent: AgentProcess, name: string, label: string): Promise<number> {
  const res = await fetch(`${agent.client.baseUrl}/metrics`)
  const text = await res.text()
  let total = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(label)) total += Number(line.split(' ').pop())
  }
  return total
}

async function rejectedCount(agent: AgentProcess, protocol: string, reason?: string): Promise<number> {
  const label = reason === undefined ? `protocol="${protocol}"` : `protocol="${protocol}",reason="${reason}"`
  return await metricSum(agent, 'meshos_wire_messages_rejected_total', label)
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

/** The rogue's own description, as its heartbeats carry it. */
function rogueInfo(rogue: P2PHost, seq: number, over: Partial<NodeInfo> = {}): NodeInfo {
  return {
    nodeId: rogue.peerId,
    name: 'rogue',
    addrs: [],
    incarnation: 1,
    seq,
    capacity: { cpus: 1, memoryMb: 64 },
    allocated: { cpus: 0, memoryMb: 0 },
    running: 0,
    load: 0,
    labels: {},
    version: 'x',
    startedAt: 0,
    ...over,
  }
}

describe('wire robustness against a misbehaving peer', function () {
  this.timeout(60_000)
  const dirs = new TempDirs()
  let agent: AgentProcess
  let rogue: P2PHost
  /** Sends a forwarded write on the rogue's rpc channel and waits for its answer (set by the rpc test). */
  let rpcAsk: ((id: string, command: unknown) => Promise<RpcFrame>) | undefined
  /** The rogue's heartbeat sequence, and the timer that keeps it a member once it is one. */
  let rogueSeq = 3
  let heartbeats: NodeJS.Timeout | undefined
  /** Sends invalid gossip, for which the victim disconnects it: the other tests use `rogue`. */
  let gossiper: P2PHost | undefined

  before(async () => {
    agent = await AgentProcess.start({ name: 'victim', dataDir: await dirs.make() })
    rogue = await gossipPeer(agent)
  })

  after(async () => {
    clearInterval(heartbeats)
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
    await rogue.publish(
      MEMBERSHIP_TOPIC,
      encodeGossip({ v: 1, type: 'heartbeat', node: rogueInfo(rogue, 1), suspects: [] }),
    )
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
    // The rogue left (previous test): a valid write from a non-member is not taken, and may be
    // asked again (a node whose first heartbeat is still on its way would).
    const early = await ask('early', { type: 'kv.put', key: 'fine', value: 'yes' })
    assert.ok(early.type === 'result' && !early.ok && early.code === 'retry', JSON.stringify(early))
    assert.equal(await rejectedCount(agent, RPC_PROTOCOL, 'not_member'), 1)
    assert.deepEqual(await agent.client.kvList(), {})
    // Once it is a member again (and stays one, heartbeating like a node), the same write commits.
    const beat = async (): Promise<void> => {
      await rogue.publish(
        MEMBERSHIP_TOPIC,
        encodeGossip({ v: 1, type: 'heartbeat', node: rogueInfo(rogue, ++rogueSeq), suspects: [] }),
      )
    }
    await beat()
    heartbeats = setInterval(() => {
      void beat()
    }, 500)
    await waitFor(
      'the victim to list the rogue alive',
      async () => (await agent.stateOf(rogue.peerId)) === 'alive',
      5000,
    )
    const good = await ask('good', { type: 'kv.put', key: 'fine', value: 'yes' })
    assert.ok(good.type === 'result' && good.ok, JSON.stringify(good))
    assert.equal(await agent.client.kvGet('fine'), 'yes')
    rpcAsk = ask
  })

  it('refuses privileged commands from a member (assign, lost, expire, placed submissions, reports for another node) and commits none', async () => {
    const ask = rpcAsk!
    const spec = parseTaskSpec({ command: 'true' })
    assert.ok(spec.ok)
    // A real task, so that forged commands have something to act on.
    const { id } = await agent.client.submitTask({ command: 'sleep 30', cpus: 0.1 })
    await waitFor('the task to run', async () => (await agent.client.task(id)).state === 'running', 10_000)
    const victim = agent.peerId
    const forged: Array<[string, unknown, string]> = [
      [
        'an assignment with term 1e15',
        {
          type: 'task.assign',
          term: 1e15,
          assignments: [{ id: 'ghost-1', attempt: 1, node: rogue.peerId, placement: 'mine' }],
        },
        'leader_only',
      ],
      [
        'a loss report',
        { type: 'task.lost', node: victim, tasks: [{ id, attempt: 1 }], at: 1, message: 'lost' },
        'leader_only',
      ],
      ['an expiry', { type: 'task.expire', ids: [id], at: 1 }, 'leader_only'],
      [
        'a submission it placed itself',
        {
          type: 'task.submit',
          tasks: [
            { id: 'ghost-2', spec: spec.spec, submittedAt: 1, assign: { node: rogue.peerId, placement: 'mine' } },
          ],
          term: 1e15,
        },
        'preassigned',
      ],
      [
        "a report of the victim's task",
        {
          type: 'task.report',
          node: victim,
          events: [
            {
              kind: 'finished',
              id,
              attempt: 1,
              at: 2,
              startedAt: 1,
              reason: 'exited',
              exitCode: 1,
              signal: null,
              message: 'forged',
            },
          ],
        },
        'foreign_report',
      ],
    ]
    let n = 0
    for (const [what, command, reason] of forged) {
      const before = await rejectedCount(agent, RPC_PROTOCOL, reason)
      const answer = await ask(`forged-${++n}`, command)
      assert.ok(
        answer.type === 'result' && !answer.ok && answer.code === 'invalid',
        `${what}: ${JSON.stringify(answer)}`,
      )
      assert.match(answer.type === 'result' && !answer.ok ? answer.message : '', /^forbidden: /, what)
      assert.equal((await rejectedCount(agent, RPC_PROTOCOL, reason)) - before, 1, what)
    }
    const tasks = await agent.client.tasks()
    assert.deepEqual(
      tasks.tasks.map(t => [t.id, t.state, t.attempt]),
      [[id, 'running', 1]],
      'no ghost task, and the real one untouched',
    )
    // The fence was not poisoned: a genuine assignment after all this still places and runs a task.
    await agent.client.cancelTask(id)
    const after = await agent.client.submitTask({ command: 'true' })
    await waitFor(
      'a task submitted afterwards to succeed',
      async () => (await agent.client.task(after.id)).state === 'succeeded',
      10_000,
    )
    assert.equal((await agent.client.status()).role, 'leader')
  })

  it('drops heartbeats with numbers no node could send, counts them, and /v1/nodes keeps answering', async () => {
    const weekMs = 7 * 24 * 3600_000
    const bad: Array<[string, NodeInfo | null, unknown, string]> = [
      ['startedAt 2^53', rogueInfo(rogue, ++rogueSeq, { startedAt: 2 ** 53 }), undefined, 'invalid_schema'],
      ['incarnation 1e300', rogueInfo(rogue, ++rogueSeq, { incarnation: 1e300 }), undefined, 'invalid_schema'],
      [
        'capacity 1e300',
        rogueInfo(rogue, ++rogueSeq, { capacity: { cpus: 1e300, memoryMb: 1e300 } }),
        undefined,
        'invalid_schema',
      ],
      [
        '2,000 cpus',
        rogueInfo(rogue, ++rogueSeq, { capacity: { cpus: 2000, memoryMb: 64 } }),
        undefined,
        'invalid_schema',
      ],
      [
        'a start a week ahead',
        rogueInfo(rogue, ++rogueSeq, { startedAt: Date.now() + weekMs }),
        undefined,
        'time_in_future',
      ],
      [
        'a suspicion of the victim at incarnation 1e300',
        rogueInfo(rogue, ++rogueSeq),
        [{ nodeId: agent.peerId, incarnation: 1e300 }],
        'invalid_schema',
      ],
    ]
    const incarnation = (await agent.client.node(agent.peerId)).incarnation
    for (const [what, node, suspects, reason] of bad) {
      const before = await rejectedCount(agent, MEMBERSHIP_TOPIC, reason)
      await rogue.publish(
        MEMBERSHIP_TOPIC,
        fromString(JSON.stringify({ v: 1, type: 'heartbeat', node, suspects: suspects ?? [] })),
      )
      await waitFor(
        `the heartbeat with ${what} to be counted as ${reason}`,
        async () => (await rejectedCount(agent, MEMBERSHIP_TOPIC, reason)) > before,
        5000,
      )
      const res = await fetch(`${agent.client.baseUrl}/v1/nodes`)
      assert.equal(res.status, 200, what)
    }
    const seen = (await agent.nodes()).find(n => n.id === rogue.peerId)
    assert.deepEqual([seen?.capacity, seen?.startedAt], [{ cpus: 1, memoryMb: 64 }, new Date(0).toISOString()])
    assert.equal((await agent.client.node(agent.peerId)).incarnation, incarnation, 'no refutation to 1e300+1')
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

  it("serves a task's output to a member only", async () => {
    const { id } = await agent.client.submitTask({ command: 'echo secret-output' })
    await waitFor('the task to succeed', async () => (await agent.client.task(id)).state === 'succeeded', 10_000)
    const read = async () => {
      const bytes = await rogue.request(
        agent.addr,
        LOGS_PROTOCOL,
        encodeLogRequest({ v: 1, taskId: id, attempt: 1, stream: 'stdout', offset: 0, maxBytes: 1024 }),
        { timeoutMs: 5000, maxResponseBytes: 512 * 1024 },
      )
      const res = decodeLogResponse(bytes)
      assert.ok(res.ok)
      return res.value
    }
    assert.equal(await agent.stateOf(rogue.peerId), 'alive')
    const asMember = await read()
    assert.equal(Buffer.from(asMember.data, 'base64').toString(), 'secret-output\n')
    // Having left, the rogue is no member: it gets nothing, and the refusal is counted.
    clearInterval(heartbeats)
    await rogue.request(
      agent.addr,
      LEAVE_PROTOCOL,
      encodeGossip({ v: 1, type: 'leave', nodeId: rogue.peerId, incarnation: 1, seq: ++rogueSeq }),
      { timeoutMs: 3000, maxResponseBytes: 16 },
    )
    const before = await rejectedCount(agent, LOGS_PROTOCOL, 'not_member')
    const asStranger = await read()
    assert.deepEqual([asStranger.found, asStranger.data], [false, ''])
    assert.equal((await rejectedCount(agent, LOGS_PROTOCOL, 'not_member')) - before, 1)
  })
})
