// A node fed malformed, oversized and forged wire messages by a real libp2p peer drops and
// counts them, stays healthy, and believes none of them. Each peer that sends invalid gossip is a
// fresh identity: gossipsub scoring cuts such a peer off, which one test checks on purpose.
import assert from 'node:assert/strict'
import { fromString } from 'uint8arrays'
import { MEMBERSHIP_PROTOCOL, MEMBERSHIP_TOPIC } from '../../src/gossip/membership.js'
import { encodeDirect, encodeEvent } from '../../src/gossip/wire.js'
import { MEMBERSHIP_LIMITS } from '../../src/gossip/config.js'
import { RPC_PROTOCOL, decodeRpcFrame, encodeRpcFrame, type RpcFrame } from '../../src/cluster/write-rpc.js'
import { LOGS_PROTOCOL, decodeLogResponse, encodeLogRequest } from '../../src/tasks/log-rpc.js'
import { AgentProcess } from '../../harness/agent-process.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import { RogueMember } from '../helpers/rogue-member.js'
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

/** A rogue subscribed to membership gossip and in the victim's gossip mesh view. */
async function gossiping(agent: AgentProcess): Promise<RogueMember> {
  const peer = await RogueMember.create()
  peer.host.subscribe(
    MEMBERSHIP_TOPIC,
    () => 'accept',
    () => {},
  )
  await peer.host.dial([agent.addr], 5000)
  await waitFor(
    'the victim to be subscribed as seen by the peer',
    async () => peer.host.topicPeers(MEMBERSHIP_TOPIC).includes(agent.peerId),
    10_000,
  )
  return peer
}

