// A fleet at the size CI affords: 12 real agents on loopback with --voters 3 --standbys 1, so 8 of
// them are workers that hold no Raft log and get their work over the assignment stream. The same
// scenarios as the fleet benchmark (bench/fleet/), judged functionally: everyone sees everyone,
// nobody is condemned while idle, tasks through a worker all succeed on many nodes, killed nodes
// are declared dead and their tasks rerun with nothing acknowledged lost, a frozen node is
// declared dead and comes back.
import assert from 'node:assert/strict'
import { Fleet, expectedRoles, type FleetRole } from '../../harness/fleet.js'
import type { AgentProcess } from '../../harness/agent-process.js'
import { freezeAndThaw, killWhileRunning, spreadTasks } from '../../harness/fleet-scenarios.js'
import { waitFor } from '../../harness/wait-for.js'
import { DEFAULT_MEMBERSHIP as M } from '../../src/gossip/config.js'

const SIZE = 12
const VOTERS = 3
const STANDBYS = 1
/** Idle long enough for every node to probe each of its subjects several times over. */
const IDLE_MS = 10 * M.probeIntervalMs
/** Bounds that only keep a failure from hanging, on a loaded 2-core CI machine. */
const CONVERGE_BOUND_MS = 90_000
const DEAD_BOUND_MS = 30_000
const TASKS_BOUND_MS = 120_000

describe(`a fleet of ${SIZE} agents, most of them workers without the Raft log`, function () {
  this.timeout(600_000)
  const fleet = new Fleet({ size: SIZE, voters: VOTERS, standbys: STANDBYS })
  let roles = new Map<AgentProcess, FleetRole>()
  const withRole = (role: FleetRole): AgentProcess[] => fleet.agents.filter(a => roles.get(a) === role)

  before(async () => {
    await fleet.start()
  })

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(fleet.logs())
  })

  after(async () => {
    await fleet.cleanup()
  })

  it('every node sees every other alive, and the roles settle: 3 voters, 1 standby, 8 workers', async () => {
    await fleet.waitAllIn(fleet.agents, fleet.agents, 'alive', 0, CONVERGE_BOUND_MS)
    roles = await waitFor('the roles to settle', async () => (await fleet.settledRoles()) ?? undefined, 60_000, 250)
    assert.deepEqual(
      { voter: withRole('voter').length, standby: withRole('standby').length, worker: withRole('worker').length },
      expectedRoles(SIZE, VOTERS, STANDBYS),
    )
    // What the logs said, the API says too: on every node, all 12 alive.
    for (const a of fleet.agents) {
      const nodes = await a.nodes()
      assert.equal(nodes.filter(n => n.state === 'alive').length, SIZE, `${a.opts.name}: ${JSON.stringify(nodes)}`)
    }
  })

  it('no node suspects another while the fleet idles', async () => {
    const from = Date.now()
    await new Promise(resolve => setTimeout(resolve, IDLE_MS))
    const transitions = fleet.failureTransitions(from, Date.now())
    assert.deepEqual(
      transitions.map(t => fleet.describe(t)),
      [],
    )
  })

  it('300 tasks through a worker all succeed, spread over the nodes', async () => {
    const via = withRole('worker')[0]!
    const run = await spreadTasks(via, 300, { batch: 100, timeoutMs: TASKS_BOUND_MS })
    const failed = run.ids.map(id => run.tasks.get(id)!).filter(t => t.state !== 'succeeded')
    assert.deepEqual(failed, [])
    // Workers hold no log: that they ran tasks shows the assignment stream at work.
    for (const a of fleet.agents)
      assert.ok((run.perNode.get(a.peerId) ?? 0) > 0, `${a.opts.name} (${roles.get(a)}) ran none: ${[...run.perNode]}`)
  })

  it('SIGKILL 2 workers, then the leader, while tasks run → dead everywhere, tasks rerun, none lost', async () => {
    const workers = withRole('worker')
    const via = workers[0]!
    const run = await killWhileRunning(fleet, {
      via,
      workers: workers.slice(1, 3),
      killLeader: true,
      preload: 2 * SIZE,
      deadTimeoutMs: DEAD_BOUND_MS,
      finishTimeoutMs: TASKS_BOUND_MS,
    })
    assert.equal(run.victims.length, 3)
    assert.ok(run.newLeaderMs !== null)
    assert.deepEqual(run.check.problems, [])
    assert.equal(run.check.succeeded, run.submitted)
    // Each victim had a task running when it died (the scenario waits for that): each lost one.
    assert.deepEqual(
      new Set(run.victims.map(v => v.peerId)),
      run.check.victimsWithRerun,
      `victims whose tasks reran: ${[...run.check.victimsWithRerun]}`,
    )
  })

  it('SIGSTOP a worker → dead everywhere; SIGCONT → alive everywhere, and it runs tasks again', async () => {
    const [via, worker] = fleet.running().filter(a => roles.get(a) === 'worker')
    const run = await freezeAndThaw(fleet, worker!, { deadTimeoutMs: DEAD_BOUND_MS, aliveTimeoutMs: DEAD_BOUND_MS })
    assert.deepEqual(
      run.collateral.map(t => fleet.describe(t)),
      [],
    )
    // Declared dead, it was dropped from the leader's assignment feed: back, it must be fed again.
    const again = await spreadTasks(via!, 4 * fleet.running().length, { batch: 100, timeoutMs: TASKS_BOUND_MS })
    assert.deepEqual(
      again.ids.map(id => again.tasks.get(id)!).filter(t => t.state !== 'succeeded'),
      [],
    )
    assert.ok((again.perNode.get(worker!.peerId) ?? 0) > 0, `the thawed worker ran none: ${[...again.perNode]}`)
  })
})
