import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClusterStateMachine } from '../../src/cluster/state-machine.js'
import { ConfigChangeError, NotLeaderError, ProposalDroppedError } from '../../src/election/driver/raft-node-errors.js'
import { RaftNode } from '../../src/election/driver/raft-node.js'
import { MemoryNetwork } from '../../src/election/transport/transport.js'
import type { ClusterConfig, NodeId, SoftState } from '../../src/election/core/types.js'
import type { RaftNodeOptions } from '../../src/election/driver/raft-node-types.js'

// Small ticks so elections take ~100-300 ms; every wait below polls for a
// condition with a deadline rather than sleeping a fixed time.
const TICK_MS = 10
const ELECTION_TICKS = 10
const HEARTBEAT_TICKS = 2
const WAIT_MS = 8000
const IDS = ['n1', 'n2', 'n3']

interface Member {
  node: RaftNode
  sm: ClusterStateMachine
}

/** Real RaftNodes (real LogStores in a temp dir) over one MemoryNetwork. */
class Cluster {
  readonly network = new MemoryNetwork()
  private readonly members = new Map<NodeId, Member>()

  constructor(
    private readonly root: string,
    private readonly compactEvery = 1000,
    private readonly electionTicks = ELECTION_TICKS,
  ) {}

  /** Opens (or reopens, after a crash) node `id` from its data dir. */
  async start(
    id: NodeId,
    bootstrap = false,
    observers: Pick<RaftNodeOptions, 'onSoftState' | 'onConfigCommitted'> = {},
  ): Promise<RaftNode> {
    const sm = new ClusterStateMachine()
    const node = await RaftNode.open({
      id,
      dataDir: join(this.root, id),
      transport: this.network.join(id),
      stateMachine: sm,
      tickMs: TICK_MS,
      electionTicks: this.electionTicks,
      heartbeatTicks: HEARTBEAT_TICKS,
      bootstrap,
      compactEvery: this.compactEvery,
      // The peers a joining node is told about, as --bootstrap tells an agent.
      vouchers: IDS.filter(other => other !== id),
      ...observers,
    })
    this.members.set(id, { node, sm })
    return node
  }

  /** Like kill -9: messages to it vanish and it writes and sends nothing more. */
  async crash(id: NodeId): Promise<void> {
    this.network.crash(id)
    await this.node(id).stop()
  }

  node(id: NodeId): RaftNode {
    const member = this.members.get(id)
    if (!member) throw new Error(`no node ${id}`)
    return member.node
  }

  sm(id: NodeId): ClusterStateMachine {
    return this.members.get(id)!.sm
  }

  /** The running leader with the highest term among `among`, if any. */
  leader(among: NodeId[] = IDS): RaftNode | undefined {
    let best: RaftNode | undefined
    for (const id of among) {
      const node = this.members.get(id)?.node
      if (!node || node.stopped || node.role !== 'leader') continue
      if (!best || node.term > best.term) best = node
    }
    return best
  }

  /** Same key/value contents on all of `ids`. */
  sameState(ids: NodeId[]): boolean {
    const first = JSON.stringify(this.sm(ids[0]!).list())
    return ids.every(id => JSON.stringify(this.sm(id).list()) === first)
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.members.values()].map(({ node }) => node.stop()))
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined && value !== null && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

function put(key: string, value: string): { type: 'kv.put'; key: string; value: string } {
  return { type: 'kv.put', key, value }
}

/** Adds `id` as a learner, waits until it has caught up, then promotes it: one change at a time. */
async function addVoter(leader: RaftNode, joiner: RaftNode): Promise<void> {
  const before = leader.config
  await leader.proposeConfig({ voters: before.voters, learners: [...before.learners, joiner.id] })
  await waitFor(
    `${joiner.id} to catch up as a learner`,
    () => joiner.role === 'learner' && joiner.appliedIndex >= leader.commitIndex,
  )
  await leader.proposeConfig({ voters: [...before.voters, joiner.id], learners: before.learners })
}

/** n1 bootstraps alone, then n2 and n3 join as learners and are promoted. */
async function growToThree(cluster: Cluster): Promise<RaftNode> {
  const n1 = await cluster.start('n1', true)
  await waitFor('n1 to lead its one-voter cluster', () => n1.role === 'leader')
  const n2 = await cluster.start('n2')
  const n3 = await cluster.start('n3')
  await addVoter(n1, n2)
  await addVoter(n1, n3)
  await waitFor('all nodes to know the leader', () => n2.leader === 'n1' && n3.leader === 'n1')
  return n1
}

