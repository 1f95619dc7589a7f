// Operating a real cluster by hand: 3 voters and a worker that holds no log (n4), as agent
// processes on loopback. Draining the worker while it runs a long task: nothing new is placed
// there, the task finishes, the node reports drained, and undraining brings placements back; with
// a deadline, the task is stopped on the worker and re-queued elsewhere, where it succeeds without
// spending a retry. The drain survives a leader transfer to a named voter and a restart; a killed
// voter is removed by hand and not taken back. Requests go through nodes that are not the leader,
// so every operation is also forwarded; every wait is a bounded poll.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { AgentProcess, MESHOS_BIN } from '../../harness/agent-process.js'
import { waitFor } from '../../harness/wait-for.js'
import type { EventStreamItem, MeshEvent, NodeView } from '../../src/client/client.js'
import { ElectionCluster, FAILOVER_BOUND_MS, clusterOf, waitAgreement, waitClusterReady } from '../helpers/election.js'
import { api, getTask, logsOf, submit, waitState, waitTerminal } from '../helpers/tasks.js'

/** A task's life, a drain, or a failure detection on a loaded 2-core machine, with margin. */
const BOUND_MS = 30_000

function collect(items: AsyncGenerator<EventStreamItem>): EventStreamItem[] {
  const got: EventStreamItem[] = []
  void (async () => {
    for await (const item of items) got.push(item)
  })().catch(() => {})
  return got
}
const eventsIn = (items: EventStreamItem[]): MeshEvent[] => items.flatMap(i => (i.kind === 'event' ? [i.event] : []))

async function nodeView(via: AgentProcess, id: string): Promise<NodeView> {
  const res = await api<NodeView>(via, 'GET', `/v1/nodes/${id}`)
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body
}

async function waitDrain(via: AgentProcess, id: string, state: 'draining' | 'drained' | null): Promise<NodeView> {
  return await waitFor(
    `${id} to be ${state ?? 'undrained'} as ${via.opts.name} sees it`,
    async () => {
      const v = await nodeView(via, id)
      return (v.drain?.state ?? null) === state ? v : undefined
    },
    BOUND_MS,
    100,
  )
}

