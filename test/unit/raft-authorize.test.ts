// The authorization gate in front of the Raft core: the table of who may send what, and the
// trust anchor (vouchers) that lets a node with an empty or outdated config find its leader.
import assert from 'node:assert/strict'
import { authorize, type AuthorizationView, type MessageEnvelope } from '../../src/election/core/authorize.js'
import { RaftCore } from '../../src/election/core/raft.js'
import { RaftGate } from '../../src/election/core/raft-gate.js'
import type { RaftMessageType } from '../../src/election/core/types.js'
import { RaftNetwork } from '../sim/raft-network.js'

/** Node 'me' in term 5, following leader 'L', voters L, me, v; learner 'ln'; its log ends at (10, 5). */
const VIEW: AuthorizationView = {
  self: 'me',
  term: 5,
  leader: 'L',
  vote: null,
  config: { voters: ['L', 'me', 'v'], learners: ['ln'] },
  lastLogIndex: 10,
  lastLogTerm: 5,
  vouched: new Set(),
  leaderlessTicks: 0,
  learnerVoteAfterTicks: 100,
}

function env(
  type: RaftMessageType,
  from: string,
  term: number,
  log?: { index: number; term: number },
): MessageEnvelope {
  if (type === 'preVote' || type === 'vote')
    return { type, from, term, lastLogIndex: log?.index ?? 10, lastLogTerm: log?.term ?? 5 }
  return { type, from, term } as MessageEnvelope
}

const LEADER_TYPES: RaftMessageType[] = ['append', 'heartbeat', 'snapshot', 'commit', 'timeoutNow']

