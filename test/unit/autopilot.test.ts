import assert from 'node:assert/strict'
import {
  largestOddAtMost,
  planAutopilot,
  type AutopilotAction,
  type AutopilotInput,
  type AutopilotMember,
} from '../../src/election/autopilot.js'
import { majority } from '../../src/election/core/quorum.js'
import { checkConfigChange, voterChanges } from '../../src/election/core/raft-config.js'
import type { ClusterConfig, NodeId, PeerProgress } from '../../src/election/core/types.js'
import { Prng } from '../../harness/sim/prng.js'

const LEADER = 'L'
const LAST_INDEX = 1000
const LAG = 10
const REPLACE_VOTER_MS = 60_000
const REMOVE_LEARNER_MS = 120_000

function peer(id: NodeId, matchIndex: number, isLearner = true): PeerProgress {
  return {
    id,
    isLearner,
    state: 'replicate',
    matchIndex,
    nextIndex: matchIndex + 1,
    recentActive: true,
    lastContactTick: 0,
  }
}

/** Progress entries for peers at the leader's last index (caught up). */
function caughtUp(...ids: NodeId[]): PeerProgress[] {
  return ids.map(id => peer(id, LAST_INDEX))
}

/** Progress entries for peers far behind (just added, still streaming). */
function behind(...ids: NodeId[]): PeerProgress[] {
  return ids.map(id => peer(id, LAST_INDEX - LAG - 1))
}

function alive(...ids: NodeId[]): AutopilotMember[] {
  return ids.map(id => ({ id, state: 'alive', stateForMs: 10_000 }))
}

function member(id: NodeId, state: AutopilotMember['state'], stateForMs: number): AutopilotMember {
  return { id, state, stateForMs }
}

function cfg(voters: NodeId[], learners: NodeId[] = []): ClusterConfig {
  return { voters, learners }
}

function input(partial: Partial<AutopilotInput> & Pick<AutopilotInput, 'config'>): AutopilotInput {
  return {
    changePending: false,
    leaderId: LEADER,
    leaderLastIndex: LAST_INDEX,
    progress: [],
    members: [],
    maxVoters: 5,
    // Unbounded unless a test says otherwise: the rules below were written for "every member
    // becomes a learner"; the standby tests set their own.
    maxStandbys: Number.POSITIVE_INFINITY,
    replaceDeadVoterAfterMs: REPLACE_VOTER_MS,
    removeDeadLearnerAfterMs: REMOVE_LEARNER_MS,
    learnerCatchUpLag: LAG,
    ...partial,
  }
}

/** The action without its free-text reason, for exact comparison. */
function shape(action: AutopilotAction | null): { kind: string; id: string; config: ClusterConfig } | null {
  if (action === null) return null
  return { kind: action.kind, id: action.id, config: action.config }
}

interface Case {
  name: string
  input: AutopilotInput
  expected: { kind: AutopilotAction['kind']; id: NodeId; config: ClusterConfig } | null
}

function runTable(cases: Case[]): void {
  for (const c of cases) assert.deepEqual(shape(planAutopilot(c.input)), c.expected, c.name)
}

