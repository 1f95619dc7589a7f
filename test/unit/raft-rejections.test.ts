// Hostile or impossible Raft messages against a real RaftNode (real LogStore, MemoryNetwork): each
// is dropped and counted, and the node keeps its term, its leader and its log; liveness through
// the trust anchor for a node that does not know the current voters; and a data dir holding
// garbage from before these checks refuses to start with the file named.
import assert from 'node:assert/strict'
import { appendFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClusterStateMachine } from '../../src/cluster/state-machine.js'
import { RaftNode } from '../../src/election/driver/raft-node.js'
import type { RaftRejectionReason } from '../../src/election/driver/raft-node-types.js'
import { LogStore, type StoredEntry } from '../../src/election/storage/log-store.js'
import { encodeLogRecord } from '../../src/election/storage/log-store-records.js'
import { MemoryNetwork, type RaftTransport } from '../../src/election/transport/transport.js'
import type { ClusterConfig, NodeId, RaftMessage } from '../../src/election/core/types.js'

const TICK_MS = 10
const WAIT_MS = 8000

async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined && value !== null && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

const configEntry = (index: number, term: number, config: ClusterConfig): StoredEntry => ({
  index,
  term,
  type: 'config',
  data: config,
})

/** Writes a data dir as a node that lived through `entries` would have left it. */
async function seed(dir: string, term: number, entries: StoredEntry[], commit: number): Promise<void> {
  const store = await LogStore.open(dir)
  await store.save({ entries, hardState: { term, vote: null, commit } })
  await store.close()
}

interface Started {
  node: RaftNode
  rejections: Array<[string, RaftRejectionReason]>
}

