// Leader election and the replicated KV with real meshos processes over loopback TCP: one leader,
// failover after SIGKILL, rejoin after restart, quorum loss (503 no_leader), durability across a
// whole-cluster crash, forwarding and validation. Everything is observed through the HTTP API;
// every wait is a bounded poll derived from the configured Raft timing.
import assert from 'node:assert/strict'
import { waitFor } from '../../harness/wait-for.js'
import {
  ElectionCluster,
  FAILOVER_BOUND_MS,
  WRITE_TIMEOUT_MS,
  clusterOf,
  getKey,
  listKv,
  put,
  putUntilCommitted,
  statusOf,
  statuses,
  describeStatuses,
  waitAgreement,
  waitClusterReady,
  waitReadable,
  waitSameKv,
} from '../helpers/election.js'

/** Followers apply a committed entry on the next heartbeat; generous for a loaded machine. */
const REPLICATION_BOUND_MS = 5000
/** A restarted node: membership finds it again (the others redial departed members every 5 s),
 * then the leader catches it up. */
const REJOIN_BOUND_MS = 20_000
/** After quorum is lost, one write may wait out the node's write timeout on the leader that
 * cannot commit, the next one waits it out finding no leader and answers 503; plus a failover
 * bound for the check-quorum step-down. */
const NO_LEADER_BOUND_MS = 2 * WRITE_TIMEOUT_MS + FAILOVER_BOUND_MS

