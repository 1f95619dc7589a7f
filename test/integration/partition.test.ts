// A network partition that isolates the leader, with real processes on separate network
// namespaces and iptables DROP rules (see test/helpers/netns.ts for the layout and how the test
// reaches each node's HTTP API). The isolated leader must step down (check-quorum) and commit
// nothing; the majority elects a new leader and commits; after healing there is one leader, it is
// still the majority's (pre-vote), and every node holds the same data.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import {
  FAILOVER_BOUND_MS,
  WRITE_TIMEOUT_MS,
  clusterOf,
  describeStatuses,
  getKey,
  put,
  putUntilCommitted,
  statusOf,
  statuses,
  waitAgreement,
  waitClusterReady,
  waitReadable,
  waitSameKv,
  type PutResult,
} from '../helpers/election.js'
import { NetnsAgent, NetnsLab, netnsUnavailable } from '../helpers/netns.js'
import { DEFAULT_ELECTION as E } from '../../src/election/config.js'

/** After healing, DROPped TCP connections resume only at their next retransmission (exponential
 * backoff) or when libp2p redials, so allow several seconds before the isolated node hears again. */
const HEAL_BOUND_MS = 20_000

describe('partition: isolate the leader (network namespaces + iptables)', function () {
  this.timeout(120_000)
  let lab: NetnsLab | undefined
  let agents: NetnsAgent[] = []
  const dirs = new TempDirs()
  let sockDir: string | undefined

  before(async function () {
    const why = netnsUnavailable()
    if (why != null) {
      console.log(`      skipping the partition test: ${why}`)
      this.skip()
    }
    lab = new NetnsLab()
    sockDir = await mkdtemp(path.join(os.tmpdir(), 'msh-sock-'))
    await lab.create(3)
  })

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const a of agents) console.log(`--- ${a.opts.name} in ${a.ns} (${a.peerId}) ---\n${a.logs.slice(-4000)}`)
      if (lab != null)
        for (let i = 1; i <= 3; i++)
          console.log(
            `iptables in ${lab.nsName(i)}:\n${await lab.listRules(lab.nsName(i)).catch((e: Error) => e.message)}`,
          )
    }
    await Promise.all(
      agents.map(async a => {
        await a.stop()
      }),
    )
    agents = []
  })

  after(async () => {
    // Processes first (afterEach already stopped them unless a hook failed), then namespaces,
    // which takes their veths and iptables rules with them.
    await Promise.all(
      agents.map(async a => {
        await a.stop()
      }),
    )
    agents = []
    if (lab != null) {
      const l = lab
      lab = undefined
      await l.destroy()
      assert.deepEqual(await l.leftovers(), [], 'namespaces left behind')
    }
    if (sockDir != null) await rm(sockDir, { recursive: true, force: true })
    await dirs.cleanup()
  })

  it('the isolated leader steps down and commits nothing; the majority elects and commits; after healing one leader and identical data', async () => {
    const l = lab!
    const record = (a: NetnsAgent): void => {
      agents.push(a)
    }
    const first = await NetnsAgent.start(
      { lab: l, index: 1, name: 'n1', dataDir: await dirs.make('meshos-part-'), sockDir: sockDir! },
      record,
    )
    await Promise.all(
      [2, 3].map(
        async i =>
          await NetnsAgent.start(
            {
              lab: l,
              index: i,
              name: `n${i}`,
              dataDir: await dirs.make('meshos-part-'),
              sockDir: sockDir!,
              bootstrap: [first.addr],
            },
            record,
          ),
      ),
    )
    agents.sort((a, b) => a.opts.name.localeCompare(b.opts.name))
    assert.ok(first.addr.includes('/ip4/10.77.0.1/tcp/7000/'), first.addr)

    const ready = await waitClusterReady(agents, 3)
    const before = await putUntilCommitted(agents[0]!, 'before', 'all-three', FAILOVER_BOUND_MS)
    await waitReadable(agents, 'before', 'all-three', 5000)

    // Cut the leader off from both others, in its own namespace, both directions.
    const old = ready.leader
    const majority = agents.filter(a => a !== old)
    await l.isolate(
      old.ns,
      majority.map(a => a.ip),
    )
    const isolatedAt = Date.now()
    const oldCommit = (await clusterOf(old)).commitIndex

    // A write sent to the isolated leader right away must not succeed (503, or no answer).
    const duringPut: Promise<PutResult> = put(old, 'isolated-early', 'must-not-commit')

    // check-quorum: it stops being leader without hearing from a majority.
    await waitFor(
      `isolated ${old.opts.name} to step down`,
      async () => {
        const s = await statusOf(old)
        return s.role !== 'leader' ? s : undefined
      },
      FAILOVER_BOUND_MS,
    )
    const stepDownMs = Date.now() - isolatedAt
    // And a write sent to it after it stepped down fails too (in flight while the majority works).
    const latePut: Promise<PutResult> = put(old, 'isolated-late', 'must-not-commit')

    // The majority elects a new leader in a higher term and commits through it.
    const elected = await waitAgreement(
      majority,
      FAILOVER_BOUND_MS,
      'a new leader in the majority',
      a => a.term > ready.term,
    )
    assert.notEqual(elected.leader.peerId, old.peerId)
    const viaFollower = majority.find(a => a !== elected.leader)!
    const w = await putUntilCommitted(viaFollower, 'majority', 'committed', FAILOVER_BOUND_MS + WRITE_TIMEOUT_MS)
    assert.ok(w.term >= elected.term)
    await waitReadable(majority, 'majority', 'committed', 5000)

    // Exactly one node claims leadership now: the isolated one does not.
    const mid = await statuses(agents)
    assert.equal(mid.filter(s => s.role === 'leader').length, 1, describeStatuses(mid))
    assert.notEqual(mid.find(s => s.nodeId === old.peerId)?.role, 'leader', describeStatuses(mid))

    // Neither write through the cut-off node succeeded, and neither committed.
    const early = await duringPut
    assert.ok(!early.ok, `a write through the isolated leader succeeded: ${JSON.stringify(early)}`)
    const late = await latePut
    assert.ok(!late.ok, `a write through the isolated ex-leader succeeded: ${JSON.stringify(late)}`)
    if (late.status !== 0) {
      assert.equal(late.status, 503, JSON.stringify(late))
      assert.equal(late.code, 'no_leader', JSON.stringify(late))
    }
    assert.equal((await clusterOf(old)).commitIndex, oldCommit, 'the isolated node advanced its commit index')
    assert.equal(await getKey(old, 'isolated-early'), undefined)
    assert.equal(await getKey(old, 'isolated-late'), undefined)
    assert.equal(await getKey(old, 'majority'), undefined, 'the isolated node saw the majority write while cut off')
    // Stay well below replaceDeadVoterAfterMs: this test is about a partition, not a replacement.
    assert.ok(Date.now() - isolatedAt < E.replaceDeadVoterAfterMs, `partition lasted ${Date.now() - isolatedAt} ms`)

    // Heal: one leader across all three, still the majority's (pre-vote keeps the returning node
    // from deposing it), and identical data everywhere.
    await l.heal(old.ns)
    const healed = await waitAgreement(
      agents,
      HEAL_BOUND_MS,
      'one leader after healing',
      async () => (await getKey(old, 'majority')) === 'committed',
    )
    assert.equal(
      healed.leader.peerId,
      elected.leader.peerId,
      `leader changed on heal: ${describeStatuses(healed.statuses)}`,
    )
    assert.equal(healed.term, elected.term, `term changed on heal: ${describeStatuses(healed.statuses)}`)
    const items = await waitSameKv(agents, HEAL_BOUND_MS, it => it.majority === 'committed')
    assert.equal(items.before, before.value)
    // A write answered no_leader must not be applied later (outcome_unknown or no answer may be);
    // here not even those can commit: the majority's new term replaces the isolated log's tail.
    if (early.code === 'no_leader')
      assert.equal(items['isolated-early'], undefined, 'a write answered no_leader was applied after healing')
    if (late.code === 'no_leader')
      assert.equal(items['isolated-late'], undefined, 'a write answered no_leader was applied after healing')
    assert.equal(
      items['isolated-early'],
      undefined,
      `the write sent to the isolated leader (answered ${early.status} ${early.code}) was applied after healing`,
    )
    assert.equal(
      items['isolated-late'],
      undefined,
      `the write sent to the isolated ex-leader (answered ${late.status} ${late.code}) was applied after healing`,
    )
    const c = await clusterOf(healed.leader)
    assert.equal(c.voters.length, 3, JSON.stringify(c))
    console.log(
      `      isolated leader stepped down after ${stepDownMs} ms; new leader after ${elected.ms} ms of polling; heal converged in ${healed.ms} ms`,
    )
  })
})