describe('authorize (raft message gate)', () => {
  it('leader messages: only from a voter, and at the current term only from the known leader', () => {
    const cases: Array<[string, Partial<AuthorizationView>, string, number, string]> = [
      ['the known leader at the current term', {}, 'L', 5, 'ok'],
      ['a voter claiming the current term while L leads it', {}, 'v', 5, 'not_leader'],
      ['a learner claiming the current term', {}, 'ln', 5, 'not_leader'],
      ['a stranger claiming the current term', {}, 'x', 5, 'not_leader'],
      ['a voter at a higher term (a new election)', {}, 'v', 6, 'ok'],
      ['a learner at a higher term', {}, 'ln', 6, 'not_voter'],
      ['a stranger at a higher term', {}, 'x', 6, 'not_voter'],
      ['a stranger at term 2^48', {}, 'x', 2 ** 48, 'not_voter'],
      ['a stranger at a lower term', {}, 'x', 4, 'not_voter'],
      ['a voter at the current term when no leader is known', { leader: null }, 'v', 5, 'ok'],
      ['a stranger at the current term when no leader is known', { leader: null }, 'x', 5, 'not_voter'],
      ['the learner this node voted for in this term', { leader: null, vote: 'ln' }, 'ln', 5, 'ok'],
      ['the learner this node voted for, at a later term', { leader: null, vote: 'ln' }, 'ln', 6, 'not_voter'],
      ['a vouched node at a higher term', { vouched: new Set(['x']) }, 'x', 6, 'ok'],
      ['a vouched node at the current term while L leads it', { vouched: new Set(['x']) }, 'x', 5, 'not_leader'],
      [
        'the leader of this term after a config removed it (it leads until the removal commits)',
        { config: { voters: ['me', 'v'], learners: [] } },
        'L',
        5,
        'ok',
      ],
      ['a message claiming to come from this node', { leader: null }, 'me', 6, 'from_self'],
      [
        'anyone, to a node with an empty config',
        { leader: null, config: { voters: [], learners: [] } },
        'L',
        6,
        'not_voter',
      ],
    ]
    for (const [what, view, from, term, expected] of cases) {
      for (const type of LEADER_TYPES) {
        assert.equal(authorize(env(type, from, term), { ...VIEW, ...view }), expected, `${type}: ${what}`)
      }
    }
  })

  it('vote requests: from voters and vouched nodes; from a learner only when long leaderless and behind it', () => {
    const leaderless = { leader: null, leaderlessTicks: 100 }
    const cases: Array<
      [string, string, { index: number; term: number } | undefined, Partial<AuthorizationView>, string]
    > = [
      ['a voter', 'v', undefined, {}, 'ok'],
      ['a stranger with a longer log', 'x', { index: 99, term: 9 }, leaderless, 'not_voter'],
      ['a learner whose log equals ours', 'ln', { index: 10, term: 5 }, leaderless, 'not_voter'],
      ['a learner whose log is longer in our last term', 'ln', { index: 11, term: 5 }, leaderless, 'ok'],
      ['a learner whose last term is later', 'ln', { index: 3, term: 6 }, leaderless, 'ok'],
      ['a learner whose log is behind', 'ln', { index: 9, term: 5 }, leaderless, 'not_voter'],
      ['a learner ahead, while this node follows a leader', 'ln', { index: 3, term: 6 }, {}, 'not_voter'],
      [
        'a learner ahead, before this node has been without a leader for learnerVoteAfterTicks (a routine failover)',
        'ln',
        { index: 99, term: 6 },
        { leader: null, leaderlessTicks: 99 },
        'not_voter',
      ],
      ['a stranger ahead, however long leaderless', 'x', { index: 99, term: 6 }, leaderless, 'not_voter'],
      ['a vouched node', 'x', undefined, { vouched: new Set(['x']) }, 'ok'],
      [
        'a voter the latest config removed',
        'v',
        undefined,
        { config: { voters: ['L', 'me'], learners: [] } },
        'not_voter',
      ],
    ]
    for (const [what, from, log, view, expected] of cases) {
      for (const type of ['preVote', 'vote'] as const) {
        assert.equal(authorize(env(type, from, 6, log), { ...VIEW, ...view }), expected, `${type}: ${what}`)
      }
    }
  })

  it('responses: vote responses from voters, others from members', () => {
    const cases: Array<[RaftMessageType, string, string]> = [
      ['voteResp', 'v', 'ok'],
      ['voteResp', 'ln', 'not_voter'],
      ['voteResp', 'x', 'not_voter'],
      ['preVoteResp', 'v', 'ok'],
      ['preVoteResp', 'x', 'not_voter'],
      ['appendResp', 'v', 'ok'],
      ['appendResp', 'ln', 'ok'],
      ['appendResp', 'x', 'not_member'],
      ['heartbeatResp', 'ln', 'ok'],
      ['heartbeatResp', 'x', 'not_member'],
    ]
    for (const [type, from, expected] of cases) {
      assert.equal(authorize(env(type, from, 9), VIEW), expected, `${type} from ${from}`)
      // A vouch makes a node a voter for leading and voting, never a member whose answers count.
      if (from === 'x')
        assert.equal(authorize(env(type, from, 9), { ...VIEW, vouched: new Set(['x']) }), expected, `${type} vouched`)
    }
  })
})