describe('autopilot', () => {
  it('largestOddAtMost', () => {
    const table: Array<[number, number]> = [
      [-1, 0],
      [0, 0],
      [1, 1],
      [2, 1],
      [3, 3],
      [4, 3],
      [5, 5],
      [6, 5],
      [7, 7],
    ]
    for (const [n, expected] of table) assert.equal(largestOddAtMost(n), expected, `largestOddAtMost(${n})`)
  })

  it('rule 1: plans nothing while a change is pending', () => {
    runTable([
      {
        name: 'new member waits',
        input: input({ config: cfg(['L']), members: alive('L', 'A'), changePending: true }),
        expected: null,
      },
      {
        name: 'left voter waits',
        input: input({
          config: cfg(['A', 'B', 'L']),
          members: [...alive('A'), member('B', 'left', 0)],
          changePending: true,
        }),
        expected: null,
      },
      {
        name: 'promotion waits',
        input: input({
          config: cfg(['L', 'A'], ['B']),
          members: alive('A', 'B'),
          progress: caughtUp('A', 'B'),
          changePending: true,
        }),
        expected: null,
      },
    ])
  })

  it('bootstrap: a 1-voter cluster adds learners and promotes only to reach 3', () => {
    runTable([
      {
        name: 'new member becomes a learner',
        input: input({ config: cfg(['L']), members: alive('L', 'A') }),
        expected: { kind: 'addLearner', id: 'A', config: cfg(['L'], ['A']) },
      },
      {
        name: 'leader absent from gossip still works',
        input: input({ config: cfg(['L']), members: alive('A') }),
        expected: { kind: 'addLearner', id: 'A', config: cfg(['L'], ['A']) },
      },
      {
        name: 'lowest id first',
        input: input({ config: cfg(['L']), members: alive('C', 'B', 'A') }),
        expected: { kind: 'addLearner', id: 'A', config: cfg(['L'], ['A']) },
      },
      {
        name: 'one caught-up learner: no promotion to 2 voters (even)',
        input: input({ config: cfg(['L'], ['A']), members: alive('A'), progress: caughtUp('A') }),
        expected: null,
      },
      {
        name: 'second learner not caught up yet: still no promotion',
        input: input({
          config: cfg(['L'], ['A', 'B']),
          members: alive('A', 'B'),
          progress: [...caughtUp('A'), ...behind('B')],
        }),
        expected: null,
      },
      {
        name: 'two caught-up learners: promote towards 3',
        input: input({ config: cfg(['L'], ['A', 'B']), members: alive('A', 'B'), progress: caughtUp('A', 'B') }),
        expected: { kind: 'promote', id: 'A', config: cfg(['A', 'L'], ['B']) },
      },
      {
        name: '2 voters: promote the next one to get back to odd',
        input: input({ config: cfg(['A', 'L'], ['B']), members: alive('A', 'B'), progress: caughtUp('A', 'B') }),
        expected: { kind: 'promote', id: 'B', config: cfg(['A', 'B', 'L']) },
      },
    ])
  })

  it('growth 3 -> 5 and no further with maxVoters 5', () => {
    const everyone = ['A', 'B', 'C', 'D', 'E', 'F']
    runTable([
      {
        name: '3 voters, 1 caught-up learner: stay at 3',
        input: input({
          config: cfg(['A', 'B', 'L'], ['C']),
          members: alive(...everyone.slice(0, 3)),
          progress: caughtUp('A', 'B', 'C'),
        }),
        expected: null,
      },
      {
        name: '3 voters, 2 caught-up learners: grow',
        input: input({
          config: cfg(['A', 'B', 'L'], ['C', 'D']),
          members: alive('A', 'B', 'C', 'D'),
          progress: caughtUp('A', 'B', 'C', 'D'),
        }),
        expected: { kind: 'promote', id: 'C', config: cfg(['A', 'B', 'C', 'L'], ['D']) },
      },
      {
        name: '4 voters: back to odd',
        input: input({
          config: cfg(['A', 'B', 'C', 'L'], ['D']),
          members: alive('A', 'B', 'C', 'D'),
          progress: caughtUp('A', 'B', 'C', 'D'),
        }),
        expected: { kind: 'promote', id: 'D', config: cfg(['A', 'B', 'C', 'D', 'L']) },
      },
      {
        name: '5 voters + 2 learners is the end state',
        input: input({
          config: cfg(['A', 'B', 'C', 'D', 'L'], ['E', 'F']),
          members: alive(...everyone),
          progress: caughtUp(...everyone),
        }),
        expected: null,
      },
      {
        name: 'maxVoters 4 keeps 3 (odd) rather than 4',
        input: input({
          config: cfg(['A', 'B', 'L'], ['C', 'D']),
          members: alive('A', 'B', 'C', 'D'),
          progress: caughtUp('A', 'B', 'C', 'D'),
          maxVoters: 4,
        }),
        expected: null,
      },
      {
        name: 'more voters than maxVoters (cap lowered): no promotion, no demotion',
        input: input({
          config: cfg(['A', 'B', 'C', 'D', 'L'], ['E']),
          members: alive('A', 'B', 'C', 'D', 'E'),
          progress: caughtUp('A', 'B', 'C', 'D', 'E'),
          maxVoters: 3,
        }),
        expected: null,
      },
    ])
  })

  it('7 members with maxVoters 5 settle at 5 voters and 2 learners', () => {
    const ids = ['A', 'B', 'C', 'D', 'E', 'F']
    let config = cfg(['L'])
    const kinds: string[] = []
    for (let step = 0; step < 20; step++) {
      // Everything committed and replicated instantly.
      const action = planAutopilot(input({ config, members: alive('L', ...ids), progress: caughtUp(...ids) }))
      if (action === null) break
      kinds.push(action.kind)
      assert.ok(voterChanges(config, action.config) <= 1)
      config = action.config
    }
    assert.deepEqual(config, cfg(['A', 'B', 'C', 'D', 'L'], ['E', 'F']))
    assert.deepEqual(kinds, [...ids.map(() => 'addLearner'), 'promote', 'promote', 'promote', 'promote'])
  })

  it('10 members with maxVoters 5 and 2 standbys: 5 voters, 2 learners, 3 workers outside the log', () => {
    const ids = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I']
    let config = cfg(['L'])
    for (let step = 0; step < 30; step++) {
      const action = planAutopilot(
        input({ config, maxStandbys: 2, members: alive('L', ...ids), progress: caughtUp(...ids) }),
      )
      if (action === null) break
      assert.ok(voterChanges(config, action.config) <= 1)
      config = action.config
    }
    assert.deepEqual(config, cfg(['A', 'B', 'C', 'D', 'L'], ['E', 'F']))
  })

  it('learners beyond the standbys go back to being workers, highest id first, one at a time', () => {
    runTable([
      {
        name: 'voters complete, 4 learners, 2 standbys wanted',
        input: input({
          config: cfg(['A', 'B', 'C', 'D', 'L'], ['E', 'F', 'G', 'H']),
          maxStandbys: 2,
          members: alive('A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'),
          progress: caughtUp('A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'),
        }),
        expected: { kind: 'removeLearner', id: 'H', config: cfg(['A', 'B', 'C', 'D', 'L'], ['E', 'F', 'G']) },
      },
      {
        name: 'voters missing: learners up to the missing voters plus the standbys stay',
        input: input({
          config: cfg(['A', 'B', 'L'], ['E', 'F', 'G', 'H']),
          maxStandbys: 2,
          members: alive('A', 'B', 'E', 'F', 'G', 'H'),
          progress: [],
        }),
        expected: null,
      },
    ])
  })

  it('a dead voter is replaced by a standby, and a new standby is taken from the workers', () => {
    let config = cfg(['A', 'B', 'C', 'D', 'L'], ['E', 'F'])
    const members = [...alive('A', 'B', 'C', 'L', 'E', 'F', 'G'), member('D', 'dead', REPLACE_VOTER_MS)]
    const kinds: string[] = []
    for (let step = 0; step < 10; step++) {
      const action = planAutopilot(
        input({ config, maxStandbys: 2, members, progress: caughtUp('A', 'B', 'C', 'E', 'F', 'G') }),
      )
      if (action === null) break
      kinds.push(`${action.kind} ${action.id}`)
      config = action.config
    }
    assert.deepEqual(kinds, ['removeVoter D', 'promote E', 'addLearner G'])
    assert.deepEqual(config, cfg(['A', 'B', 'C', 'E', 'L'], ['F', 'G']))
  })

  it('rule 3: a voter that left is removed at once', () => {
    runTable([
      {
        name: 'left voter, no replacement',
        input: input({ config: cfg(['A', 'B', 'L']), members: [...alive('A'), member('B', 'left', 0)] }),
        expected: { kind: 'removeVoter', id: 'B', config: cfg(['A', 'L']) },
      },
      {
        name: 'left voter beats every other rule',
        input: input({
          config: cfg(['A', 'B', 'C', 'L'], ['D', 'E']),
          members: [...alive('A', 'B', 'D', 'X'), member('C', 'left', 0), member('E', 'left', 0)],
          progress: caughtUp('A', 'B', 'D'),
        }),
        expected: { kind: 'removeVoter', id: 'C', config: cfg(['A', 'B', 'L'], ['D', 'E']) },
      },
    ])
  })

  it('rule 3: a dead voter is replaced only after the timeout and only with a replacement', () => {
    const config = cfg(['A', 'B', 'L'], ['C'])
    runTable([
      {
        name: 'dead just under the timeout: keep',
        input: input({
          config,
          members: [...alive('A', 'C'), member('B', 'dead', REPLACE_VOTER_MS - 1)],
          progress: caughtUp('A', 'C'),
        }),
        expected: null,
      },
      {
        name: 'dead for the timeout with an alive learner: remove',
        input: input({
          config,
          members: [...alive('A', 'C'), member('B', 'dead', REPLACE_VOTER_MS)],
          progress: caughtUp('A', 'C'),
        }),
        expected: { kind: 'removeVoter', id: 'B', config: cfg(['A', 'L'], ['C']) },
      },
      {
        name: 'replacement may be an alive non-member',
        input: input({
          config: cfg(['A', 'B', 'L']),
          members: [...alive('A', 'X'), member('B', 'dead', REPLACE_VOTER_MS)],
        }),
        expected: { kind: 'removeVoter', id: 'B', config: cfg(['A', 'L']) },
      },
      {
        name: 'odd count and no replacement: keep (removing gains no fault tolerance)',
        input: input({
          config: cfg(['A', 'B', 'L']),
          members: [...alive('A'), member('B', 'dead', 10 * REPLACE_VOTER_MS)],
        }),
        expected: null,
      },
      {
        name: 'a dead or suspect learner is no replacement',
        input: input({
          config: cfg(['A', 'B', 'L'], ['C', 'D']),
          members: [
            ...alive('A'),
            member('B', 'dead', REPLACE_VOTER_MS),
            member('C', 'dead', 1000),
            member('D', 'suspect', 1000),
          ],
        }),
        expected: null,
      },
      {
        name: 'even count and no replacement: remove (4 voters need 3, 3 voters need 2)',
        input: input({
          config: cfg(['A', 'B', 'C', 'L']),
          members: [...alive('A', 'B'), member('C', 'dead', REPLACE_VOTER_MS)],
        }),
        expected: { kind: 'removeVoter', id: 'C', config: cfg(['A', 'B', 'L']) },
      },
      {
        name: 'suspect voters are never removed',
        input: input({
          config,
          members: [...alive('A', 'C'), member('B', 'suspect', 10 * REPLACE_VOTER_MS)],
          progress: caughtUp('A', 'C'),
        }),
        expected: null,
      },
      {
        name: 'a voter missing from gossip is unknown, not dead',
        input: input({ config, members: alive('A', 'C'), progress: caughtUp('A', 'C') }),
        expected: null,
      },
    ])
  })

  it('rule 2: never removes the leader or the live majority', () => {
    runTable([
      {
        name: 'stale gossip saying the leader left or died is ignored',
        input: input({ config: cfg(['A', 'B', 'L']), members: [member('L', 'left', 0), ...alive('A', 'B')] }),
        expected: null,
      },
      {
        name: 'leader reported dead for long, even count',
        input: input({
          config: cfg(['A', 'B', 'C', 'L']),
          members: [member('L', 'dead', 10 * REPLACE_VOTER_MS), ...alive('A', 'B', 'C')],
        }),
        expected: null,
      },
      {
        name: 'two of three voters dead: removing one would leave 1 alive of 2, no majority',
        input: input({
          config: cfg(['A', 'B', 'L']),
          members: [member('A', 'dead', REPLACE_VOTER_MS), member('B', 'dead', REPLACE_VOTER_MS), ...alive('X')],
        }),
        expected: { kind: 'addLearner', id: 'X', config: cfg(['A', 'B', 'L'], ['X']) },
      },
      {
        name: 'left voter kept when the rest has no live majority (a suspect is not counted)',
        input: input({ config: cfg(['A', 'B', 'L']), members: [member('A', 'suspect', 1000), member('B', 'left', 0)] }),
        expected: null,
      },
      {
        name: 'a leader outside the voters (removing itself) plans nothing',
        input: input({ config: cfg(['A', 'B'], ['L']), members: [...alive('A', 'X'), member('B', 'left', 0)] }),
        expected: null,
      },
    ])
  })

  it('an even voter count after a removal gets a promotion first', () => {
    runTable([
      {
        name: 'promotion to odd beats learner removal and learner addition',
        input: input({
          config: cfg(['A', 'B', 'C', 'L'], ['D', 'E', 'F']),
          members: [...alive('A', 'B', 'C', 'D', 'E', 'X'), member('F', 'left', 0)],
          progress: caughtUp('A', 'B', 'C', 'D', 'E'),
        }),
        expected: { kind: 'promote', id: 'D', config: cfg(['A', 'B', 'C', 'D', 'L'], ['E', 'F']) },
      },
      {
        name: 'the promoted one is the lowest caught-up alive id',
        input: input({
          config: cfg(['A', 'L'], ['B', 'C', 'D']),
          members: [...alive('A', 'C', 'D'), member('B', 'suspect', 100)],
          progress: [...caughtUp('A', 'B', 'D'), ...behind('C')],
        }),
        expected: { kind: 'promote', id: 'D', config: cfg(['A', 'D', 'L'], ['B', 'C']) },
      },
      {
        name: 'dead voter removal still comes before the promotion',
        input: input({
          config: cfg(['A', 'B', 'D', 'L'], ['X']),
          members: [...alive('A', 'B', 'X'), member('D', 'dead', REPLACE_VOTER_MS)],
          progress: caughtUp('A', 'B', 'X'),
        }),
        expected: { kind: 'removeVoter', id: 'D', config: cfg(['A', 'B', 'L'], ['X']) },
      },
    ])
  })

  it('rule 5: only alive, caught-up learners are promoted', () => {
    runTable([
      {
        name: 'learner not caught up (one entry beyond the lag)',
        input: input({
          config: cfg(['A', 'L'], ['B']),
          members: alive('A', 'B'),
          progress: [...caughtUp('A'), ...behind('B')],
        }),
        expected: null,
      },
      {
        name: 'learner exactly at the lag is caught up',
        input: input({
          config: cfg(['A', 'L'], ['B']),
          members: alive('A', 'B'),
          progress: [...caughtUp('A'), peer('B', LAST_INDEX - LAG)],
        }),
        expected: { kind: 'promote', id: 'B', config: cfg(['A', 'B', 'L']) },
      },
      {
        name: 'learner without progress is not caught up',
        input: input({ config: cfg(['A', 'L'], ['B']), members: alive('A', 'B'), progress: caughtUp('A') }),
        expected: null,
      },
      {
        name: 'learner that acknowledged nothing is not caught up, even when the log is shorter than the lag',
        input: input({
          config: cfg(['A', 'L'], ['B']),
          members: alive('A', 'B'),
          leaderLastIndex: LAG - 1,
          progress: [peer('A', LAG - 1, false), peer('B', 0)],
        }),
        expected: null,
      },
      {
        name: 'two silent members do not make a young 3-voter cluster 5',
        input: input({
          config: cfg(['A', 'B', 'L'], ['X', 'Y']),
          members: alive('A', 'B', 'X', 'Y'),
          leaderLastIndex: LAG - 1,
          progress: [peer('A', LAG - 1, false), peer('B', LAG - 1, false), peer('X', 0), peer('Y', 0)],
        }),
        expected: null,
      },
      {
        name: 'learner that acknowledged the short log is caught up',
        input: input({
          config: cfg(['A', 'L'], ['B']),
          members: alive('A', 'B'),
          leaderLastIndex: LAG - 1,
          progress: [peer('A', LAG - 1, false), peer('B', LAG - 1)],
        }),
        expected: { kind: 'promote', id: 'B', config: cfg(['A', 'B', 'L']) },
      },
      {
        name: 'suspect learner not promoted',
        input: input({
          config: cfg(['A', 'L'], ['B']),
          members: [...alive('A'), member('B', 'suspect', 100)],
          progress: caughtUp('A', 'B'),
        }),
        expected: null,
      },
      {
        name: 'suspect learners do not count towards reaching 3',
        input: input({
          config: cfg(['L'], ['A', 'B']),
          members: [...alive('A'), member('B', 'suspect', 100)],
          progress: caughtUp('A', 'B'),
        }),
        expected: null,
      },
      {
        name: 'dead learner not promoted',
        input: input({
          config: cfg(['A', 'L'], ['B']),
          members: [...alive('A'), member('B', 'dead', 100)],
          progress: caughtUp('A', 'B'),
        }),
        expected: null,
      },
    ])
  })

  it('rule 3: learners that left or are dead too long are removed; suspects are not added', () => {
    runTable([
      {
        name: 'left learner',
        input: input({ config: cfg(['L'], ['A']), members: [member('A', 'left', 0)] }),
        expected: { kind: 'removeLearner', id: 'A', config: cfg(['L']) },
      },
      {
        name: 'dead learner under the timeout',
        input: input({ config: cfg(['L'], ['A']), members: [member('A', 'dead', REMOVE_LEARNER_MS - 1)] }),
        expected: null,
      },
      {
        name: 'dead learner at the timeout',
        input: input({ config: cfg(['L'], ['A']), members: [member('A', 'dead', REMOVE_LEARNER_MS)] }),
        expected: { kind: 'removeLearner', id: 'A', config: cfg(['L']) },
      },
      {
        name: 'learner removal beats learner addition',
        input: input({ config: cfg(['L'], ['B']), members: [...alive('A'), member('B', 'left', 0)] }),
        expected: { kind: 'removeLearner', id: 'B', config: cfg(['L']) },
      },
      {
        name: 'suspect, dead and left non-members are not added',
        input: input({
          config: cfg(['L']),
          members: [member('A', 'suspect', 0), member('B', 'dead', 0), member('C', 'left', 0)],
        }),
        expected: null,
      },
    ])
  })

  it('rule 7: a node that rejoins with the same id keeps or regains its role', () => {
    runTable([
      {
        name: 'voter back before the timeout: nothing to do',
        input: input({
          config: cfg(['A', 'B', 'L'], ['C']),
          members: alive('A', 'B', 'C'),
          progress: caughtUp('A', 'B', 'C'),
        }),
        expected: null,
      },
      {
        name: 'a removed voter that returns is added as a learner',
        input: input({ config: cfg(['A', 'C', 'L']), members: alive('A', 'B', 'C'), progress: caughtUp('A', 'C') }),
        expected: { kind: 'addLearner', id: 'B', config: cfg(['A', 'C', 'L'], ['B']) },
      },
    ])
  })

  it('reasons name the node and the cause', () => {
    const dead = planAutopilot(
      input({ config: cfg(['A', 'B', 'L'], ['C']), members: [...alive('A', 'C'), member('B', 'dead', 61_000)] }),
    )
    assert.ok(dead?.kind === 'removeVoter')
    assert.match(dead.reason, /voter B dead for 61000 ms/)
    assert.match(dead.reason, /C can replace it/)
    const left = planAutopilot(input({ config: cfg(['L'], ['A']), members: [member('A', 'left', 0)] }))
    assert.ok(left?.kind === 'removeLearner')
    assert.match(left.reason, /learner A left/)
  })

  it('does not mutate its input', () => {
    const config = cfg(['L', 'B', 'A'], ['D', 'C'])
    const members = [...alive('A', 'C', 'D', 'X'), member('B', 'left', 0)]
    const before = JSON.stringify({ config, members })
    planAutopilot(input({ config, members }))
    assert.equal(JSON.stringify({ config, members }), before)
  })
})