describe('wire robustness against a misbehaving peer', function () {
  this.timeout(60_000)
  const dirs = new TempDirs()
  let agent: AgentProcess
  /** The key holder the rpc and log tests use: it joins and leaves as a member would. */
  let rogue: RogueMember
  /** Sends a forwarded write on the rogue's rpc channel and waits for its answer (set by the rpc test). */
  let rpcAsk: ((id: string, command: unknown) => Promise<RpcFrame>) | undefined
  /** Every other peer a test made, stopped at the end. */
  const extras: RogueMember[] = []

  before(async () => {
    agent = await AgentProcess.start({ name: 'victim', dataDir: await dirs.make() })
    rogue = await RogueMember.create()
  })

  after(async () => {
    for (const p of extras) await p.stop()
    await rogue?.stop()
    await agent?.kill()
    await dirs.cleanup()
  })

  it('drops and counts bad gossip, never believes a record or an accusation on behalf of another node, and cuts the sender', async () => {
    const gossiper = await gossiping(agent)
    extras.push(gossiper)
    const other = await RogueMember.create()
    extras.push(other)
    // A record of another node, signed by the gossiper: the signature does not match its subject.
    const forged = other.record({ name: 'forged' })
    const stolen = { ...forged, signature: gossiper.record().signature }
    const bad = [
      fromString('not json at all'),
      fromString(JSON.stringify({ v: 99, kind: 'alive' })),
      new Uint8Array(MEMBERSHIP_LIMITS.eventBytes + 1).fill(0x7b),
      encodeEvent({ kind: 'alive', record: stolen }),
      encodeEvent({ kind: 'dead', nodeId: agent.peerId, incarnation: 1, by: other.peerId }),
    ]
    const before = await rejectedCount(agent, MEMBERSHIP_TOPIC)
    const incarnation = (await agent.client.node(agent.peerId)).incarnation
    for (const msg of bad) await gossiper.host.publish(MEMBERSHIP_TOPIC, msg)
    await waitFor(
      'all 5 bad gossip messages to be counted',
      async () => (await rejectedCount(agent, MEMBERSHIP_TOPIC)) - before >= bad.length,
      10_000,
    )
    assert.equal((await agent.client.health()).status, 'ok')
    const names = (await agent.nodes()).map(n => n.name)
    assert.ok(!names.includes('forged'), `forged record was believed: ${names.join(',')}`)
    assert.equal(
      (await agent.client.node(agent.peerId)).incarnation,
      incarnation,
      'no refutation of a forged accusation',
    )
    // Four were invalid (the other wire version is only ignored): enough to be disconnected.
    await waitFor(
      'the victim to cut the sender of invalid gossip',
      async () => (await metricSum(agent, 'meshos_p2p_peers_refused_total', 'reason="gossip_score"')) >= 1,
      5000,
    )
    await waitFor('the sender to lose its connection', async () => gossiper.host.connectedPeers().length === 0, 5000)
  })

  it('refuses malformed, oversized and forged direct membership frames, and stays up', async () => {
    const sender = await RogueMember.create()
    extras.push(sender)
    const other = await RogueMember.create()
    extras.push(other)
    await sender.host.dial([agent.addr], 5000)
    const before = await rejectedCount(agent, MEMBERSHIP_PROTOCOL)
    sender.sendRaw(agent, fromString('{'))
    sender.sendJson(agent, { type: 'probe', seq: -1 })
    // A join that speaks for another node: dropped, whatever its signature.
    sender.sendRaw(agent, encodeDirect({ type: 'syncHello', root: [0, 0], joining: other.snapshot() }))
    await waitFor(
      'the 2 undecodable frames to be counted',
      async () => (await rejectedCount(agent, MEMBERSHIP_PROTOCOL)) - before >= 2,
      5000,
    )
    // Larger than the frame limit: the stream is cut before the body is read.
    sender.sendRaw(agent, new Uint8Array(MEMBERSHIP_LIMITS.frameBytes + 10).fill(0x7b))
    assert.equal((await agent.client.health()).status, 'ok')
    assert.equal(agent.child.exitCode, null)
    assert.equal(await agent.stateOf(other.peerId), undefined, 'a join on behalf of another node is not believed')
  })

  it('takes a join and a direct leave from the node itself, and counts a leave published for another', async () => {
    await rogue.join(agent)
    const before = await rejectedCount(agent, MEMBERSHIP_TOPIC, 'wrong_sender')
    const liar = await gossiping(agent)
    extras.push(liar)
    await liar.host.publish(MEMBERSHIP_TOPIC, encodeEvent({ kind: 'left', nodeId: rogue.peerId, incarnation: 1 }))
    await waitFor(
      'the leave published for another to be counted',
      async () => (await rejectedCount(agent, MEMBERSHIP_TOPIC, 'wrong_sender')) > before,
      5000,
    )
    assert.equal(await agent.stateOf(rogue.peerId), 'alive')
    await rogue.leave(agent)
  })

  it('drops unparseable forwarded-write frames, answers invalid commands with code invalid, and writes nothing', async () => {
    await waitFor(
      'the victim to lead its one-node cluster',
      async () => (await agent.client.status()).role === 'leader',
      10_000,
    )
    const results = new Map<string, RpcFrame>()
    await rogue.host.handleFrames(RPC_PROTOCOL, 1024 * 1024, (_from, bytes) => {
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
        rogue.host.sendFrame(
          agent.peerId,
          RPC_PROTOCOL,
          encodeRpcFrame({ v: 4, type: 'propose', id, command }),
          limits,
        ),
      )
      return await waitFor(`the answer to ${id}`, async () => results.get(id), 10_000)
    }
    const before = await rejectedCount(agent, RPC_PROTOCOL)
    // No id to answer: dropped and counted (the sender's write would time out).
    rogue.host.sendFrame(agent.peerId, RPC_PROTOCOL, fromString('{"v":2,"type":"nonsense"}'), limits)
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
    // Once it is a member again (and stays one, answering probes like a node), the same write commits.
    await rogue.join(agent)
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

  it('drops records with numbers no node could send, counts them, and /v1/nodes keeps answering', async () => {
    const weekMs = 7 * 24 * 3600_000
    const incarnation = (await agent.client.node(agent.peerId)).incarnation
    // Each comes from its own new peer, in a join (the victim applies what passes at once).
    const bad: Array<[string, (p: RogueMember) => object, string]> = [
      ['startedAt 2^53', p => p.snapshot(p.record({ startedAt: 2 ** 53 })), 'invalid_schema'],
      [
        'incarnation 1e300',
        p => ({ ...p.snapshot(), stateIncarnation: 1e300, record: { ...p.record(), incarnation: 1e300 } }),
        'invalid_schema',
      ],
      ['capacity 1e300', p => p.snapshot(p.record({ capacity: { cpus: 1e300, memoryMb: 1e300 } })), 'invalid_schema'],
      ['2,000 cpus', p => p.snapshot(p.record({ capacity: { cpus: 2000, memoryMb: 64 } })), 'invalid_schema'],
      ['a start a week ahead', p => p.snapshot(p.record({ startedAt: Date.now() + weekMs })), 'time_in_future'],
    ]
    for (const [what, joining, reason] of bad) {
      const peer = await RogueMember.create()
      extras.push(peer)
      await peer.host.dial([agent.addr], 5000)
      const before = await rejectedCount(agent, MEMBERSHIP_PROTOCOL, reason)
      peer.sendJson(agent, { type: 'syncHello', root: [0, 0], joining: joining(peer) })
      await waitFor(
        `the join with ${what} to be counted as ${reason}`,
        async () => (await rejectedCount(agent, MEMBERSHIP_PROTOCOL, reason)) > before,
        5000,
      )
      const res = await fetch(`${agent.client.baseUrl}/v1/nodes`)
      assert.equal(res.status, 200, what)
      assert.equal(await agent.stateOf(peer.peerId), undefined, `${what}: not listed`)
    }
    // A suspicion of the victim at incarnation 1e300, by gossip: refused, no refutation to 1e300+1.
    const accuser = await gossiping(agent)
    extras.push(accuser)
    const before = await rejectedCount(agent, MEMBERSHIP_TOPIC, 'invalid_schema')
    await accuser.publishJson({ kind: 'suspect', nodeId: agent.peerId, incarnation: 1e300, by: accuser.peerId })
    await waitFor(
      'the suspicion at 1e300 to be counted',
      async () => (await rejectedCount(agent, MEMBERSHIP_TOPIC, 'invalid_schema')) > before,
      5000,
    )
    assert.equal((await agent.client.node(agent.peerId)).incarnation, incarnation, 'no refutation to 1e300+1')
  })

  it('answers malformed log requests with found: false, counts them, and serves no file outside a task', async () => {
    const before = await rejectedCount(agent, LOGS_PROTOCOL)
    const ask = async (bytes: Uint8Array) => {
      const res = decodeLogResponse(
        await rogue.host.request(agent.addr, LOGS_PROTOCOL, bytes, { timeoutMs: 5000, maxResponseBytes: 512 * 1024 }),
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
      const bytes = await rogue.host.request(
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
    await rogue.leave(agent)
    const before = await rejectedCount(agent, LOGS_PROTOCOL, 'not_member')
    const asStranger = await read()
    assert.deepEqual([asStranger.found, asStranger.data], [false, ''])
    assert.equal((await rejectedCount(agent, LOGS_PROTOCOL, 'not_member')) - before, 1)
  })
})