describe('RaftGate (trust anchor)', () => {
  const timing = { electionTicks: 10, heartbeatTicks: 1, random: () => 0 }
  const member = (): RaftCore =>
    new RaftCore({ id: 'a', ...timing }, RaftCore.bootstrapState({ voters: ['a', 'b'], learners: ['c'] }))
  const options = { vouchers: ['boot'], askEveryTicks: 10, vouchTicks: 30, learnerVoteAfterTicks: 40 }

  it('asks the known voters and the bootstrap peers, at most once per period', () => {
    const core = member()
    const gate = new RaftGate(core, options)
    assert.deepEqual(gate.targetsToAsk(), ['b', 'boot'])
    assert.deepEqual(gate.targetsToAsk(), [], 'a flood of refused messages costs one round per period')
    for (let i = 0; i < 9; i++) core.tick()
    assert.deepEqual(gate.targetsToAsk(), [])
    core.tick()
    assert.deepEqual(gate.targetsToAsk(), ['b', 'boot'])
  })

  it('a new node with no config asks only its bootstrap peers, and none when it has none', () => {
    const fresh = new RaftCore({ id: 'n', ...timing }, RaftCore.emptyState())
    assert.deepEqual(new RaftGate(fresh, options).targetsToAsk(), ['boot'])
    assert.deepEqual(new RaftGate(fresh, { ...options, vouchers: [] }).targetsToAsk(), [])
  })

  it('a vouch makes the named voters acceptable leaders until it expires', () => {
    const fresh = new RaftCore({ id: 'n', ...timing }, RaftCore.emptyState())
    const gate = new RaftGate(fresh, options)
    const append = { type: 'append', from: 'L', term: 3 } as const
    assert.equal(gate.check(append), 'not_voter')
    gate.vouch({ status: 'refused', reason: 'not_member' })
    assert.equal(gate.check(append), 'not_voter', 'a refusal vouches for nobody')
    gate.vouch({ status: 'ok', term: 3, leader: 'L', voters: ['L', 'M', 'n'] })
    assert.equal(gate.check(append), 'ok')
    assert.equal(gate.check({ ...append, from: 'M' }), 'ok')
    assert.equal(gate.check({ ...append, from: 'stranger' }), 'not_voter')
    for (let i = 0; i <= 30; i++) fresh.tick()
    assert.equal(gate.check(append), 'not_voter', 'expired')
  })

  it('counts the ticks without a leader from the start, and from the last leader seen', () => {
    // A learner ahead of this node asks for its vote on every tick.
    const learnerVote = { type: 'preVote', from: 'c', term: 9, lastLogIndex: 99, lastLogTerm: 9 } as const
    const core = member()
    const gate = new RaftGate(core, options)
    for (let i = 0; i < 39; i++) {
      core.tick()
      assert.equal(gate.check(learnerVote), 'not_voter', `tick ${core.tickCount}: a start counts as having a leader`)
    }
    core.tick()
    assert.equal(gate.view().leaderlessTicks, 40)
    assert.equal(gate.check(learnerVote), 'ok', 'no leader for learnerVoteAfterTicks: the learner may be the way out')

    // A node that had a leader waits again from the last moment it saw one.
    const solo = new RaftCore({ id: 'a', ...timing }, RaftCore.bootstrapState({ voters: ['a'], learners: ['c'] }))
    const soloGate = new RaftGate(solo, options)
    while (solo.role !== 'leader') solo.tick()
    assert.equal(soloGate.view().leaderlessTicks, 0)
    assert.equal(soloGate.check(learnerVote), 'not_voter', 'a node with a leader has no election to vote in')
  })

  it('answers members only, at most once per tick each', () => {
    const core = member()
    const gate = new RaftGate(core, options)
    assert.deepEqual(gate.answer('stranger'), { status: 'refused', reason: 'not_member' })
    assert.deepEqual(gate.answer('c'), { status: 'ok', term: 0, leader: null, voters: ['a', 'b'] })
    assert.deepEqual(gate.answer('c'), { status: 'refused', reason: 'rate_limited' })
    assert.equal(gate.answer('b').status, 'ok', 'the limit is per member')
    core.tick()
    assert.equal(gate.answer('c').status, 'ok')
  })
})

describe('liveness through the gate', () => {
  it('a learner promoted without one voter seeing it can still be elected when the leader dies', () => {
    // {a, b} with learner c: a commits c's promotion with c's copy alone (b is cut off), then
    // dies. b still sees c as a learner; c needs b's vote, and b's vote is all anyone can get.
    const before = { voters: ['a', 'b'], learners: ['c'] }
    const net = new RaftNetwork({ seed: 11 })
    for (const id of ['a', 'b', 'c']) net.addNode(id, RaftCore.bootstrapState(before))
    for (let i = 0; i < 40 && net.core('a').role !== 'leader'; i++) {
      net.tick('a')
      net.drain()
    }
    assert.equal(net.core('a').role, 'leader')
    net.run(2)
    net.cutLink('a', 'b')
    net.core('a').proposeConfig({ voters: ['a', 'b', 'c'], learners: [] })
    net.run(3)
    assert.deepEqual(net.core('c').config.voters, ['a', 'b', 'c'])
    assert.deepEqual(net.core('b').config, before, 'b never saw the promotion')
    assert.ok(net.core('a').commitIndex >= net.core('a').lastIndex, 'committed by a and c')
    net.crash('a')
    net.heal()
    // b hears c's vote request once it has been without a leader for learnerVoteAfterTicks.
    net.run(300)
    assert.equal(net.core('c').role, 'leader')
    assert.equal(net.core('b').leader, 'c')
    assert.deepEqual(net.core('b').config.voters, ['a', 'b', 'c'])
  })
})