// ---------------------------------------------------------------------------
// Simulation: the leader calls the planner every 500 ms; a proposed change is
// applied to the config at once (raft applies a config on append) and stays
// pending for a few calls; members come, go, die and return.

const STEP_MS = 500
const ENTRIES_PER_STEP = 3
/** Entries a learner receives per step: it catches up within a few steps. */
const CATCH_UP_PER_STEP = 400

interface SimNode {
  state: AutopilotMember['state']
  sinceMs: number
  matchIndex: number
}

class AutopilotSim {
  nowMs = 0
  lastIndex = 1
  config: ClusterConfig = cfg([LEADER])
  pendingSteps = 0
  readonly nodes = new Map<NodeId, SimNode>()
  readonly log: string[] = []

  constructor(
    readonly maxVoters: number,
    readonly pendingFor: () => number = () => 0,
  ) {}

  set(id: NodeId, state: AutopilotMember['state']): void {
    const node = this.nodes.get(id)
    if (node === undefined) this.nodes.set(id, { state, sinceMs: this.nowMs, matchIndex: 0 })
    else if (node.state !== state) {
      node.state = state
      node.sinceMs = this.nowMs
    }
  }

  input(): AutopilotInput {
    const members = [...this.nodes].map(([id, node]) => member(id, node.state, this.nowMs - node.sinceMs))
    const peers = [...this.config.voters, ...this.config.learners].filter(id => id !== LEADER)
    return input({
      config: this.config,
      changePending: this.pendingSteps > 0,
      leaderLastIndex: this.lastIndex,
      progress: peers.map(id => peer(id, this.nodes.get(id)?.matchIndex ?? 0, this.config.learners.includes(id))),
      members,
      maxVoters: this.maxVoters,
    })
  }

