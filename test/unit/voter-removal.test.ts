// Removing a voter by hand: when the leader refuses (not a voter, the last voter, itself, no live
// majority left), how a node is named (peer id or unique name), and the autopilot not taking a
// removed node straight back while the membership still counts it alive.
import assert from 'node:assert/strict'
import { voterRemovalProblem } from '../../src/election/voter-removal.js'
import { planAutopilot, type AutopilotInput } from '../../src/election/autopilot.js'
import type { PeerProgress } from '../../src/election/core/types.js'
import { resolveNode } from '../../src/cluster/node-ref.js'
import { AmbiguousNodeError, NodeNotFoundError } from '../../src/cluster/errors.js'

describe('voterRemovalProblem', () => {
  const config = { voters: ['L', 'b', 'c'], learners: ['d'] }
  const aliveOnly =
    (...ids: string[]) =>
    (id: string): boolean =>
      ids.includes(id)

  const cases: Array<[string, Parameters<typeof voterRemovalProblem>[0], ReturnType<typeof voterRemovalProblem>]> = [
    ['a dead voter of three, the other alive', { config, leaderId: 'L', id: 'c', isAlive: aliveOnly('b') }, null],
    ['an alive voter of three', { config, leaderId: 'L', id: 'c', isAlive: aliveOnly('b', 'c') }, null],
    ['a learner', { config, leaderId: 'L', id: 'd', isAlive: aliveOnly('b', 'c', 'd') }, 'not_voter'],
    ['an unknown id', { config, leaderId: 'L', id: 'zz', isAlive: aliveOnly('b', 'c') }, 'not_voter'],
    ['the leader', { config, leaderId: 'L', id: 'L', isAlive: aliveOnly('b', 'c') }, 'is_leader'],
    [
      'the only voter',
      { config: { voters: ['L'], learners: [] }, leaderId: 'L', id: 'L', isAlive: aliveOnly() },
      'last_voter',
    ],
    // Two voters left (L and b) need both; b is not alive.
    [
      'a voter when the one left besides the leader is dead',
      { config, leaderId: 'L', id: 'c', isAlive: aliveOnly() },
      'no_quorum',
    ],
    [
      'one of five with two others dead',
      { config: { voters: ['L', 'b', 'c', 'e', 'f'], learners: [] }, leaderId: 'L', id: 'f', isAlive: aliveOnly('b') },
      'no_quorum',
    ],
    [
      'one of five with one other dead',
      {
        config: { voters: ['L', 'b', 'c', 'e', 'f'], learners: [] },
        leaderId: 'L',
        id: 'f',
        isAlive: aliveOnly('b', 'c'),
      },
      null,
    ],
  ]
  for (const [what, input, expected] of cases)
    it(`${what}: ${expected ?? 'allowed'}`, () => {
      assert.equal(voterRemovalProblem(input), expected)
    })
})

describe('resolveNode', () => {
  const nodes = [
    { id: '12D3KooWA', name: 'edge-1' },
    { id: '12D3KooWB', name: 'edge-2' },
    { id: '12D3KooWC', name: 'edge-2' },
    { id: '12D3KooWD', name: null },
  ]

  it('takes a peer id as is, and a name that one node has', () => {
    assert.equal(resolveNode('12D3KooWB', nodes), '12D3KooWB')
    assert.equal(resolveNode('12D3KooWD', nodes), '12D3KooWD')
    assert.equal(resolveNode('edge-1', nodes), '12D3KooWA')
  })

  it('a name two nodes have is ambiguous, listing their ids; an unknown one is not found', () => {
    assert.throws(
      () => resolveNode('edge-2', nodes),
      (err: Error) => {
        assert.ok(err instanceof AmbiguousNodeError)
        assert.match(err.message, /2 nodes are named "edge-2".*12D3KooWB, 12D3KooWC/)
        return true
      },
    )
    assert.throws(() => resolveNode('edge-9', nodes), NodeNotFoundError)
    assert.throws(() => resolveNode('', nodes), NodeNotFoundError)
  })
})

describe('autopilot: a voter removed by hand', () => {
  const progress = (id: string): PeerProgress => ({
    id,
    isLearner: true,
    state: 'replicate',
    matchIndex: 100,
    nextIndex: 101,
    recentActive: true,
    lastContactTick: 0,
  })
  const base: AutopilotInput = {
    config: { voters: ['L', 'b'], learners: [] },
    changePending: false,
    leaderId: 'L',
    leaderLastIndex: 100,
    progress: [],
    // 'c' was just removed: killed, but the membership has not noticed yet. 'w' is a healthy worker.
    members: ['b', 'c', 'w'].map(id => ({ id, state: 'alive' as const, stateForMs: 1000 })),
    maxVoters: 3,
    maxStandbys: 0,
    replaceDeadVoterAfterMs: 15_000,
    removeDeadLearnerAfterMs: 60_000,
    learnerCatchUpLag: 10,
  }

  it('without the exclusion it would take the removed node straight back as a learner', () => {
    assert.deepEqual(planAutopilot(base)?.id, 'c')
  })

  it('excluded, it adds another member instead, and never promotes the removed one', () => {
    const action = planAutopilot({ ...base, excluded: ['c'] })
    assert.equal(action?.kind, 'addLearner')
    assert.equal(action?.id, 'w')
    const onlyRemoved = planAutopilot({ ...base, members: base.members.filter(m => m.id !== 'w'), excluded: ['c'] })
    assert.equal(onlyRemoved, null)
  })

  it('an excluded node does not count as a replacement for a dead voter of an odd count', () => {
    // Voters L, b, x with x long dead: replaced only if someone can take its place.
    const input: AutopilotInput = {
      ...base,
      config: { voters: ['L', 'b', 'x'], learners: [] },
      members: [
        { id: 'b', state: 'alive', stateForMs: 1000 },
        { id: 'c', state: 'alive', stateForMs: 1000 },
        { id: 'x', state: 'dead', stateForMs: 20_000 },
      ],
      progress: [progress('b')],
    }
    assert.equal(planAutopilot(input)?.kind, 'removeVoter', 'c would do')
    assert.equal(planAutopilot({ ...input, excluded: ['c'] }), null)
  })
})
