import assert from 'node:assert/strict'
import { ConfigChangeError, NotLeaderError } from '../../src/election/core/raft-errors.js'
import { RaftCore, type RaftOptions } from '../../src/election/core/raft.js'
import type { Entry, NodeId, PersistedState, RaftMessage, Ready } from '../../src/election/core/types.js'
import { RaftNetwork } from '../sim/raft-network.js'

const ELECTION_TICKS = 10

function ent(index: number, term: number, data: unknown = `v${index}`): Entry {
  return { index, term, type: 'normal', data }
}

/** Persisted state of a member of a static cluster `voters` with the given log. */
function stateWith(voters: NodeId[], term: number, entries: Entry[], commit = 0): PersistedState {
  return {
    hardState: { term, vote: null, commit },
    snapshot: { index: 0, term: 0, config: { voters, learners: [] }, data: null },
    entries,
  }
}

/** The timings these tests are written against (the agent's own are in election/config.ts). */
const TEST_TIMING = { electionTicks: 10, heartbeatTicks: 1 }

function newCore(id: NodeId, state: PersistedState, options: Partial<RaftOptions> = {}): RaftCore {
  return new RaftCore({ id, random: () => 0, ...TEST_TIMING, ...options }, state)
}

/** Run ready/advance until quiet, as an adapter with an instant disk would. */
function cycle(core: RaftCore): Ready[] {
  const readies: Ready[] = []
  while (core.hasReady()) {
    readies.push(core.ready())
    core.advance()
  }
  return readies
}

function sent(core: RaftCore): RaftMessage[] {
  return cycle(core).flatMap(rd => rd.messages)
}

/** Tick only `id` (others stay quiet, so they have no leader and will vote) until it leads. */
function elect(net: RaftNetwork, id: NodeId): void {
  for (let i = 0; i < 4 * ELECTION_TICKS && net.core(id).role !== 'leader'; i++) {
    net.tick(id)
    net.drain()
  }
  assert.equal(net.core(id).role, 'leader', `${id} failed to become leader`)
}

/** Make a manually driven core the leader of term `term + 1` with b's (pre-)votes. */
function makeLeader(core: RaftCore, voter: NodeId): void {
  for (let i = 0; i < 2 * ELECTION_TICKS && core.role === 'follower'; i++) core.tick()
  assert.equal(core.role, 'precandidate')
  core.step({ type: 'preVoteResp', from: voter, to: core.id, term: core.term + 1, granted: true })
  assert.equal(core.role, 'candidate')
  core.step({ type: 'voteResp', from: voter, to: core.id, term: core.term, granted: true })
  assert.equal(core.role, 'leader')
}

/** `a` leads b and c, which both acknowledged its no-op; `ack` answers an append for one of them. */
function leaderOfThree(): { a: RaftCore; ack: (from: NodeId, index: number) => void } {
  const a = newCore('a', stateWith(['a', 'b', 'c'], 1, []))
  makeLeader(a, 'b')
  cycle(a)
  const ack = (from: NodeId, index: number): void => {
    a.step({ type: 'appendResp', from, to: 'a', term: a.term, reject: false, index, hintIndex: 0, hintTerm: 0 })
  }
  ack('b', 1)
  ack('c', 1)
  sent(a)
  return { a, ack }
}