  /** One planner call; returns the action (already applied) after checking the invariants. */
  step(): AutopilotAction | null {
    this.nowMs += STEP_MS
    this.lastIndex += ENTRIES_PER_STEP
    // Only alive members in the config receive entries.
    for (const id of [...this.config.voters, ...this.config.learners]) {
      const node = this.nodes.get(id)
      if (node?.state === 'alive') node.matchIndex = Math.min(this.lastIndex, node.matchIndex + CATCH_UP_PER_STEP)
    }
    const now = this.input()
    const action = planAutopilot(now)
    if (this.pendingSteps > 0) this.pendingSteps--
    if (action === null) {
      if (!now.changePending) checkQuiescent(now, this.describe())
      return null
    }
    checkAction(now, action, this.describe())
    this.log.push(`${this.nowMs}ms ${action.kind} ${action.id}`)
    this.config = action.config
    this.pendingSteps = this.pendingFor()
    return action
  }

  run(steps: number): void {
    for (let i = 0; i < steps; i++) this.step()
  }

  describe(): string {
    const states = [...this.nodes].map(([id, n]) => `${id}:${n.state}`).join(' ')
    return `t=${this.nowMs}ms config=${JSON.stringify(this.config)} nodes=[${states}]`
  }
}

function stateOf(now: AutopilotInput, id: NodeId): AutopilotMember['state'] | undefined {
  if (id === now.leaderId) return 'alive'
  return now.members.find(m => m.id === id)?.state
}