function meshos(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MESHOS_BIN, ...args], { encoding: 'utf8', timeout: 30_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('operating a real cluster: drain, leader transfer, voter removal', function () {
  this.timeout(300_000)
  const cluster = new ElectionCluster()
  const stop = new AbortController()
  let n1: AgentProcess, n2: AgentProcess, n3: AgentProcess, n4: AgentProcess
  let drainEvents: EventStreamItem[] = []

  const CLUSTER_ARGS = ['--voters', '3', '--standbys', '0']

  async function start(name: string, labels: string[], bootstrap: string[]): Promise<AgentProcess> {
    const a = await AgentProcess.start({
      name,
      dataDir: await cluster.dirs.make('meshos-operate-'),
      bootstrap,
      extraArgs: [...CLUSTER_ARGS, ...labels.flatMap(l => ['--label', l])],
    })
    cluster.agents.push(a)
    return a
  }

  before(async () => {
    // n2 and n4 share a pool; n4 alone has host=n4. n4 joins once the 3 voters are in place, so
    // it stays a worker that holds no log.
    n1 = await start('n1', [], [])
    ;[n2, n3] = await Promise.all([start('n2', ['pool=x'], [n1.addr]), start('n3', [], [n1.addr])])
    await waitClusterReady([n1, n2, n3], 3)
    n4 = await start('n4', ['pool=x', 'host=n4'], [n1.addr])
    const all = [n1, n2, n3, n4]
    await waitFor(
      'n4 to be a worker that every node sees alive',
      async () => {
        const s = await n4.client.status()
        if (s.role !== 'worker' || s.leader === null) return undefined
        for (const a of all) if ((await a.stateOf(n4.peerId)) !== 'alive') return undefined
        return true
      },
      BOUND_MS,
      100,
    )
    drainEvents = collect(n1.client.events({ topics: ['drain'], signal: stop.signal }))
  })

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.logs())
  })

  after(async () => {
    stop.abort()
    await cluster.cleanup()
  })

  it('drain a worker running a long task: nothing new is placed there, the task finishes, the node reports drained; undrain brings placements back', async () => {
    const { leader } = await waitAgreement([n1, n2, n3], BOUND_MS)
    const follower = [n1, n2, n3].find(a => a !== leader)!
    const long = await submit(follower, { command: 'sleep 4; echo long done', constraints: { host: 'n4' } })
    await waitState(follower, long, ['running'], BOUND_MS)

    // Through a follower, by name; forwarded to the leader.
    const drained = await api<NodeView>(follower, 'POST', '/v1/nodes/n4/drain', {})
    assert.equal(drained.status, 202, JSON.stringify(drained.body))
    assert.equal(drained.body.id, n4.peerId)
    assert.equal(drained.body.drain?.state, 'draining')
    assert.equal(drained.body.drain?.deadlineAtMs, null)

    // New work: a task that only n4 could run waits; the others run elsewhere.
    const onlyN4 = await submit(n2, { command: 'echo back on n4', constraints: { host: 'n4' } })
    const others = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => await submit(n1, { command: `echo other ${i}` })),
    )
    for (const id of others) {
      const t = await waitTerminal(n1, id, BOUND_MS)
      assert.equal(t.state, 'succeeded', JSON.stringify(t))
      assert.notEqual(t.node, n4.peerId, `${id} was placed on the draining node`)
    }
    const waiting = await getTask(n1, onlyN4)
    assert.equal(waiting?.state, 'pending')
    assert.match(waiting?.placement ?? '', /draining/)

    // The long task finishes where it is, on its first attempt; then n4 is drained, on every node.
    const done = await waitTerminal(n1, long, BOUND_MS)
    assert.equal(done.state, 'succeeded')
    assert.equal(done.node, n4.peerId)
    assert.equal(done.attempt, 1)
    assert.equal((await logsOf(n1, long)).trim(), 'long done')
    for (const a of [n1, n2, n3, n4]) {
      const v = await waitDrain(a, n4.peerId, 'drained')
      assert.equal(v.running, 0)
    }
    assert.equal((await getTask(n1, onlyN4))?.state, 'pending', 'still nothing placed on the drained node')

    const undrained = await api<NodeView>(n2, 'POST', `/v1/nodes/${n4.peerId}/undrain`)
    assert.equal(undrained.status, 200, JSON.stringify(undrained.body))
    assert.equal(undrained.body.drain, null)
    const back = await waitTerminal(n1, onlyN4, BOUND_MS)
    assert.equal(back.state, 'succeeded')
    assert.equal(back.node, n4.peerId)

    const seen = await waitFor(
      'started, progress, drained and undrained events of n4',
      async () => {
        const types = eventsIn(drainEvents)
          .filter(e => e.topic === 'drain' && e.data.nodeId === n4.peerId)
          .map(e => e.type)
        return types.includes('undrained') ? types : undefined
      },
      BOUND_MS,
      100,
    )
    // One progress: the long task left n4 (its assignment and start keep it there).
    assert.deepEqual(seen, ['started', 'progress', 'drained', 'undrained'])
  })

  it('drain with a deadline: the task is stopped on the worker at the deadline, re-queued, and succeeds elsewhere without spending a retry', async () => {
    // n2 is the only other node of the pool: drained first, so the task lands on n4.
    await api(n1, 'POST', '/v1/nodes/n2/drain')
    await waitDrain(n1, n2.peerId, 'drained')
    const ticks = 'i=0; while [ $i -lt 80 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done'
    const id = await submit(n3, { command: ticks, constraints: { pool: 'x' }, retries: 0 })
    const running = await waitState(n3, id, ['running'], BOUND_MS)
    assert.equal(running.node, n4.peerId)
    assert.equal((await api(n1, 'POST', '/v1/nodes/n2/undrain')).status, 200)

    const drained = await api<NodeView>(n2, 'POST', '/v1/nodes/n4/drain', { deadlineSeconds: 1 })
    assert.equal(drained.status, 202, JSON.stringify(drained.body))
    const deadlineAtMs = drained.body.drain?.deadlineAtMs
    assert.ok(typeof deadlineAtMs === 'number' && deadlineAtMs > Date.now() - 5000, JSON.stringify(drained.body))

    const moved = await waitFor(
      `${id} to run its second attempt`,
      async () => {
        const t = await getTask(n1, id)
        return t !== undefined && t.attempt === 2 ? t : undefined
      },
      BOUND_MS,
      100,
    )
    assert.equal(moved.attempts[0]?.node, n4.peerId)
    assert.equal(moved.attempts[0]?.outcome, 'drained')
    assert.ok(moved.attempts[0]!.finishedAt >= deadlineAtMs, 'not before the deadline')

    // The first attempt's process stopped on n4: its output no longer grows.
    const firstOutput = async (): Promise<string> => {
      const res = await api(n4, 'GET', `/v1/tasks/${id}/logs?attempt=1`)
      assert.equal(res.status, 200)
      return String(res.body)
    }
    const stopped = await waitFor(
      'the first attempt to stop writing',
      async () => {
        const before = await firstOutput()
        await new Promise(resolve => setTimeout(resolve, 1000))
        return (await firstOutput()) === before ? before : undefined
      },
      BOUND_MS,
    )
    assert.ok(!stopped.includes('tick 79'), 'the first attempt was stopped, not left to finish')

    const done = await waitTerminal(n1, id, BOUND_MS * 2)
    assert.equal(done.state, 'succeeded', JSON.stringify(done))
    assert.equal(done.node, n2.peerId)
    assert.equal(done.attempt, 2)
    assert.equal(done.spec.retries, 0, 'it had no retry to spend')
    assert.match(await logsOf(n1, id), /tick 79/)
    await waitDrain(n1, n4.peerId, 'drained')
    assert.equal((await api(n1, 'POST', '/v1/nodes/n4/undrain')).status, 200)
  })

  it('`meshos drain` and `meshos nodes`; the drain survives a leader transfer to a named voter and a restart of the node', async () => {
    const drain = meshos(['drain', 'n4', '--deadline', '5m', '--addr', n3.client.baseUrl])
    assert.equal(drain.status, 0, drain.stderr)
    assert.match(drain.stdout, /^(draining n4 \(.+\): no new tasks; 0 tasks still there|n4 \(.+\) is drained)/)
    await waitDrain(n1, n4.peerId, 'drained')
    const nodes = meshos(['nodes', '--addr', n1.client.baseUrl])
    assert.equal(nodes.status, 0, nodes.stderr)
    assert.match(nodes.stdout, /\nn4 +\S+ +alive \(drained\)/)
    assert.doesNotMatch(nodes.stdout, /\nn1 +\S+ +alive \(/)

    const voters = [n1, n2, n3]
    const before = await waitAgreement(voters, BOUND_MS)
    const target = voters.find(a => a !== before.leader)!
    // Asked through the worker, which holds no log: forwarded to the leader.
    const moved = await api(n4, 'POST', '/v1/cluster/leader/transfer', { to: target.opts.name })
    assert.equal(moved.status, 200, JSON.stringify(moved.body))
    assert.equal(moved.body.leader, target.peerId)
    assert.equal(moved.body.previous.leader, before.leader.peerId)
    assert.ok(moved.body.term > before.term, JSON.stringify(moved.body))
    const after = await waitAgreement(
      voters,
      FAILOVER_BOUND_MS,
      `${target.opts.name} as leader`,
      a => a.leader === target,
    )
    assert.equal(after.term, moved.body.term)

    // The drain is in the log: the new leader and every node still show it.
    for (const a of [n1, n2, n3, n4]) assert.equal((await nodeView(a, n4.peerId)).drain?.state, 'drained', a.opts.name)

    // Transfers that cannot be: to the worker, to nobody known, and a malformed one.
    const toWorker = await api(n1, 'POST', '/v1/cluster/leader/transfer', { to: 'n4' })
    assert.deepEqual([toWorker.status, toWorker.body.error?.code], [409, 'not_voter'], JSON.stringify(toWorker.body))
    const toNobody = await api(n2, 'POST', '/v1/cluster/leader/transfer', { to: 'n9' })
    assert.deepEqual([toNobody.status, toNobody.body.error?.code], [404, 'node_not_found'])
    const drainNobody = await api(n2, 'POST', '/v1/nodes/n9/drain', {})
    assert.deepEqual([drainNobody.status, drainNobody.body.error?.code], [404, 'node_not_found'])
    const badDeadline = await api(n2, 'POST', '/v1/nodes/n4/drain', { deadlineSeconds: -5 })
    assert.deepEqual([badDeadline.status, badDeadline.body.error?.code], [400, 'invalid_request'])
    assert.match(badDeadline.body.error?.message, /^body\.deadlineSeconds: /)

    // A restart of the drained node: it comes back drained, and nothing is placed on it.
    n4 = await cluster.restart(n4)
    await waitFor('n4 back and alive', async () => (await n1.stateOf(n4.peerId)) === 'alive', BOUND_MS, 100)
    assert.equal((await nodeView(n1, n4.peerId)).drain?.state, 'drained')
    // The worker reads it from the leader, once it has found the leader again.
    await waitDrain(n4, n4.peerId, 'drained')
    const waits = await submit(n1, { command: 'true', constraints: { host: 'n4' } })
    const explained = await waitFor(
      `${waits} to be explained as waiting for the drained node`,
      async () => {
        const t = await getTask(n1, waits)
        return t?.state === 'pending' && /draining/.test(t.placement ?? '') ? t : undefined
      },
      BOUND_MS,
      100,
    )
    assert.equal(explained.node, null)
    const undrain = meshos(['undrain', 'n4', '--addr', n2.client.baseUrl])
    assert.equal(undrain.status, 0, undrain.stderr)
    assert.match(undrain.stdout, /^n4 \(.+\) takes tasks again/)
    assert.equal((await waitTerminal(n1, waits, BOUND_MS)).state, 'succeeded')
  })

  it('voters remove: a killed voter is removed through the worker and not taken back; the leader and unknown nodes are refused', async () => {
    const voters = [n1, n2, n3]
    // The victim is n1, the node everyone else bootstrapped from: the worker that replaces it as
    // a voter must find the leader without it.
    let { leader } = await waitAgreement(voters, BOUND_MS)
    if (leader === n1) {
      assert.equal((await api(n2, 'POST', '/v1/cluster/leader/transfer', { to: 'n2' })).status, 200)
      leader = (await waitAgreement(voters, FAILOVER_BOUND_MS, 'n2 as leader', a => a.leader === n2)).leader
    }
    const victim = n1
    const survivor = voters.find(a => a !== leader && a !== victim)!
    const removedEvents = collect(survivor.client.events({ topics: ['voters'], signal: stop.signal }))

    const refusedLeader = await api(survivor, 'DELETE', `/v1/cluster/voters/${leader.opts.name}`)
    assert.deepEqual([refusedLeader.status, refusedLeader.body.error?.code], [409, 'is_leader'])
    const refusedWorker = await api(survivor, 'DELETE', '/v1/cluster/voters/n4')
    assert.deepEqual([refusedWorker.status, refusedWorker.body.error?.code], [409, 'not_voter'])
    const refusedUnknown = await api(survivor, 'DELETE', '/v1/cluster/voters/n9')
    assert.deepEqual([refusedUnknown.status, refusedUnknown.body.error?.code], [404, 'node_not_found'])

    await victim.kill()
    // At once, while the membership may still count it alive: the autopilot must not take it back.
    const removed = meshos(['voters', 'remove', victim.opts.name, '--addr', n4.client.baseUrl])
    assert.equal(removed.status, 0, removed.stderr)
    assert.match(removed.stdout, new RegExp(`^removed ${victim.opts.name} from the voters; 2 voters now`))

    // The autopilot brings the voters back to 3 with the worker, never with the removed node.
    const live = [leader, survivor, n4]
    const configs: string[][] = []
    await waitFor(
      'n4 to become the third voter',
      async () => {
        const c = await clusterOf(leader)
        configs.push([...c.voters.map(v => v.id), ...c.learners.map(l => l.id)])
        const ids = c.voters.map(v => v.id).sort()
        return (
          ids.length === 3 &&
          ids.join() ===
            live
              .map(a => a.peerId)
              .sort()
              .join()
        )
      },
      BOUND_MS,
      200,
    )
    assert.ok(
      configs.every(ids => !ids.includes(victim.peerId)),
      'the removed node is never in the configuration again',
    )
    await waitFor(
      'the voter_removed event',
      async () =>
        eventsIn(removedEvents).find(
          e => e.topic === 'voters' && e.type === 'voter_removed' && e.data.nodeId === victim.peerId,
        ),
      BOUND_MS,
      100,
    )
  })
})
