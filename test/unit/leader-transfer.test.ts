// An operator's leadership transfer in the pure Raft core: the leader hands over to the voter it
// is asked for (or the most up-to-date one), and says why it will not: not leading, not a voter
// (a learner, an unknown id), the only voter, or a voter that lacks part of the log.
import assert from 'node:assert/strict'
import { RaftCore } from '../../src/election/core/raft.js'
import { RaftNetwork } from '../sim/raft-network.js'
import type { NodeId } from '../../src/election/core/types.js'

const ELECTION_TICKS = 10

function elect(net: RaftNetwork, id: NodeId): void {
  for (let i = 0; i < 4 * ELECTION_TICKS && net.core(id).role !== 'leader'; i++) {
    net.tick(id)
    net.drain()
  }
  assert.equal(net.core(id).role, 'leader', `${id} failed to become leader`)
}

/** Voters a, b, c and learner d, with a leading and everyone holding its log. */
function clusterWithLearner(seed: number): RaftNetwork {
  const net = new RaftNetwork({ seed })
  for (const id of ['a', 'b', 'c', 'd'])
    net.addNode(id, RaftCore.bootstrapState({ voters: ['a', 'b', 'c'], learners: ['d'] }))
  elect(net, 'a')
  net.propose('a', 'x')
  net.run(2)
  return net
}

describe('RaftCore: leadership transfer to a named voter', () => {
  for (const target of ['b', 'c']) {
    it(`hands over to ${target} when asked, and ${target} leads the next term with the whole log`, () => {
      const net = clusterWithLearner(11)
      const term = net.core('a').term
      assert.deepEqual(net.core('a').transferTarget(target), { ok: true, target })
      assert.equal(net.core('a').transferLeadership(target), target)
      assert.equal(net.core('a').role, 'follower', 'the old leader steps down at once')
      net.processAll()
      net.drain()
      assert.deepEqual(net.leaders(), [target])
      assert.equal(net.core(target).term, term + 1)
      net.propose(target, 'y')
      net.run(2)
      for (const id of ['a', 'b', 'c', 'd']) assert.equal(net.core(id).commitIndex, net.core(target).commitIndex, id)
    })
  }

  it('refuses a learner, an unknown id and itself as "not a voter", and changes nothing', () => {
    const net = clusterWithLearner(12)
    for (const to of ['d', 'zz', 'a']) {
      assert.deepEqual(net.core('a').transferTarget(to), { ok: false, problem: 'not_voter' }, to)
      assert.equal(net.core('a').transferLeadership(to), null, to)
      assert.equal(net.core('a').role, 'leader', to)
    }
  })

  it('refuses a voter that lacks part of the log until it has caught up', () => {
    const net = clusterWithLearner(13)
    net.isolate('b')
    net.propose('a', 'only on a, c and d')
    net.processAll()
    net.drain()
    assert.deepEqual(net.core('a').transferTarget('b'), { ok: false, problem: 'not_caught_up' })
    assert.equal(net.core('a').transferLeadership('b'), null)
    assert.equal(net.core('a').role, 'leader')
    // Without a name, the voter that holds everything is taken.
    assert.deepEqual(net.core('a').transferTarget(), { ok: true, target: 'c' })
    net.heal()
    net.run(3)
    assert.deepEqual(net.core('a').transferTarget('b'), { ok: true, target: 'b' })
  })

  it('a follower cannot transfer; a lone voter has nobody to transfer to', () => {
    const net = clusterWithLearner(14)
    assert.deepEqual(net.core('b').transferTarget('c'), { ok: false, problem: 'not_leader' })
    const solo = new RaftNetwork({ seed: 15 })
    solo.addNode('s', RaftCore.bootstrapState({ voters: ['s'], learners: [] }))
    elect(solo, 's')
    assert.deepEqual(solo.core('s').transferTarget(), { ok: false, problem: 'no_other_voter' })
    assert.equal(solo.core('s').transferLeadership(), null)
    assert.equal(solo.core('s').role, 'leader')
  })
})