function aliveVoters(now: AutopilotInput, voters: readonly NodeId[]): number {
  return voters.filter(id => stateOf(now, id) === 'alive').length
}

function caughtUpAliveLearners(now: AutopilotInput): NodeId[] {
  return now.config.learners.filter(id => {
    const match = now.progress.find(p => p.id === id)?.matchIndex
    return (
      stateOf(now, id) === 'alive' &&
      match !== undefined &&
      match > 0 &&
      match >= now.leaderLastIndex - now.learnerCatchUpLag
    )
  })
}

/** Invariants of every proposed change. */
function checkAction(now: AutopilotInput, action: AutopilotAction, where: string): void {
  const before = now.config
  const after = action.config
  const context = `${action.kind} ${action.id} at ${where}`
  assert.equal(now.changePending, false, `planned while pending: ${context}`)
  // A valid single-server change, acceptable to raft.ts.
  assert.doesNotThrow(
    () => checkConfigChange(after, { current: before, currentIndex: 0, commitIndex: 0, leaderStartIndex: 0 }),
    context,
  )
  assert.ok(voterChanges(before, after) <= 1, `more than one voter changed: ${context}`)
  assert.ok(after.voters.includes(now.leaderId), `leader lost its vote: ${context}`)
  assert.ok(after.voters.length <= Math.max(now.maxVoters, before.voters.length), `grew beyond maxVoters: ${context}`)
  const state = stateOf(now, action.id)
  switch (action.kind) {
    case 'addLearner':
      assert.equal(state, 'alive', context)
      assert.ok(!before.voters.includes(action.id) && !before.learners.includes(action.id), context)
      assert.deepEqual(after.voters, [...before.voters].sort(), context)
      break
    case 'promote':
      assert.equal(state, 'alive', context)
      assert.ok(caughtUpAliveLearners(now).includes(action.id), `promoted a learner that is not caught up: ${context}`)
      assert.ok(after.voters.length <= now.maxVoters, context)
      break
    case 'removeVoter':
      assert.notEqual(action.id, now.leaderId, context)
      assert.ok(state === 'dead' || state === 'left', `removed a ${state} voter: ${context}`)
      assert.ok(
        aliveVoters(now, after.voters) >= majority(after.voters.length),
        `removal breaks the live majority: ${context}`,
      )
      if (state === 'dead') {
        const deadForMs = now.members.find(m => m.id === action.id)?.stateForMs ?? 0
        assert.ok(deadForMs >= now.replaceDeadVoterAfterMs, `dead voter removed before the timeout: ${context}`)
        const replacement = now.members.some(
          m => m.state === 'alive' && m.id !== now.leaderId && !before.voters.includes(m.id),
        )
        assert.ok(replacement || before.voters.length % 2 === 0, `dead voter removed for nothing: ${context}`)
      }
      break
    case 'removeLearner':
      assert.ok(state === 'dead' || state === 'left', `removed a ${state} learner: ${context}`)
      assert.deepEqual(after.voters, [...before.voters].sort(), context)
      break
  }
}