/** Attach handlers now (so a rejection is never unhandled) and report whether it settled. */
function watch<T>(promise: Promise<T>): { settled: () => boolean } {
  let settled = false
  promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  return { settled: () => settled }
}

describe('RaftNode over MemoryNetwork', function () {
  let root: string
  let cluster: Cluster

  beforeEach(async function () {
    root = await mkdtemp(join(tmpdir(), 'meshos-raft-node-'))
    cluster = new Cluster(root)
  })

  afterEach(async function () {
    await cluster.stopAll()
    await rm(root, { recursive: true, force: true })
  })

  it('bootstraps a one-voter cluster that elects itself, commits, and keeps both across a restart', async function () {
    const n1 = await cluster.start('n1', true)
    await waitFor('n1 to lead', () => n1.role === 'leader')
    assert.deepEqual(n1.config, { voters: ['n1'], learners: [] })
    // 1 = the bootstrap config, 2 = the leader's no-op.
    assert.deepEqual(await n1.propose(put('a', '1')), { index: 3, term: n1.term })
    assert.equal(cluster.sm('n1').get('a'), '1')
    await assert.rejects(n1.propose(null), TypeError)

    await cluster.crash('n1')
    await assert.rejects(n1.propose(put('b', '2')), /stopped/)
    const again = await cluster.start('n1', true)
    await waitFor('n1 to lead again', () => again.role === 'leader')
    assert.deepEqual(again.config, { voters: ['n1'], learners: [] })
    await waitFor('the log to be replayed', () => cluster.sm('n1').get('a') === '1')
  })

  it('grows to three voters one change at a time and applies a proposal on all of them', async function () {
    const leader = await cluster.start('n1', true)
    await waitFor('n1 to lead', () => leader.role === 'leader')
    const n2 = await cluster.start('n2')
    const n3 = await cluster.start('n3')
    await assert.rejects(
      leader.proposeConfig({ voters: IDS, learners: [] }),
      (err: unknown) => err instanceof ConfigChangeError && err.reason === 'tooManyVoterChanges',
    )
    await addVoter(leader, n2)
    await addVoter(leader, n3)
    assert.deepEqual(leader.config, { voters: IDS, learners: [] })
    await waitFor('n2 and n3 to see themselves as voters', () => n2.role === 'follower' && n3.role === 'follower')

    const { index } = await leader.propose(put('x', '42'))
    await waitFor('x applied everywhere', () => IDS.every(id => cluster.sm(id).get('x') === '42'))
    const progress = leader.progress()!
    assert.deepEqual(progress.map(p => p.id).sort(), ['n2', 'n3'])
    await waitFor('followers to match the proposal', () => leader.progress()!.every(p => p.matchIndex >= index))
  })

  it('tells its observers of role, leader and term changes and of each committed configuration after the one it opened with', async function () {
    const soft: SoftState[] = []
    const configs: Array<[ClusterConfig, ClusterConfig]> = []
    const n1 = await cluster.start('n1', true, {
      onSoftState: s => soft.push(s),
      onConfigCommitted: (config, previous) => configs.push([config, previous]),
    })
    // Observers hear of a change once its ready cycle is done, after the core has made it.
    await waitFor('n1 to report that it leads', () => soft.at(-1)?.role === 'leader')
    assert.deepEqual(soft.at(-1), { role: 'leader', leader: 'n1', term: n1.term })
    assert.deepEqual(configs, [])
    // An observer that throws is logged, and the node goes on.
    const n2 = await cluster.start('n2', false, {
      onConfigCommitted: () => {
        throw new Error('a bug in an observer')
      },
    })
    await addVoter(n1, n2)
    await waitFor('the promotion to commit', () => configs.length === 2)
    assert.deepEqual(configs, [
      [
        { voters: ['n1'], learners: ['n2'] },
        { voters: ['n1'], learners: [] },
      ],
      [
        { voters: ['n1', 'n2'], learners: [] },
        { voters: ['n1'], learners: ['n2'] },
      ],
    ])
    await n1.propose(put('after', 'yes'))
    await waitFor('n2 to apply after its observer threw', () => cluster.sm('n2').get('after') === 'yes')
    assert.equal(n2.stopped, false)
  })

  it('rejects a proposal on a follower with NotLeaderError naming the leader', async function () {
    await growToThree(cluster)
    await assert.rejects(cluster.node('n2').propose(put('k', 'v')), (err: unknown) => {
      assert.ok(err instanceof NotLeaderError)
      assert.equal(err.leader, 'n1')
      return true
    })
  })

  it('elects a new leader when the leader crashes, and the restarted old leader catches up', async function () {
    const old = await growToThree(cluster)
    const oldTerm = old.term
    await old.propose(put('before', '1'))
    await cluster.crash('n1')

    const next = await waitFor('a new leader among the survivors', () => cluster.leader(['n2', 'n3']))
    assert.ok(next.term > oldTerm)
    await next.propose(put('after', '2'))

    const back = await cluster.start('n1')
    await waitFor('n1 to follow the new leader', () => back.role === 'follower' && back.leader === next.id)
    await waitFor('n1 to catch up', () => back.appliedIndex >= next.commitIndex && cluster.sameState(IDS))
    assert.deepEqual(cluster.sm('n1').list(), [
      { key: 'after', value: '2' },
      { key: 'before', value: '1' },
    ])
  })

  it('followers whose connection to a crashed leader closes elect a new one before any election timeout', async function () {
    // An election timeout of 1-2 s: a new leader sooner than 1 s came from the closed connection.
    const slowTicks = 100
    cluster = new Cluster(root, 1000, slowTicks)
    await growToThree(cluster)
    const crashedAt = Date.now()
    await cluster.crash('n1')
    await waitFor('a new leader among the survivors', () => cluster.leader(['n2', 'n3']))
    const elapsedMs = Date.now() - crashedAt
    assert.ok(elapsedMs < slowTicks * TICK_MS, `new leader after ${elapsedMs} ms`)
  })

  it('a node outside the configuration keeps no tick timer, and a message from the leader wakes it', async function () {
    const n1 = await cluster.start('n1', true)
    await waitFor('n1 to lead its one-voter cluster', () => n1.role === 'leader')
    const n2 = await cluster.start('n2')
    // Its first tick finds it outside the configuration and stops the timer.
    const asleep = await waitFor('n2 to tick once', () => n2.tickCount > 0 && n2.tickCount)
    await new Promise(resolve => setTimeout(resolve, 10 * TICK_MS))
    assert.equal(n2.tickCount, asleep, 'a worker ticks no more')
    await addVoter(n1, n2)
    await waitFor('n2 to follow n1 as a voter', () => n2.role === 'follower' && n2.leader === 'n1')
    const awake = n2.tickCount
    await waitFor('n2 to tick again as a member', () => n2.tickCount > awake)
  })

  it('compacts the log, restores a restarted node from its snapshot, and sends a snapshot to a lagging one', async function () {
    cluster = new Cluster(root, 5)
    const leader = await growToThree(cluster)
    for (let i = 0; i < 12; i++) await leader.propose(put(`k${i}`, String(i)))
    // A node holds a snapshot either by compacting or, when it joined after the leader compacted,
    // by installing the leader's (which of the two depends on timing).
    const hasSnapshot = (id: string): boolean =>
      cluster.node(id).stats.compactions > 0 || cluster.node(id).stats.snapshotsInstalled > 0
    await waitFor('every node to hold a snapshot and have applied everything', () =>
      IDS.every(id => hasSnapshot(id) && cluster.node(id).appliedIndex === leader.commitIndex),
    ).catch((err: Error) => {
      const state = IDS.map(id => {
        const n = cluster.node(id)
        return `${id} ${n.role} applied ${n.appliedIndex} commit ${n.commitIndex} compactions ${n.stats.compactions} installed ${n.stats.snapshotsInstalled}`
      })
      throw new Error(`${err.message}: ${state.join('; ')}`)
    })

    await cluster.crash('n3')
    // Enough for the leader to compact past everything n3 holds.
    for (let i = 12; i < 24; i++) await leader.propose(put(`k${i}`, String(i)))

    const back = await cluster.start('n3')
    assert.ok(back.stats.loadedSnapshotIndex > 0, 'n3 opened from its own snapshot')
    await waitFor('n3 to catch up', () => back.appliedIndex >= leader.commitIndex && cluster.sameState(IDS))
    assert.ok(back.stats.snapshotsInstalled >= 1, 'n3 got the leader snapshot')
    assert.equal(cluster.sm('n3').list().length, 24)
  })

  it('a partitioned minority leader commits nothing, and its proposal rejects on stop', async function () {
    const old = await growToThree(cluster)
    cluster.network.partition(['n1'])
    const stuck = old.propose(put('lost', 'x'))
    const watched = watch(stuck)

    const next = await waitFor('a leader in the majority', () => cluster.leader(['n2', 'n3']))
    await next.propose(put('won', 'y'))
    await waitFor('the isolated leader to step down (check-quorum)', () => old.role !== 'leader')
    assert.equal(watched.settled(), false)
    assert.equal(cluster.sm('n1').get('lost'), undefined)
    assert.equal(cluster.sm('n1').get('won'), undefined)

    await old.stop()
    await assert.rejects(stuck, (err: unknown) => err instanceof ProposalDroppedError && err.reason === 'stopped')
  })

  it("awaitApplied on a follower resolves once it applies the leader's entry, with the write visible there", async function () {
    const leader = await growToThree(cluster)
    const appended = leader.append(put('seen', 'here'))
    const onFollower = cluster.node('n2').awaitApplied(appended.index, appended.term)
    assert.deepEqual(await onFollower, { index: appended.index, term: appended.term })
    assert.equal(cluster.sm('n2').get('seen'), 'here')
    assert.deepEqual(await appended.applied, { index: appended.index, term: appended.term })
    // Already applied: answered from the log at once; a different term there means another entry.
    assert.deepEqual(await cluster.node('n3').awaitApplied(appended.index, appended.term), {
      index: appended.index,
      term: appended.term,
    })
    await assert.rejects(
      cluster.node('n3').awaitApplied(appended.index, appended.term + 1),
      (err: unknown) => err instanceof ProposalDroppedError && err.reason === 'overwritten',
    )
  })

  it('awaitApplied says overwritten when another entry commits at that index, and unknown when a snapshot covers it', async function () {
    const old = await growToThree(cluster)
    cluster.network.partition(['n1'])
    const lost = old.append(put('lost', 'x'))
    watch(lost.applied)
    // n2 waits for the entry the isolated leader reported, as a forwarding node would.
    const waiting = cluster.node('n2').awaitApplied(lost.index, lost.term)
    watch(waiting)
    const next = await waitFor('a leader in the majority', () => cluster.leader(['n2', 'n3']))
    await next.propose(put('won', 'y'))
    await assert.rejects(waiting, (err: unknown) => err instanceof ProposalDroppedError && err.reason === 'overwritten')
    cluster.network.heal()
    await assert.rejects(
      lost.applied,
      (err: unknown) => err instanceof ProposalDroppedError && err.reason === 'overwritten',
    )
    await cluster.stopAll()

    const smallRoot = await mkdtemp(join(tmpdir(), 'meshos-raft-node-compact-'))
    const small = new Cluster(smallRoot, 5)
    try {
      const leader = await small.start('n1', true)
      await waitFor('n1 to lead', () => leader.role === 'leader')
      const first = leader.append(put('a', '1'))
      await first.applied
      for (let i = 0; i < 10; i++) await leader.propose(put('b', String(i)))
      await waitFor('a compaction past the first entry', () => leader.stats.compactions > 0)
      await assert.rejects(
        leader.awaitApplied(first.index, first.term),
        (err: unknown) => err instanceof ProposalDroppedError && err.reason === 'unknown',
      )
    } finally {
      await small.stopAll()
      await rm(smallRoot, { recursive: true, force: true })
    }
  })

  it('rejects the isolated leader proposal as overwritten once the partition heals', async function () {
    const old = await growToThree(cluster)
    cluster.network.partition(['n1'])
    const stuck = old.propose(put('lost', 'x'))
    watch(stuck)
    const next = await waitFor('a leader in the majority', () => cluster.leader(['n2', 'n3']))
    await next.propose(put('won', 'y'))

    cluster.network.heal()
    await assert.rejects(stuck, (err: unknown) => err instanceof ProposalDroppedError && err.reason === 'overwritten')
    await waitFor('identical state after healing', () => cluster.sameState(IDS) && cluster.sm('n1').get('won') === 'y')
    assert.equal(cluster.sm('n1').get('lost'), undefined)
  })
})