describe('RaftCore', () => {
  describe('bootstrap', () => {
    it('a one-voter cluster elects itself after its election timeout and commits alone', () => {
      const net = new RaftNetwork({ seed: 1 })
      net.addNode('solo', RaftCore.bootstrapState({ voters: ['solo'], learners: [] }))
      for (let i = 0; i < 2 * ELECTION_TICKS - 1; i++) {
        net.tick('solo')
        net.processAll()
      }
      const core = net.core('solo')
      assert.equal(core.role, 'leader')
      assert.equal(core.term, 1)
      const { index } = net.propose('solo', 'hello')
      net.processAll()
      assert.equal(core.commitIndex, index)
      assert.deepEqual(net.node('solo').stateMachine, ['hello'])
      assert.deepEqual(net.node('solo').disk.hardState, { term: 1, vote: 'solo', commit: index })
    })

    it('randomizes the election timeout in [electionTicks, 2*electionTicks) with the injected random', () => {
      for (const [random, expectedTicks] of [
        [0, ELECTION_TICKS],
        [0.5, ELECTION_TICKS + 5],
        [0.9999, 2 * ELECTION_TICKS - 1],
      ] as const) {
        const core = newCore('solo', RaftCore.bootstrapState({ voters: ['solo'], learners: [] }), {
          random: () => random,
        })
        let ticks = 0
        while (core.role !== 'leader' && ticks < 100) {
          core.tick()
          ticks++
        }
        assert.equal(ticks, expectedTicks, `random=${random}`)
      }
    })

    it('a fresh joiner with no config stays passive', () => {
      const core = newCore('joiner', RaftCore.emptyState())
      for (let i = 0; i < 10 * ELECTION_TICKS; i++) core.tick()
      assert.equal(core.role, 'follower')
      assert.equal(core.term, 0)
      assert.deepEqual(sent(core), [])
      assert.throws(() => core.propose('x'), NotLeaderError)
    })
  })

  describe('elections', () => {
    it('elects one leader that the others follow', () => {
      const net = RaftNetwork.cluster(['a', 'b', 'c'], { seed: 2 })
      elect(net, 'a')
      net.run(3)
      assert.deepEqual(net.leaders(), ['a'])
      for (const id of ['b', 'c']) {
        assert.equal(net.core(id).leader, 'a')
        assert.equal(net.core(id).role, 'follower')
        assert.equal(net.core(id).term, net.core('a').term)
      }
    })

    it('does not grant a vote to a candidate with a less up-to-date log', () => {
      const b = newCore('b', stateWith(['a', 'b', 'c'], 2, [ent(1, 1), ent(2, 2)]))
      b.step({ type: 'vote', from: 'c', to: 'b', term: 3, lastLogIndex: 5, lastLogTerm: 1, transfer: false })
      const [response] = sent(b)
      assert.deepEqual(response, { type: 'voteResp', from: 'b', to: 'c', term: 3, granted: false })
      assert.equal(b.vote, null)
    })

    it('persists the vote in the same Ready that carries the vote response', () => {
      const b = newCore('b', stateWith(['a', 'b', 'c'], 1, []))
      b.step({ type: 'vote', from: 'c', to: 'b', term: 2, lastLogIndex: 0, lastLogTerm: 0, transfer: false })
      const rd = b.ready()
      assert.deepEqual(rd.hardState, { term: 2, vote: 'c', commit: 0 })
      assert.deepEqual(rd.messages, [{ type: 'voteResp', from: 'b', to: 'c', term: 2, granted: true }])
      assert.throws(() => b.ready(), /advance/)
      b.advance()
      // The hard state is only reported again when it changes.
      b.step({ type: 'vote', from: 'c', to: 'b', term: 2, lastLogIndex: 0, lastLogTerm: 0, transfer: false })
      const again = b.ready()
      assert.equal(again.hardState, undefined)
      assert.equal(again.messages.length, 1)
    })

    it('a leader steps down when it sees a higher term', () => {
      const a = newCore('a', stateWith(['a', 'b', 'c'], 1, []))
      makeLeader(a, 'b')
      a.step({ type: 'appendResp', from: 'c', to: 'a', term: 5, reject: true, index: 0, hintIndex: 0, hintTerm: 0 })
      assert.equal(a.role, 'follower')
      assert.equal(a.term, 5)
      assert.equal(a.leader, null)
    })

    it('answers a stale leader with its own higher term', () => {
      const b = newCore('b', stateWith(['a', 'b', 'c'], 4, []))
      b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 0 })
      const messages = sent(b)
      assert.equal(messages.length, 1)
      assert.equal(messages[0]!.type, 'appendResp')
      assert.equal(messages[0]!.term, 4)
      assert.equal(b.leader, null)
    })
  })

  describe('pre-vote and leader lease', () => {
    it('a partitioned node rejoining with a higher pre-vote term does not disrupt the leader', () => {
      const net = RaftNetwork.cluster(['a', 'b', 'c'], { seed: 3 })
      elect(net, 'a')
      net.run(3)
      const term = net.core('a').term

      net.isolate('c')
      net.run(10 * ELECTION_TICKS)
      // Pre-vote kept c from inflating its term while it could not win.
      assert.equal(net.core('c').term, term)
      assert.deepEqual(net.leaders(), ['a'])

      // Let c's next pre-vote (for term + 1) be in flight at the moment of healing.
      let preVotes: RaftMessage[] = []
      for (let i = 0; i < 4 * ELECTION_TICKS && preVotes.length === 0; i++) {
        net.tick('c')
        net.processReady('c')
        preVotes = net.peek().filter(m => m.type === 'preVote' && m.from === 'c')
      }
      assert.ok(preVotes.length > 0 && preVotes.every(m => m.term === term + 1))
      net.heal()
      net.drain()
      net.run(3 * ELECTION_TICKS)

      assert.deepEqual(net.leaders(), ['a'])
      for (const id of ['a', 'b', 'c']) assert.equal(net.core(id).term, term, `${id} term`)
      assert.equal(net.core('c').leader, 'a')
    })

    it('a follower that heard from the leader within the election timeout ignores vote requests', () => {
      const b = newCore('b', stateWith(['a', 'b', 'c'], 1, []), { random: () => 0.99 })
      b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0 })
      cycle(b)
      for (const type of ['preVote', 'vote'] as const) {
        const request =
          type === 'vote'
            ? { type, from: 'c', to: 'b', term: 2, lastLogIndex: 0, lastLogTerm: 0, transfer: false }
            : { type, from: 'c', to: 'b', term: 2, lastLogIndex: 0, lastLogTerm: 0 }
        b.step(request)
        assert.deepEqual(sent(b), [], `${type} inside the lease is ignored`)
        assert.equal(b.term, 1)
        assert.equal(b.leader, 'a')
      }

      // Once the lease has run out (no word from the leader), the vote is granted.
      for (let i = 0; i < ELECTION_TICKS; i++) b.tick()
      assert.equal(b.role, 'follower', 'randomized timeout (19) not reached yet')
      b.step({ type: 'vote', from: 'c', to: 'b', term: 2, lastLogIndex: 0, lastLogTerm: 0, transfer: false })
      const messages = sent(b)
      assert.deepEqual(messages, [{ type: 'voteResp', from: 'b', to: 'c', term: 2, granted: true }])
      assert.equal(b.vote, 'c')
    })

    it('a leader-requested transfer (timeoutNow) election bypasses the lease', () => {
      const b = newCore('b', stateWith(['a', 'b', 'c'], 1, []))
      b.step({ type: 'heartbeat', from: 'a', to: 'b', term: 1, commit: 0 })
      cycle(b)
      b.step({ type: 'vote', from: 'c', to: 'b', term: 2, lastLogIndex: 0, lastLogTerm: 0, transfer: true })
      assert.deepEqual(sent(b), [{ type: 'voteResp', from: 'b', to: 'c', term: 2, granted: true }])
    })
  })

  describe('leader unreachable (an outside failure detector)', () => {
    it('followers that saw the leader crash elect a new one within a tick per survivor, not an election timeout', () => {
      const net = RaftNetwork.cluster(['a', 'b', 'c'], { seed: 5 })
      elect(net, 'a')
      net.run(3)
      const term = net.core('a').term
      net.crash('a')
      for (const id of ['b', 'c']) assert.equal(net.core(id).leaderUnreachable('a'), true, id)
      assert.equal(net.core('b').leader, null)
      // Without the detector a follower waits at least ELECTION_TICKS; with it, the first of the
      // survivors by rank campaigns at the next tick and wins.
      net.run(1)
      assert.deepEqual(net.leaders(), ['b'])
      const leaders = net.leaders()
      assert.ok(net.core(leaders[0]!).term > term)
    })

    it('one follower losing its connection to a live leader disturbs nobody (pre-vote and lease)', () => {
      const net = RaftNetwork.cluster(['a', 'b', 'c'], { seed: 6 })
      elect(net, 'a')
      net.run(3)
      const term = net.core('a').term
      assert.equal(net.core('c').leaderUnreachable('a'), true)
      net.run(3 * ELECTION_TICKS)
      assert.deepEqual(net.leaders(), ['a'])
      for (const id of ['a', 'b', 'c']) assert.equal(net.core(id).term, term, `${id} term`)
      assert.equal(net.core('c').leader, 'a', 'c follows the leader again at its next heartbeat')
    })

    it('acts only on a follower, for the leader it knows', () => {
      const net = RaftNetwork.cluster(['a', 'b', 'c'], { seed: 7 })
      elect(net, 'a')
      net.run(3)
      assert.equal(net.core('b').leaderUnreachable('c'), false, 'c is not the leader')
      assert.equal(net.core('a').leaderUnreachable('a'), false, 'a leader never forgets itself')
      assert.equal(net.core('b').leader, 'a')
    })
  })

  describe('leadership transfer', () => {
    it('a stopping leader hands over to its caught-up voter, which leads within a round trip', () => {
      const net = RaftNetwork.cluster(['a', 'b', 'c'], { seed: 7 })
      elect(net, 'a')
      net.propose('a', 'x')
      net.run(2)
      const term = net.core('a').term
      const successor = net.core('a').transferLeadership()
      assert.ok(successor === 'b' || successor === 'c', `successor ${successor}`)
      assert.equal(net.core('a').role, 'follower', 'the old leader steps down at once')
      // No ticks: only the messages already on their way.
      net.processAll()
      net.drain()
      assert.deepEqual(net.leaders(), [successor])
      assert.equal(net.core(successor!).term, term + 1)
      // Nothing committed is lost: the new leader's log has the entry.
      net.propose(successor!, 'y')
      net.run(2)
      assert.equal(net.core('a').commitIndex, net.core(successor!).commitIndex)
    })

    it('does not hand over to a voter that lacks part of the log, nor when not leading', () => {
      const net = RaftNetwork.cluster(['a', 'b', 'c'], { seed: 8 })
      elect(net, 'a')
      net.isolate('b')
      net.isolate('c')
      net.propose('a', 'unreplicated')
      net.processAll()
      assert.equal(net.core('a').transferLeadership(), null)
      assert.equal(net.core('a').role, 'leader')
      assert.equal(net.core('b').transferLeadership(), null)
    })
  })

  describe('check quorum', () => {
    it('a leader cut off from the majority steps down within two election timeouts', () => {
      const net = RaftNetwork.cluster(['a', 'b', 'c'], { seed: 4 })
      elect(net, 'a')
      net.run(3)
      net.isolate('a')
      for (let i = 0; i < 2 * ELECTION_TICKS; i++) net.tick('a')
      assert.equal(net.core('a').role, 'follower')
      assert.equal(net.core('a').leader, null)
      // Meanwhile the majority side elects a new leader.
      net.run(4 * ELECTION_TICKS)
      const leaders = net.leaders()
      assert.equal(leaders.length, 1)
      assert.notEqual(leaders[0], 'a')
    })

    it('without checkQuorum the isolated leader keeps believing it leads', () => {
      const net = RaftNetwork.cluster(['a', 'b', 'c'], { seed: 4, raft: { checkQuorum: false } })
      elect(net, 'a')
      net.isolate('a')
      for (let i = 0; i < 5 * ELECTION_TICKS; i++) net.tick('a')
      assert.equal(net.core('a').role, 'leader')
    })
  })

  describe('log replication', () => {
    it("overwrites a follower's conflicting uncommitted suffix with the leader's log", () => {
      const voters = ['a', 'b', 'c']
      const net = new RaftNetwork({ seed: 5 })
      net.addNode('a', stateWith(voters, 3, [ent(1, 1), ent(2, 1), ent(3, 3)], 1))
      net.addNode('b', stateWith(voters, 3, [ent(1, 1), ent(2, 2, 'stale'), ent(3, 2, 'stale'), ent(4, 2, 'stale')], 1))
      net.addNode('c', stateWith(voters, 3, [ent(1, 1)], 1))
      elect(net, 'a')
      net.run(2)
      const leader = net.core('a')
      assert.equal(leader.lastIndex, 4)
      assert.equal(leader.entry(4)!.data, null, "the new leader's no-op")
      for (const id of voters) {
        const core = net.core(id)
        assert.equal(core.commitIndex, 4, `${id} commit`)
        for (let i = 1; i <= 4; i++) assert.deepEqual(core.entry(i), leader.entry(i), `${id} entry ${i}`)
        // The disk was overwritten too, not just memory.
        assert.deepEqual(
          net.node(id).disk.entries,
          [1, 2, 3, 4].map(i => leader.entry(i)),
        )
      }
    })

    it('commits an entry of an earlier term only via an entry of its own term (Figure 8)', () => {
      // a was leader of term 2 and replicated (2, term 2) nowhere; now it leads term 4.
      const a = newCore('a', stateWith(['a', 'b', 'c'], 3, [ent(1, 1), ent(2, 2)], 1))
      makeLeader(a, 'b')
      assert.equal(a.term, 4)
      assert.deepEqual(a.entry(3), { index: 3, term: 4, type: 'normal', data: null })
      cycle(a) // a's own copy is now durable

      // b now holds index 2, so a majority (a, b) stores it -- but it is from term 2.
      a.step({ type: 'appendResp', from: 'b', to: 'a', term: 4, reject: false, index: 2, hintIndex: 0, hintTerm: 0 })
      cycle(a)
      assert.equal(a.commitIndex, 1, 'must not commit an old-term entry by counting replicas')

      a.step({ type: 'appendResp', from: 'b', to: 'a', term: 4, reject: false, index: 3, hintIndex: 0, hintTerm: 0 })
      cycle(a)
      assert.equal(a.commitIndex, 3, 'committing its own no-op commits everything before it')
    })

    it('the leader counts its own copy only once it is durable', () => {
      const a = newCore('a', stateWith(['a', 'b', 'c'], 1, []))
      makeLeader(a, 'b')
      cycle(a)
      const { index } = a.propose('x')
      a.step({ type: 'appendResp', from: 'b', to: 'a', term: a.term, reject: false, index, hintIndex: 0, hintTerm: 0 })
      // b holds `index`, but a has not persisted it yet: only the no-op is on a majority of disks.
      assert.equal(a.commitIndex, index - 1)
      cycle(a)
      assert.equal(a.commitIndex, index)
    })

    it('tells followers of a commit with unanswered commit messages, whether or not they acknowledged yet', () => {
      const { a, ack } = leaderOfThree()
      const { index, term } = a.propose('x')
      sent(a) // the appends of `index`, and a's own copy is durable
      ack('b', index) // b holds it: with a, a majority
      assert.equal(a.commitIndex, index)
      // c was sent the entry too (still writing it): it learns the commit now, not one round trip later.
      assert.deepEqual(
        sent(a)
          .map(m => [m.to, m.type, m.type === 'commit' && m.commit, m.type === 'commit' && m.logTerm])
          .sort(),
        [
          ['b', 'commit', index, term],
          ['c', 'commit', index, term],
        ],
      )
      ack('c', index)
      assert.deepEqual(
        sent(a).filter(m => m.to === 'c' || m.to === 'b'),
        [],
        'nothing more to tell anyone',
      )

      // A follower answers nothing to a commit message and commits only what its log matches.
      const entries = [ent(1, a.term, null), ent(2, a.term)]
      const b = newCore('b', stateWith(['a', 'b', 'c'], a.term, entries, 0))
      b.step({ type: 'commit', from: 'a', to: 'b', term: a.term, commit: 5, logTerm: a.term })
      assert.equal(b.commitIndex, 0, 'an entry it does not hold (the append was overtaken or lost)')
      b.step({ type: 'commit', from: 'a', to: 'b', term: a.term, commit: 2, logTerm: a.term - 1 })
      assert.equal(b.commitIndex, 0, 'an entry of another term at that index')
      b.step({ type: 'commit', from: 'a', to: 'b', term: a.term, commit: 2, logTerm: a.term })
      assert.equal(b.commitIndex, 2)
      assert.equal(b.leader, 'a')
      assert.deepEqual(sent(b), [])
    })

    it('skips the heartbeat of a follower that replication traffic reached and that answered, and only that one', () => {
      const { a, ack } = leaderOfThree()
      const heartbeatsTo = (): NodeId[] =>
        sent(a)
          .filter(m => m.type === 'heartbeat')
          .map(m => m.to)
          .sort()
      a.tick()
      assert.deepEqual(heartbeatsTo(), [], 'both were sent the no-op and its commit since the last round, and answered')
      a.tick()
      assert.deepEqual(heartbeatsTo(), ['b', 'c'], 'nothing flowed since the last round: both get one')

      // An entry goes to both; only b answers before the next heartbeat round.
      const { index } = a.propose('x')
      sent(a)
      ack('b', index)
      sent(a)
      a.tick()
      assert.deepEqual(heartbeatsTo(), ['c'], 'b was just sent the entry and its commit, and answered')

      // Nothing sent to b since that round: it gets heartbeats again.
      a.tick()
      assert.deepEqual(heartbeatsTo(), ['b', 'c'])
    })

    it('splits a catch-up stream so that no append carries more than maxAppendBytes of entries (but at least one)', () => {
      const big = 'x'.repeat(200)
      const log = [ent(1, 1, big), ent(2, 1, 'small'), ent(3, 1, 'small'), ent(4, 1, big + big)]
      const appendsTo = (options: Partial<RaftOptions>): number[][] => {
        const a = newCore('a', stateWith(['a', 'b', 'c'], 1, log), options)
        makeLeader(a, 'b')
        cycle(a)
        // b answers the first probe with "I hold nothing": a streams it the whole log.
        a.step({
          type: 'appendResp',
          from: 'b',
          to: 'a',
          term: a.term,
          reject: false,
          index: 0,
          hintIndex: 0,
          hintTerm: 0,
        })
        return sent(a)
          .filter(m => m.to === 'b' && m.type === 'append')
          .map(m => (m.type === 'append' ? m.entries.map(e => e.index) : []))
      }
      assert.deepEqual(appendsTo({}), [[1, 2, 3, 4, 5]], 'by default one message')
      const capped = appendsTo({ maxAppendBytes: 300 })
      assert.deepEqual(capped.flat(), [1, 2, 3, 4, 5], 'every entry, in order')
      assert.deepEqual(
        capped,
        [[1, 2], [3], [4], [5]],
        'a 200-byte entry fits with a small one, a 400-byte one goes alone',
      )
    })

    it('backs up over a long divergent follower log in few round trips', () => {
      const voters = ['a', 'b', 'c']
      // Both logs are 41 long and diverge right after index 1: b must find that
      // out in one round trip (skipping term 2 at once), not forty.
      const stale = Array.from({ length: 40 }, (_, i) => ent(i + 2, 2, 'stale'))
      const fresh = Array.from({ length: 40 }, (_, i) => ent(i + 2, 3))
      const net = new RaftNetwork({ seed: 6 })
      net.addNode('a', stateWith(voters, 3, [ent(1, 1), ...fresh], 1))
      net.addNode('b', stateWith(voters, 3, [ent(1, 1), ...stale], 1))
      net.addNode('c', stateWith(voters, 3, [ent(1, 1)], 1))
      elect(net, 'a')
      assert.ok(net.delivered < 25, `election and catch-up took ${net.delivered} messages`)
      net.run(1)
      assert.equal(net.core('b').lastIndex, 42)
      for (const i of [2, 41, 42]) assert.deepEqual(net.core('b').entry(i), net.core('a').entry(i))
    })
  })

  describe('configuration changes', () => {
    function clusterWithJoiner(): RaftNetwork {
      const net = RaftNetwork.cluster(['a', 'b', 'c'], { seed: 7 })
      net.addNode('d', RaftCore.emptyState(), ['a', 'b', 'c'])
      elect(net, 'a')
      net.run(2)
      return net
    }

    it('rejects a second change while the first is uncommitted, and a change before the leader committed its term', () => {
      const a = newCore('a', stateWith(['a', 'b', 'c'], 1, []))
      makeLeader(a, 'b')
      assert.throws(
        () => a.proposeConfig({ voters: ['a', 'b', 'c'], learners: ['d'] }),
        (e: unknown) => e instanceof ConfigChangeError && e.reason === 'leaderNotReady',
      )
      cycle(a)
      a.step({
        type: 'appendResp',
        from: 'b',
        to: 'a',
        term: a.term,
        reject: false,
        index: 1,
        hintIndex: 0,
        hintTerm: 0,
      })
      assert.equal(a.commitIndex, 1)

      const { index } = a.proposeConfig({ voters: ['a', 'b', 'c'], learners: ['d'] })
      // Effective on append: the leader already replicates to d.
      assert.deepEqual(a.config, { voters: ['a', 'b', 'c'], learners: ['d'] })
      assert.equal(a.configChangePending, true)
      assert.ok(a.progress()!.some(p => p.id === 'd' && p.isLearner))
      assert.throws(
        () => a.proposeConfig({ voters: ['a', 'b', 'c', 'd'], learners: [] }),
        (e: unknown) => e instanceof ConfigChangeError && e.reason === 'changeInProgress',
      )
      cycle(a)
      a.step({ type: 'appendResp', from: 'c', to: 'a', term: a.term, reject: false, index, hintIndex: 0, hintTerm: 0 })
      assert.equal(a.configChangePending, false)
      assert.doesNotThrow(() => a.proposeConfig({ voters: ['a', 'b', 'c', 'd'], learners: [] }))
    })

    it('rejects changing two voters at once and invalid configs', () => {
      const net = clusterWithJoiner()
      const a = net.core('a')
      const rejects = (config: { voters: string[]; learners: string[] }, reason: string) =>
        assert.throws(
          () => a.proposeConfig(config),
          (e: unknown) => e instanceof ConfigChangeError && e.reason === reason,
          JSON.stringify(config),
        )
      rejects({ voters: ['a', 'b', 'c', 'd', 'e'], learners: [] }, 'tooManyVoterChanges')
      rejects({ voters: ['a', 'd', 'e'], learners: [] }, 'tooManyVoterChanges')
      rejects({ voters: [], learners: ['a'] }, 'invalidConfig')
      rejects({ voters: ['a', 'b', 'c'], learners: ['c'] }, 'invalidConfig')
      assert.throws(() => net.core('b').proposeConfig({ voters: ['a', 'b'], learners: [] }), NotLeaderError)
    })

    it('adds a learner that replicates but neither votes nor counts for commit, then promotes it', () => {
      const net = clusterWithJoiner()
      net.core('a').proposeConfig({ voters: ['a', 'b', 'c'], learners: ['d'] })
      net.run(2)
      const d = net.core('d')
      assert.equal(d.role, 'learner')
      assert.deepEqual(d.config, { voters: ['a', 'b', 'c'], learners: ['d'] })
      assert.equal(d.commitIndex, net.core('a').commitIndex)

      // With b and c cut off, d's acknowledgement alone cannot commit anything.
      net.cutLink('a', 'b')
      net.cutLink('a', 'c')
      const { index } = net.propose('a', 'only-a-and-d')
      net.drain()
      assert.equal(d.lastIndex, index, 'd received the entry')
      assert.ok(net.core('a').commitIndex < index, 'a learner must not count toward the quorum')

      // An isolated learner never campaigns.
      net.isolate('d')
      const termBefore = d.term
      for (let i = 0; i < 5 * ELECTION_TICKS; i++) net.tick('d')
      net.processAll()
      assert.equal(d.role, 'learner')
      assert.equal(d.term, termBefore)

      net.heal()
      net.run(1) // the next heartbeat round re-sends what the cut links dropped
      assert.equal(net.core('a').commitIndex, index)

      net.core('a').proposeConfig({ voters: ['a', 'b', 'c', 'd'], learners: [] })
      net.run(2)
      for (const id of ['a', 'b', 'c', 'd'])
        assert.deepEqual(net.core(id).config, { voters: ['a', 'b', 'c', 'd'], learners: [] })
      assert.equal(d.role, 'follower')
      assert.deepEqual(net.node('d').stateMachine, net.node('a').stateMachine)
    })

    it('removes the leader itself: it steps down once the change commits, hands over, and never campaigns again', () => {
      const net = clusterWithJoiner()
      net.core('a').proposeConfig({ voters: ['a', 'b', 'c'], learners: ['d'] })
      net.run(2)
      net.core('a').proposeConfig({ voters: ['a', 'b', 'c', 'd'], learners: [] })
      net.run(2)
      const oldTerm = net.core('a').term

      net.core('a').proposeConfig({ voters: ['b', 'c', 'd'], learners: [] })
      net.drain()
      assert.notEqual(net.core('a').role, 'leader')
      // timeoutNow made a remaining voter take over without waiting for a timeout.
      const leaders = net.leaders()
      assert.equal(leaders.length, 1)
      assert.ok(['b', 'c', 'd'].includes(leaders[0]!))
      assert.ok(net.core(leaders[0]!).term > oldTerm)

      const { index } = net.propose(leaders[0]!, 'after-removal')
      net.run(2)
      for (const id of ['b', 'c', 'd']) assert.ok(net.core(id).commitIndex >= index)

      // The removed node stays passive even when it hears nothing for a long time.
      net.isolate('a')
      const aTerm = net.core('a').term
      for (let i = 0; i < 10 * ELECTION_TICKS; i++) net.tick('a')
      net.processAll()
      assert.equal(net.core('a').role, 'follower')
      assert.equal(net.core('a').term, aTerm)
      assert.deepEqual(
        net.peek().filter(m => m.from === 'a'),
        [],
      )
    })

    it('removes a follower; the remaining pair keeps committing', () => {
      const net = clusterWithJoiner()
      net.core('a').proposeConfig({ voters: ['a', 'b'], learners: [] })
      net.run(2)
      assert.deepEqual(net.core('b').config, { voters: ['a', 'b'], learners: [] })
      net.crash('c')
      const { index } = net.propose('a', 'two-voters')
      net.run(1)
      assert.equal(net.core('b').commitIndex, index)
      assert.ok(
        !net
          .core('a')
          .progress()!
          .some(p => p.id === 'c'),
      )
    })

    it('falls back to the previous config when an uncommitted config entry is truncated', () => {
      const voters = ['a', 'b', 'c']
      const config = { index: 2, term: 2, type: 'config' as const, data: { voters: ['a', 'b'], learners: [] } }
      const b = newCore('b', stateWith(voters, 2, [ent(1, 1), config], 1))
      assert.deepEqual(b.config, { voters: ['a', 'b'], learners: [] })
      b.step({
        type: 'append',
        from: 'c',
        to: 'b',
        term: 3,
        prevLogIndex: 1,
        prevLogTerm: 1,
        entries: [ent(2, 3)],
        commit: 1,
      })
      assert.deepEqual(b.config, { voters, learners: [] })
      const [rd] = cycle(b)
      assert.deepEqual(rd!.entries, [ent(2, 3)], 'the adapter is told to overwrite from index 2')
    })
  })

  describe('snapshots', () => {
    it('sends a snapshot to a follower whose missing entries were compacted', () => {
      const net = RaftNetwork.cluster(['a', 'b', 'c'], { seed: 8 })
      elect(net, 'a')
      net.run(2)
      net.isolate('c')
      for (let i = 0; i < 10; i++) net.propose('a', `x${i}`)
      net.run(2)
      const snapshot = net.compact('a')
      assert.ok(snapshot && snapshot.index === net.core('a').commitIndex)
      assert.equal(net.core('a').firstIndex, snapshot.index + 1)
      net.propose('a', 'after-snapshot')

      net.heal()
      net.run(3)
      const c = net.node('c')
      assert.equal(c.disk.snapshot?.index, snapshot.index, "c persisted the leader's snapshot")
      assert.equal(c.core!.commitIndex, net.core('a').commitIndex)
      assert.deepEqual(c.stateMachine, net.node('a').stateMachine)
      assert.deepEqual(c.stateMachine.slice(-2), ['x9', 'after-snapshot'])
      assert.equal(
        net
          .core('a')
          .progress()!
          .find(p => p.id === 'c')!.state,
        'replicate',
      )
    })

    it('restarts from a compacted disk', () => {
      const net = RaftNetwork.cluster(['a', 'b', 'c'], { seed: 9 })
      elect(net, 'a')
      for (let i = 0; i < 5; i++) net.propose('a', `y${i}`)
      net.run(2)
      net.compact('b')
      net.crash('b')
      net.restart('b')
      net.run(2)
      assert.deepEqual(net.node('b').stateMachine, ['y0', 'y1', 'y2', 'y3', 'y4'])
      assert.equal(net.core('b').leader, 'a')
    })
  })

  describe('status accessors', () => {
    it('exposes per-peer progress on the leader only', () => {
      const net = RaftNetwork.cluster(['a', 'b', 'c'], { seed: 10 })
      elect(net, 'a')
      net.run(2)
      const progress = net.core('a').progress()!
      assert.deepEqual(
        progress.map(p => [p.id, p.matchIndex, p.nextIndex, p.state, p.recentActive]),
        [
          ['b', 1, 2, 'replicate', true],
          ['c', 1, 2, 'replicate', true],
        ],
      )
      assert.ok(progress.every(p => p.lastContactTick !== null && p.lastContactTick <= net.core('a').tickCount))
      assert.equal(net.core('b').progress(), null)
      assert.deepEqual(JSON.parse(JSON.stringify(progress)), progress, 'JSON-serializable')
    })
  })
})