/** What must hold whenever the planner has nothing left to do. */
function checkQuiescent(now: AutopilotInput, where: string): void {
  const inConfig = new Set([...now.config.voters, ...now.config.learners])
  for (const m of now.members) {
    if (m.state === 'alive') assert.ok(inConfig.has(m.id), `alive member ${m.id} left out: ${where}`)
  }
  const voters = now.config.voters.length
  const ready = caughtUpAliveLearners(now).length
  if (voters < now.maxVoters && ready > 0) {
    assert.equal(voters % 2, 1, `even voter count with a promotable learner: ${where}`)
  }
  const target = largestOddAtMost(Math.min(now.maxVoters, voters + ready))
  assert.ok(voters >= target, `${voters} voters but ${target} reachable: ${where}`)
}

/** One random membership event for `id`. Dead nodes mostly stay dead, so the removal timeouts are reached. */
function churn(sim: AutopilotSim, prng: Prng, id: NodeId): void {
  const node = sim.nodes.get(id)
  if (node === undefined) return sim.set(id, 'alive')
  switch (node.state) {
    case 'alive':
      return sim.set(id, prng.pick(['suspect', 'suspect', 'dead', 'left'] as const))
    case 'suspect':
      return sim.set(id, prng.pick(['alive', 'dead'] as const))
    case 'dead':
      if (prng.chance(0.1)) sim.set(id, 'alive')
      return
    case 'left':
      return sim.set(id, 'alive')
  }
}

