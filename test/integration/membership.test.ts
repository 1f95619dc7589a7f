// Membership with real meshos processes over loopback TCP: joining, crashes, freezes, graceful
// leaves, bootstrap loss and restarts. Bounds come from the configured timeouts, not from hope.
import assert from 'node:assert/strict'
import { AgentProcess } from '../../harness/agent-process.js'
import { freePort } from '../../harness/free-port.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import { waitConverged, waitForState } from '../helpers/membership.js'
import { DEFAULT_MEMBERSHIP as M } from '../../src/gossip/config.js'

/** Scheduling slack on a loaded 2-core machine: the tick period, one probe period, and a second. */
const SLACK_MS = M.tickIntervalMs + M.probeIntervalMs + 1000
/** Worst case from a crash to `suspect` at its observers: the probe phase, the missed rounds
 * (each a probe period), the last round's direct and indirect timeouts. */
const SUSPECT_BOUND_MS = (M.missedRoundsBeforeSuspect + 1) * M.probeIntervalMs + 2 * M.probeTimeoutMs
/** Then the full suspicion timeout of a small cluster (no confirmations counted). */
const DEAD_BOUND_MS = SUSPECT_BOUND_MS + M.suspicionMult * M.suspicionBaseMs + SLACK_MS
/** libp2p's own connection monitor would notice a frozen peer only after about this long. */
const LIBP2P_MONITOR_MS = 10_000