describe('RaftNode refuses what it must not act on', function () {
  let root: string
  let network: MemoryNetwork
  const nodes: RaftNode[] = []

  beforeEach(async function () {
    root = await mkdtemp(join(tmpdir(), 'meshos-raft-reject-'))
    network = new MemoryNetwork()
  })

  afterEach(async function () {
    await Promise.all(nodes.splice(0).map(async node => await node.stop()))
    await rm(root, { recursive: true, force: true })
  })

  async function start(id: NodeId, vouchers: NodeId[] = [], electionTicks = 10): Promise<Started> {
    const rejections: Array<[string, RaftRejectionReason]> = []
    const node = await RaftNode.open({
      id,
      dataDir: join(root, id),
      transport: network.join(id),
      stateMachine: new ClusterStateMachine(),
      tickMs: TICK_MS,
      electionTicks,
      heartbeatTicks: 2,
      bootstrap: false,
      compactEvery: 1000,
      vouchers,
      onRejected: (type, reason) => rejections.push([type, reason]),
    })
    nodes.push(node)
    return { node, rejections }
  }

  describe('hostile messages to a follower', function () {
    // n2 is a voter of {n1, n2, n3} at term 3, following n1, its log at index 2 and committed.
    // n1 and n3 are scripted endpoints; x holds no place in the config at all.
    const CONFIG = { voters: ['n1', 'n2', 'n3'], learners: [] }
    let victim: Started
    let n1: RaftTransport
    let n3: RaftTransport
    let x: RaftTransport

    beforeEach(async function () {
      await seed(join(root, 'n2'), 3, [configEntry(1, 1, CONFIG), { index: 2, term: 3, type: 'normal', data: null }], 2)
      n1 = network.join('n1')
      n3 = network.join('n3')
      x = network.join('x')
      // A long election timeout: n2 must not campaign on its own while the test runs.
      victim = await start('n2', [], 1000)
      n1.send({ type: 'heartbeat', from: 'n1', to: 'n2', term: 3, commit: 2 })
      await waitFor('n2 to follow n1', () => victim.node.leader === 'n1')
    })

    /** Sends `msg` and waits until n2 has dropped it; returns the reason. */
    async function refused(via: RaftTransport, msg: RaftMessage): Promise<RaftRejectionReason> {
      const before = victim.rejections.length
      via.send(msg)
      await waitFor(`n2 to drop ${msg.type} from ${msg.from}`, () => victim.rejections.length > before)
      assert.equal(victim.rejections.length, before + 1)
      const [type, reason] = victim.rejections.at(-1)!
      assert.equal(type, msg.type)
      return reason
    }

    function assertUnmoved(): void {
      assert.equal(victim.node.term, 3)
      assert.equal(victim.node.leader, 'n1')
      assert.equal(victim.node.lastIndex, 2)
      assert.equal(victim.node.commitIndex, 2)
      assert.deepEqual(victim.node.config, CONFIG)
    }

    it('a stranger cannot lead it: append, heartbeat, snapshot, commit and timeoutNow at a higher term', async function () {
      const b = { from: 'x', to: 'n2', term: 99 }
      const strangerConfig = { voters: ['x'], learners: [] }
      assert.equal(
        await refused(x, {
          ...b,
          type: 'append',
          prevLogIndex: 2,
          prevLogTerm: 3,
          commit: 3,
          entries: [configEntry(3, 99, strangerConfig)],
        }),
        'not_voter',
      )
      assert.equal(await refused(x, { ...b, type: 'heartbeat', commit: 0 }), 'not_voter')
      const tasks = { tasks: [], finishedOrder: [], maxAssignTerm: 0 }
      const snapshot = { index: 50, term: 99, config: strangerConfig, data: { version: 2, kv: [['k', 'v']], tasks } }
      assert.equal(await refused(x, { ...b, type: 'snapshot', snapshot }), 'not_voter')
      assert.equal(await refused(x, { ...b, type: 'commit', commit: 2, logTerm: 3 }), 'not_voter')
      assert.equal(await refused(x, { ...b, type: 'timeoutNow' }), 'not_voter')
      assertUnmoved()
    })

    it('a voter that is not the leader cannot claim the current term; votes from non-voters are refused', async function () {
      assert.equal(await refused(n3, { type: 'heartbeat', from: 'n3', to: 'n2', term: 3, commit: 2 }), 'not_leader')
      assert.equal(
        await refused(n3, {
          type: 'append',
          from: 'n3',
          to: 'n2',
          term: 3,
          prevLogIndex: 2,
          prevLogTerm: 3,
          commit: 2,
          entries: [{ index: 3, term: 3, type: 'normal', data: { type: 'kv.put', key: 'k', value: 'v' } }],
        }),
        'not_leader',
      )
      const vote = { from: 'x', to: 'n2', term: 99, lastLogIndex: 1000, lastLogTerm: 98 }
      assert.equal(await refused(x, { ...vote, type: 'preVote' }), 'not_voter')
      assert.equal(await refused(x, { ...vote, type: 'vote', transfer: true }), 'not_voter')
      assert.equal(await refused(x, { type: 'voteResp', from: 'x', to: 'n2', term: 99, granted: true }), 'not_voter')
      assert.equal(
        await refused(x, {
          type: 'appendResp',
          from: 'x',
          to: 'n2',
          term: 99,
          reject: true,
          index: 0,
          hintIndex: 0,
          hintTerm: 0,
        }),
        'not_member',
      )
      assertUnmoved()
    })

    it('the leader itself cannot commit past the log, append a junk config, install a junk snapshot, or use term 2^53', async function () {
      assert.equal(
        await refused(n1, { type: 'heartbeat', from: 'n1', to: 'n2', term: 3, commit: 50 }),
        'commit_beyond_log',
      )
      assert.equal(
        await refused(n1, { type: 'heartbeat', from: 'n1', to: 'n2', term: 4, commit: 3 }),
        'commit_beyond_log',
      )
      const junkConfig = { index: 3, term: 3, type: 'config' as const, data: 'junk' }
      const append = {
        type: 'append' as const,
        from: 'n1',
        to: 'n2',
        term: 3,
        prevLogIndex: 2,
        prevLogTerm: 3,
        commit: 2,
      }
      assert.equal(await refused(n1, { ...append, entries: [junkConfig] }), 'invalid_message')
      assert.equal(
        await refused(n1, { ...append, entries: [{ ...junkConfig, data: { voters: ['a', 'a'], learners: [] } }] }),
        'invalid_message',
      )
      const snapshot = { index: 40, term: 3, config: CONFIG, data: { version: 99, kv: 'nope' } }
      assert.equal(await refused(n1, { type: 'snapshot', from: 'n1', to: 'n2', term: 3, snapshot }), 'invalid_snapshot')
      assert.equal(
        await refused(n1, { type: 'heartbeat', from: 'n1', to: 'n2', term: 2 ** 53, commit: 2 }),
        'invalid_message',
      )
      assertUnmoved()
      // Nothing of it reached the disk: the node starts again from the same state.
      await victim.node.stop()
      const again = await start('n2', [], 1000)
      assert.equal(again.node.term, 3)
      assert.equal(again.node.lastIndex, 2)
      assert.deepEqual(again.node.config, CONFIG)
    })

    it('the genuine leader still leads it after all that', async function () {
      await refused(x, { type: 'heartbeat', from: 'x', to: 'n2', term: 99, commit: 0 })
      n1.send({
        type: 'append',
        from: 'n1',
        to: 'n2',
        term: 3,
        prevLogIndex: 2,
        prevLogTerm: 3,
        commit: 3,
        entries: [{ index: 3, term: 3, type: 'normal', data: { type: 'kv.put', key: 'k', value: 'v' } }],
      })
      await waitFor('n2 to commit the leader entry', () => victim.node.commitIndex === 3)
      assert.equal(victim.node.leader, 'n1')
    })
  })

  describe('a node that does not know the current voters', function () {
    // The cluster moved from {n1, n2, n3} to {n3, n4, n5} while n3 was away: n3 knows neither n4
    // nor n5, and n1 and n2 are gone.
    const OLD = { voters: ['n1', 'n2', 'n3'], learners: [] }
    const NEW = { voters: ['n3', 'n4', 'n5'], learners: [] }

    async function newCluster(): Promise<RaftNode> {
      for (const id of ['n4', 'n5']) await seed(join(root, id), 2, [configEntry(1, 1, OLD), configEntry(2, 2, NEW)], 2)
      await seed(join(root, 'n3'), 1, [configEntry(1, 1, OLD)], 1)
      const [n4, n5] = [(await start('n4')).node, (await start('n5')).node]
      return await waitFor('n4 or n5 to lead', () => [n4, n5].find(n => n.role === 'leader'))
    }

    it('with no voucher it refuses the unknown leader (the documented limit)', async function () {
      const leader = await newCluster()
      const n3 = await start('n3')
      await waitFor('n3 to refuse the leader a few times', () => n3.rejections.length >= 5)
      assert.ok(n3.rejections.every(([, reason]) => reason === 'not_voter'))
      assert.equal(n3.node.leader, null)
      assert.notEqual(leader.leader, null)
      assert.deepEqual(n3.node.config, OLD)
    })

    it('a bootstrap peer vouches for the new voters, and it catches up', async function () {
      const leader = await newCluster()
      const n3 = await start('n3', ['n5'])
      await waitFor('n3 to follow the new leader', () => n3.node.leader === leader.id)
      await waitFor('n3 to learn the new config', () => n3.node.config.voters.join() === NEW.voters.join())
      await leader.propose({ type: 'kv.put', key: 'after', value: '1' })
      await waitFor('n3 to apply a new entry', () => n3.node.appliedIndex === leader.commitIndex)
      assert.ok(
        n3.rejections.some(([, reason]) => reason === 'not_voter'),
        'it refused the leader until vouched',
      )
    })

    it('a voter it knows vouches too, even one removed since, as long as it knows the new config', async function () {
      const leader = await newCluster()
      await seed(join(root, 'n1'), 2, [configEntry(1, 1, OLD), configEntry(2, 2, NEW)], 2)
      await start('n1') // removed: it never campaigns, but answers members of its config
      const n3 = await start('n3')
      await waitFor('n3 to follow the new leader', () => n3.node.leader === leader.id)
      await waitFor('n3 to learn the new config', () => n3.node.config.voters.join() === NEW.voters.join())
    })

    it('a brand-new node follows only once its bootstrap peer knows it as a member', async function () {
      const leader = await newCluster()
      const fresh = await start('n6', ['n4'])
      await leader.proposeConfig({ voters: NEW.voters, learners: ['n6'] })
      await waitFor('n6 to follow and catch up', () => fresh.node.leader === leader.id && fresh.node.role === 'learner')
      assert.deepEqual(fresh.node.config, { voters: NEW.voters, learners: ['n6'] })
    })
  })

  describe('garbage already on disk', function () {
    it('a stored snapshot the state machine cannot restore fails the start, naming the file', async function () {
      const dir = join(root, 'n1')
      const store = await LogStore.open(dir)
      await store.save({
        snapshot: { index: 5, term: 2, config: { voters: ['n1'], learners: [] }, data: { version: 7 } },
        hardState: { term: 2, vote: null, commit: 5 },
      })
      await store.close()
      await assert.rejects(start('n1'), (err: Error) => {
        assert.match(
          err.message,
          /snapshot\.rec: the stored snapshot \(index 5\) cannot be restored: invalid cluster snapshot/,
        )
        return true
      })
    })

    it('a stored config entry that is not a config fails the start, naming the file and offset', async function () {
      const dir = join(root, 'n1')
      await seed(dir, 1, [configEntry(1, 1, { voters: ['n1'], learners: [] })], 1)
      await appendFile(
        join(dir, 'log-0000000001.wal'),
        encodeLogRecord({ kind: 'entry', entry: { index: 2, term: 1, type: 'config', data: 'junk' } }),
      )
      await assert.rejects(start('n1'), (err: Error) => {
        assert.match(err.message, /log-0000000001\.wal at byte offset \d+: config entry 2 is not a valid config/)
        return true
      })
    })
  })
})