describe('autopilot simulation', () => {
  it('scripted: bootstrap, growth, replacement, leave and rejoin', () => {
    const sim = new AutopilotSim(5)
    sim.set(LEADER, 'alive')
    sim.run(4)
    assert.deepEqual(sim.config, cfg(['L']))

    sim.set('A', 'alive')
    sim.run(10)
    assert.deepEqual(sim.config, cfg(['L'], ['A']), 'two nodes stay at one voter')

    sim.set('B', 'alive')
    sim.run(10)
    assert.deepEqual(sim.config, cfg(['A', 'B', 'L']), 'three nodes make three voters')

    for (const id of ['C', 'D', 'E', 'F']) sim.set(id, 'alive')
    sim.run(20)
    assert.deepEqual(sim.config, cfg(['A', 'B', 'C', 'D', 'L'], ['E', 'F']), 'capped at 5 voters')

    // B dies: nothing until the timeout, then E (the lowest healthy learner) takes its place.
    sim.set('B', 'dead')
    sim.run(REPLACE_VOTER_MS / STEP_MS - 2)
    assert.deepEqual(sim.config.voters, ['A', 'B', 'C', 'D', 'L'], 'dead voter kept before the timeout')
    sim.run(10)
    assert.deepEqual(sim.config, cfg(['A', 'C', 'D', 'E', 'L'], ['F']))

    // B comes back: it is added as a learner (no room for a sixth voter).
    sim.set('B', 'alive')
    sim.run(10)
    assert.deepEqual(sim.config, cfg(['A', 'C', 'D', 'E', 'L'], ['B', 'F']))

    // C dies briefly and returns before the timeout: keeps its vote, no change at all.
    const changes = sim.log.length
    sim.set('C', 'suspect')
    sim.run(6)
    sim.set('C', 'dead')
    sim.run(40)
    sim.set('C', 'alive')
    sim.run(10)
    assert.equal(sim.log.length, changes, 'no change for a voter that came back in time')

    // D leaves gracefully: removed at once, B (lowest caught-up learner) promoted.
    sim.set('D', 'left')
    sim.run(3)
    assert.deepEqual(sim.config, cfg(['A', 'B', 'C', 'E', 'L'], ['F']))

    // Mass failure of learners and a voter, no replacement: the odd count of 5 is kept.
    sim.set('F', 'dead')
    sim.set('E', 'dead')
    sim.run((REMOVE_LEARNER_MS + REPLACE_VOTER_MS) / STEP_MS)
    assert.deepEqual(
      sim.config,
      cfg(['A', 'B', 'C', 'E', 'L']),
      'dead learner removed, dead voter kept (odd, no replacement)',
    )

    // A second voter dies: 3 alive of 5 is still a majority and 5 is odd, so both are kept.
    sim.set('C', 'dead')
    sim.run(REPLACE_VOTER_MS / STEP_MS + 5)
    assert.deepEqual(sim.config, cfg(['A', 'B', 'C', 'E', 'L']))
    // A new node G appears: C goes (G can replace it), then E (4 voters is even),
    // and G becomes a learner: 4 healthy nodes make 3 voters, the largest odd count.
    sim.set('G', 'alive')
    sim.run(20)
    assert.deepEqual(sim.config, cfg(['A', 'B', 'L'], ['G']))
    assert.deepEqual(
      sim.log.slice(-3).map(line => line.split(' ').slice(1).join(' ')),
      ['removeVoter C', 'removeVoter E', 'addLearner G'],
    )
  })

  it('random membership churn keeps every invariant (200 seeds)', function () {
    // About a second of pure computation; the default 2 s budget is too tight on a loaded CI box.
    this.timeout(30_000)
    const others = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']
    for (let seed = 1; seed <= 200; seed++) {
      const prng = new Prng(seed)
      const maxVoters = prng.pick([1, 3, 4, 5, 7])
      const sim = new AutopilotSim(maxVoters, () => prng.int(3))
      sim.set(LEADER, 'alive')
      const nodeCount = 1 + prng.int(others.length)
      const pool = others.slice(0, nodeCount)
      try {
        for (let step = 0; step < 1000; step++) {
          if (prng.chance(0.15)) churn(sim, prng, prng.pick(pool))
          sim.step()
        }
        // Heal: everyone alive. The cluster must converge to the largest odd
        // voter count the nodes and the cap allow, everyone else a learner.
        for (const id of pool) sim.set(id, 'alive')
        sim.run(100)
        const total = 1 + pool.length
        const expectedVoters = largestOddAtMost(Math.min(maxVoters, total))
        assert.equal(sim.config.voters.length, expectedVoters, 'converged voter count')
        assert.equal(sim.config.voters.length + sim.config.learners.length, total, 'everyone is a member')
      } catch (error) {
        throw new Error(
          `seed ${seed} (maxVoters ${maxVoters}, ${pool.length + 1} nodes): ${(error as Error).message}\n${sim.log.slice(-12).join('\n')}`,
        )
      }
    }
  })
})