describe('membership with real processes', function () {
  this.timeout(120_000)
  const dirs = new TempDirs()
  let agents: AgentProcess[] = []

  async function startCluster(n: number): Promise<AgentProcess[]> {
    const first = await AgentProcess.start({ name: 'n1', dataDir: await dirs.make() })
    agents.push(first)
    // Each agent is recorded as soon as it runs, so a failed start never leaks the others.
    await Promise.all(
      Array.from({ length: n - 1 }, async (_, i) => {
        agents.push(
          await AgentProcess.start({ name: `n${i + 2}`, dataDir: await dirs.make(), bootstrap: [first.addr] }),
        )
      }),
    )
    agents.sort((a, b) => a.opts.name.localeCompare(b.opts.name))
    await waitConverged(agents, 10_000)
    return agents
  }

  /** How many times `agent` has seen any member become `state` (from its /metrics). */
  async function transitions(agent: AgentProcess, state: string): Promise<number> {
    const text = await (await fetch(`${agent.client.baseUrl}/metrics`)).text()
    const line = text.split('\n').find(l => l.startsWith(`meshos_member_transitions_total{to="${state}"}`))
    return line == null ? 0 : Number(line.split(' ').pop())
  }

  afterEach(async () => {
    await Promise.all(
      agents.map(async a => {
        a.signal('SIGCONT')
        await a.kill()
      }),
    )
    agents = []
    await dirs.cleanup()
  })

  it('3 nodes join through one bootstrap and converge, with capacity and labels', async () => {
    const [a, b, c] = await startCluster(3)
    for (const observer of [a!, b!, c!]) {
      const nodes = await observer.nodes()
      assert.equal(nodes.length, 3)
      for (const n of nodes) {
        assert.equal(n.state, 'alive')
        assert.ok(n.capacity.cpus > 0 && n.capacity.memoryMb > 0, JSON.stringify(n.capacity))
        assert.ok(
          n.addrs.every(addr => addr.endsWith(`/p2p/${n.id}`)),
          JSON.stringify(n.addrs),
        )
      }
    }
    const one = await b!.client.node(c!.peerId)
    assert.equal(one.name, 'n3')
  })

  it('a node started with --cpus/--memory/--label advertises them to the others', async () => {
    const [a] = await startCluster(1)
    const edge = await AgentProcess.start({
      name: 'edge',
      dataDir: await dirs.make(),
      bootstrap: [a!.addr],
      extraArgs: ['--cpus', '3', '--memory', '777', '--label', 'zone=edge'],
    })
    agents.push(edge)
    const seen = await waitFor('n1 to see edge', async () => (await a!.nodes()).find(n => n.id === edge.peerId), 5000)
    assert.deepEqual(seen.capacity, { cpus: 3, memoryMb: 777 })
    assert.deepEqual(seen.labels, { zone: 'edge' })
  })

  it('SIGKILL one → the others mark it dead within the configured time', async () => {
    const [a, b, c] = await startCluster(3)
    c!.signal('SIGKILL')
    await waitForState([a!, b!], c!.peerId, 'dead', DEAD_BOUND_MS)
    // The survivors still see each other.
    assert.equal(await a!.stateOf(b!.peerId), 'alive')
    assert.equal(await b!.stateOf(a!.peerId), 'alive')
  })

  it('SIGSTOP one → suspect, then dead, by probes (before libp2p notices); SIGCONT → alive', async () => {
    const [a, b, c] = await startCluster(3)
    const suspectsBefore = await Promise.all([a!, b!].map(async o => await transitions(o, 'suspect')))
    c!.signal('SIGSTOP')
    const toDead = await waitForState([a!, b!], c!.peerId, 'dead', DEAD_BOUND_MS)
    assert.ok(
      toDead < LIBP2P_MONITOR_MS,
      `dead after ${toDead} ms: must come from probes, not the ${LIBP2P_MONITOR_MS} ms connection monitor`,
    )
    // Suspicion came first on both observers (the suspect window itself is too short to poll).
    const suspectsAfter = await Promise.all([a!, b!].map(async o => await transitions(o, 'suspect')))
    assert.ok(
      suspectsAfter.every((n, i) => n > suspectsBefore[i]!),
      `suspect transitions ${suspectsBefore} → ${suspectsAfter}`,
    )
    c!.signal('SIGCONT')
    await waitForState([a!, b!], c!.peerId, 'alive', 10_000)
    // The frozen node did not condemn the others for its own pause.
    await waitFor(
      'n3 to see n1 and n2 alive',
      async () => {
        return (await c!.stateOf(a!.peerId)) === 'alive' && (await c!.stateOf(b!.peerId)) === 'alive'
      },
      5000,
    )
  })

  it('SIGTERM one → left promptly (announced, not timed out)', async () => {
    const [a, b, c] = await startCluster(3)
    c!.signal('SIGTERM')
    // `left` is only ever set by the leave announcement, so reaching it proves the announcement
    // arrived; reaching it before a suspicion could even start proves it was prompt.
    await waitForState([a!, b!], c!.peerId, 'left', M.probeIntervalMs)
    assert.equal(await c!.waitExit(), 0)
  })

  it('kill the bootstrap node → the other two keep each other, and a new node joins through either', async () => {
    const [a, b, c] = await startCluster(3)
    a!.signal('SIGKILL')
    await waitForState([b!, c!], a!.peerId, 'dead', DEAD_BOUND_MS)
    assert.equal(await b!.stateOf(c!.peerId), 'alive')
    assert.equal(await c!.stateOf(b!.peerId), 'alive')
    for (const via of [b!, c!]) {
      const fresh = await AgentProcess.start({
        name: `via-${via.opts.name}`,
        dataDir: await dirs.make(),
        bootstrap: [via.addr],
      })
      agents.push(fresh)
      await waitConverged([b!, c!, fresh], 10_000)
    }
  })

  it('a restarted node keeps its peer id and is alive again everywhere', async () => {
    const [a, b, c] = await startCluster(3)
    const oldId = c!.peerId
    const restarted = await c!.restart()
    agents[2] = restarted
    assert.equal(restarted.peerId, oldId)
    await waitConverged([a!, b!, restarted], 10_000)
    const view = await a!.client.node(oldId)
    assert.ok(view.incarnation > 1, `incarnation ${view.incarnation} should have grown on restart`)
  })

  it('the first node (no bootstrap address of its own) restarted → the others find it again', async () => {
    const [a, b, c] = await startCluster(3)
    a!.signal('SIGTERM')
    await waitForState([b!, c!], a!.peerId, 'left', M.probeIntervalMs)
    await a!.waitExit()
    const back = await AgentProcess.start(a!.opts)
    agents[0] = back
    assert.equal(back.peerId, a!.peerId)
    // It has no bootstrap address: it joins through the live members it remembered in its data dir.
    await waitConverged([back, b!, c!], 10_000)
  })

  it('an unreachable bootstrap peer is retried while the API keeps serving; it joins once the peer is up', async () => {
    // Learn a real identity and port, then stop that node so its address is unreachable.
    const targetDir = await dirs.make()
    const p2pPort = await freePort()
    const probe = await AgentProcess.start({ name: 'target', dataDir: targetDir, p2pPort })
    agents.push(probe)
    const targetAddr = probe.addr
    await probe.kill()

    const waiting = await AgentProcess.start({ name: 'waiting', dataDir: await dirs.make(), bootstrap: [targetAddr] })
    agents.push(waiting)
    assert.equal((await waiting.client.health()).status, 'ok')
    assert.deepEqual(
      (await waiting.nodes()).map(n => n.name),
      ['waiting'],
    )

    const target = await AgentProcess.start({ name: 'target', dataDir: targetDir, p2pPort })
    agents.push(target)
    assert.equal(target.peerId, probe.peerId)
    await waitConverged([waiting, target], 20_000)
  })
})