describe('leader election with real processes', function () {
  this.timeout(120_000)
  let cluster = new ElectionCluster()

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.logs())
    await cluster.cleanup()
    cluster = new ElectionCluster()
  })

  it('3 nodes elect exactly one leader; all agree on it and on the term; /v1/cluster lists 3 voters', async () => {
    const agents = await cluster.start(3)
    const ready = await waitClusterReady(agents, 3)
    const ss = await statuses(agents)
    assert.equal(ss.filter(s => s.role === 'leader').length, 1, describeStatuses(ss))
    assert.ok(
      ss.every(s => s.role === 'leader' || s.role === 'follower'),
      describeStatuses(ss),
    )
    assert.ok(
      ss.every(s => s.leader === ready.leader.peerId && s.term === ready.term),
      describeStatuses(ss),
    )
    assert.ok(ready.term >= 1)

    // Every node's /v1/cluster shows the same three voters and leader.
    const ids = agents.map(a => a.peerId).sort()
    for (const a of agents) {
      const c = await clusterOf(a)
      assert.equal(c.leader, ready.leader.peerId, `${a.opts.name}: ${JSON.stringify(c)}`)
      assert.deepEqual(c.voters.map(v => v.id).sort(), ids, `${a.opts.name}: ${JSON.stringify(c)}`)
      assert.deepEqual(c.voters.map(v => v.name).sort(), ['n1', 'n2', 'n3'])
      assert.deepEqual(c.learners, [], `${a.opts.name}: ${JSON.stringify(c)}`)
      assert.ok(c.commitIndex >= 1, `${a.opts.name}: commitIndex ${c.commitIndex}`)
    }
    // The leader tracks its followers: recent contact and a match index.
    const lc = await clusterOf(ready.leader)
    for (const v of lc.voters.filter(v => v.id !== ready.leader.peerId)) {
      assert.equal(typeof v.matchIndex, 'number', JSON.stringify(v))
      assert.equal(typeof v.lastContactMs, 'number', JSON.stringify(v))
      assert.ok(v.lastContactMs! < 2000, `leader last heard from ${v.name} ${v.lastContactMs} ms ago`)
    }
  })

  it('SIGKILL the leader → a new leader among the survivors commits a write; the old leader restarts as a follower with the data', async () => {
    const agents = await cluster.start(3)
    const before = await waitClusterReady(agents, 3)
    const old = before.leader
    const survivors = agents.filter(a => a !== old)

    old.signal('SIGKILL')
    await old.waitExit()
    const after = await waitAgreement(
      survivors,
      FAILOVER_BOUND_MS,
      'a new leader after SIGKILL of the old one',
      a => a.leader.peerId !== old.peerId && a.term > before.term,
    )
    assert.notEqual(after.leader.peerId, old.peerId)
    assert.ok(after.term > before.term, `term ${before.term} → ${after.term}`)

    // Write through the surviving follower, so the write is also forwarded.
    const via = survivors.find(a => a !== after.leader) ?? survivors[0]!
    const w = await putUntilCommitted(via, 'after-failover', 'v1', FAILOVER_BOUND_MS + WRITE_TIMEOUT_MS)
    assert.equal(w.key, 'after-failover')
    assert.equal(w.value, 'v1')
    assert.ok(w.term >= after.term, `write committed in term ${w.term}, leader elected in ${after.term}`)
    await waitReadable(survivors, 'after-failover', 'v1', REPLICATION_BOUND_MS)

    // The old leader comes back with the same data dir and identity.
    const back = await cluster.restart(old)
    assert.equal(back.peerId, old.peerId)
    const all = [...survivors, back]
    const rejoined = await waitAgreement(
      all,
      REJOIN_BOUND_MS,
      'one leader with the old leader back as follower',
      async a => {
        return a.leader.peerId !== back.peerId && (await statusOf(back)).role === 'follower'
      },
    )
    // Pre-vote: a node coming back must not depose the healthy leader.
    assert.equal(
      rejoined.leader.peerId,
      after.leader.peerId,
      `leader changed when the old leader rejoined: ${describeStatuses(rejoined.statuses)}`,
    )
    assert.equal(rejoined.term, after.term)
    await waitReadable([back], 'after-failover', 'v1', REPLICATION_BOUND_MS)
    const c = await clusterOf(rejoined.leader)
    assert.ok(
      c.voters.some(v => v.id === back.peerId),
      `the old leader is a voter again: ${JSON.stringify(c)}`,
    )
  })

  it('SIGTERM the leader → it hands leadership to a caught-up voter before it leaves; writes go on', async () => {
    // Info level: the hand-over is observed in the old leader's log.
    const agents = await cluster.start(3, ['--log-level', 'info'])
    const before = await waitClusterReady(agents, 3)
    const old = before.leader
    const survivors = agents.filter(a => a !== old)
    await putUntilCommitted(survivors[0]!, 'before-handover', 'v0', WRITE_TIMEOUT_MS)

    old.signal('SIGTERM')
    assert.equal(await old.waitExit(), 0)
    const handover = /"peer":"([^"]+)"[^\n]*handing leadership over before stopping/.exec(old.logs)
    assert.ok(handover !== null, `no hand-over in the old leader's log:\n${old.logs.slice(-3000)}`)
    const after = await waitAgreement(
      survivors,
      FAILOVER_BOUND_MS,
      'a new leader after SIGTERM of the old one',
      a => a.leader.peerId !== old.peerId && a.term > before.term,
    )
    assert.equal(after.leader.peerId, handover[1], 'the named successor leads')
    const w = await putUntilCommitted(
      survivors.find(a => a !== after.leader)!,
      'after-handover',
      'v1',
      FAILOVER_BOUND_MS + WRITE_TIMEOUT_MS,
    )
    assert.equal(w.value, 'v1')
    await waitReadable(survivors, 'before-handover', 'v0', REPLICATION_BOUND_MS)
  })

  it('5 voters: 2 killed (the leader among them) → writes still commit; a 3rd killed → 503 no_leader naming reachable voters', async () => {
    const agents = await cluster.start(5, ['--voters', '5'])
    const ready = await waitClusterReady(agents, 5)
    const follower = agents.find(a => a !== ready.leader)!
    const killed = [ready.leader, follower]
    for (const a of killed) a.signal('SIGKILL')
    await Promise.all(killed.map(async a => await a.waitExit()))
    const three = agents.filter(a => !killed.includes(a))

    const elected = await waitAgreement(
      three,
      FAILOVER_BOUND_MS,
      'a new leader among 3 of 5 voters',
      a => a.term > ready.term && !killed.some(k => k.peerId === a.leader.peerId),
    )
    const w = await putUntilCommitted(
      three.find(a => a !== elected.leader)!,
      'three-of-five',
      'yes',
      FAILOVER_BOUND_MS + WRITE_TIMEOUT_MS,
    )
    assert.equal(w.value, 'yes')
    await waitReadable(three, 'three-of-five', 'yes', REPLICATION_BOUND_MS)

    // Kill a follower: the leader is left with 2 of 5 and must step down (check-quorum).
    const third = three.find(a => a !== elected.leader)!
    third.signal('SIGKILL')
    await third.waitExit()
    const two = three.filter(a => a !== third)
    // A write may first wait out the write timeout (the leader still leads and cannot commit:
    // 503 outcome_unknown), then the survivors must answer 503 no_leader, and once membership has
    // noticed the dead, say so: at most 2 of the 5 voters reachable.
    /** Keys whose write was answered no_leader: those must never be applied, even later. */
    const refusedKeys: string[] = []
    await Promise.all(
      two.map(async a => {
        const attempts: string[] = []
        const refused = await waitFor(
          `${a.opts.name} to refuse a write with 503 no_leader, at most 2 of 5 voters reachable`,
          async () => {
            const key = `lost-quorum-${a.opts.name}-${attempts.length}`
            const r = await put(a, key, 'no')
            if (r.ok) return r
            if (r.code === 'no_leader') refusedKeys.push(key)
            attempts.push(`${r.status} ${r.code} after ${r.ms} ms: ${r.message}`)
            const m = /(\d+) of (\d+) voters? reachable/.exec(r.message)
            return r.status === 503 && r.code === 'no_leader' && m != null && Number(m[1]) <= 2 && Number(m[2]) === 5
              ? r
              : undefined
          },
          NO_LEADER_BOUND_MS,
          100,
        ).catch((err: Error) => {
          throw new Error(`${err.message}; attempts: ${attempts.join(' | ')}`)
        })
        assert.ok(
          !refused.ok,
          `a write committed through ${a.opts.name} with 2 of 5 voters alive: ${JSON.stringify(refused)}`,
        )
        console.log(`      ${a.opts.name}: ${attempts.join(' | ')}`)
      }),
    )
    // And nobody still claims to lead.
    await waitFor(
      'no survivor to report role leader',
      async () => {
        const ss = await statuses(two)
        return ss.every(s => s.role !== 'leader') ? true : undefined
      },
      FAILOVER_BOUND_MS,
    )
    // Bring the dead back: a quorum returns, and a write answered no_leader must still not appear
    // (it was never accepted; a forwarded write whose answer was lost says outcome_unknown).
    const back = await Promise.all([...killed, third].map(async a => await cluster.restart(a)))
    await waitAgreement([...two, ...back], FAILOVER_BOUND_MS + 10_000, 'a leader after the restarts', () => true)
    await putUntilCommitted(two[0]!, 'after-restart', 'yes', FAILOVER_BOUND_MS + WRITE_TIMEOUT_MS)
    await waitReadable([...two, ...back], 'after-restart', 'yes', REPLICATION_BOUND_MS)
    assert.ok(refusedKeys.length > 0)
    for (const a of [...two, ...back]) {
      for (const key of refusedKeys)
        assert.equal(await getKey(a, key), undefined, `${key} was answered no_leader but applied on ${a.opts.name}`)
    }
  })

  it('durability: 20 acknowledged writes survive SIGKILL of every node and a full restart', async () => {
    const agents = await cluster.start(3)
    await waitClusterReady(agents, 3)
    const expected: Record<string, string> = {}
    for (let i = 0; i < 20; i++) {
      const key = `durable-${i}`
      const value = `value-${i}-${'x'.repeat(i)}`
      const r = await put(agents[i % 3]!, key, value)
      assert.ok(r.ok, `PUT ${key} through ${agents[i % 3]!.opts.name}: ${JSON.stringify(r)}`)
      expected[key] = value
    }
    await Promise.all(
      agents.map(async a => {
        await a.kill()
      }),
    )
    const back = await Promise.all(agents.map(async a => await cluster.restart(a)))
    await waitClusterReady(back, 3)
    const items = await waitSameKv(back, REJOIN_BOUND_MS, it => Object.keys(it).length >= 20)
    assert.deepEqual(items, expected)
    for (const a of back) {
      for (const [k, v] of Object.entries(expected)) assert.equal(await getKey(a, k), v, `${k} on ${a.opts.name}`)
    }
  })

  it("a write through a follower is forwarded to the leader's log; a bad body is a 400 naming the field", async () => {
    const agents = await cluster.start(3)
    const ready = await waitClusterReady(agents, 3)
    const [f1, f2] = agents.filter(a => a !== ready.leader)
    const leader = ready.leader

    const r1 = await put(f1!, 'fwd-1', 'through-follower')
    assert.ok(r1.ok, JSON.stringify(r1))
    const leaderStatus = await statusOf(leader)
    assert.equal(r1.term, leaderStatus.term, `forwarded write term ${r1.term}, leader's term ${leaderStatus.term}`)
    assert.equal(leaderStatus.role, 'leader')
    const lc = await clusterOf(leader)
    assert.ok(lc.commitIndex >= r1.index, `leader commitIndex ${lc.commitIndex} < forwarded write index ${r1.index}`)
    // Writes through the leader and the other follower land after it in the same log.
    const r2 = await put(leader, 'fwd-2', 'through-leader')
    assert.ok(r2.ok, JSON.stringify(r2))
    const r3 = await put(f2!, 'fwd-3', 'through-other-follower')
    assert.ok(r3.ok, JSON.stringify(r3))
    assert.ok(r1.index < r2.index && r2.index < r3.index, `indexes ${r1.index}, ${r2.index}, ${r3.index}`)
    assert.ok(r2.term === r1.term && r3.term === r1.term, `terms ${r1.term}, ${r2.term}, ${r3.term}`)
    await waitSameKv(agents, REPLICATION_BOUND_MS, it => Object.keys(it).length === 3)
    assert.deepEqual(await listKv(f1!), {
      'fwd-1': 'through-follower',
      'fwd-2': 'through-leader',
      'fwd-3': 'through-other-follower',
    })

    // Delete through a follower: gone everywhere.
    await f2!.client.request('DELETE', '/v1/kv/fwd-2')
    await waitFor(
      'fwd-2 deleted everywhere',
      async () => {
        const seen = await Promise.all(agents.map(async a => await getKey(a, 'fwd-2')))
        return seen.every(v => v === undefined)
      },
      REPLICATION_BOUND_MS,
    )

    // Validation happens on the node that got the request, with the usual error shape.
    for (const [target, body] of [
      [f1!, {}],
      [f1!, { value: 42 }],
      [leader, { value: null }],
      [leader, { value: ['a'] }],
    ] as const) {
      const res = await fetch(`${target.client.baseUrl}/v1/kv/bad`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      const text = await res.text()
      assert.equal(res.status, 400, `PUT ${JSON.stringify(body)} → ${res.status} ${text}`)
      const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }
      assert.equal(typeof parsed.error?.code, 'string', text)
      assert.equal(typeof parsed.error?.message, 'string', text)
      assert.match(parsed.error!.message as string, /value/, `the message should name the field: ${text}`)
    }
    for (const a of agents) assert.equal(await getKey(a, 'bad'), undefined)
  })
})
