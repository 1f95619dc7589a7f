// Property-based: RaftCore.step on arbitrary messages from arbitrary senders, as they come off the
// wire (decoded by the /meshos/raft schema) and through the authorization gate, never throws and
// never breaks an invariant: the term and the commit index never decrease, the commit index never
// passes the log, and a node only ever follows a voter of its config (or the candidate it voted
// for, which was a member). fast-check prints the seed and the shrunk sequence of a failure.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { RaftCore } from '../../src/election/core/raft.js'
import { RaftGate } from '../../src/election/core/raft-gate.js'
import type { Entry, NodeId, PersistedState, RaftMessage } from '../../src/election/core/types.js'
import { decodeRaftMessage, encodeRaftMessage } from '../../src/election/transport/raft-wire.js'

const TIMING = { electionTicks: 10, heartbeatTicks: 1 }
const IDS = ['a', 'b', 'c', 'l', 'x'] as const
const VOTERS = ['a', 'b', 'c']

function ent(index: number, term: number, data: unknown = `v${index}`): Entry {
  return { index, term, type: 'normal', data }
}

function cycle(core: RaftCore): void {
  while (core.hasReady()) {
    core.ready()
    core.advance()
  }
}

/** b: a follower of a in {a, b, c} (learner l), its log at (6, 3), committed through 4. */
function follower(): RaftCore {
  const state: PersistedState = {
    hardState: { term: 3, vote: null, commit: 4 },
    snapshot: { index: 0, term: 0, config: { voters: VOTERS, learners: ['l'] }, data: null },
    entries: [ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2), ent(5, 3), ent(6, 3)],
  }
  const core = new RaftCore({ id: 'b', random: () => 0.5, ...TIMING }, state)
  core.step({ type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 4 })
  cycle(core)
  return core
}

/** a: the leader of term 4, elected with b's votes. */
function leader(): RaftCore {
  const state: PersistedState = {
    hardState: { term: 3, vote: null, commit: 2 },
    snapshot: { index: 0, term: 0, config: { voters: VOTERS, learners: ['l'] }, data: null },
    entries: [ent(1, 1), ent(2, 3)],
  }
  const core = new RaftCore({ id: 'a', random: () => 0, ...TIMING }, state)
  for (let i = 0; i < 2 * TIMING.electionTicks && core.role === 'follower'; i++) core.tick()
  core.step({ type: 'preVoteResp', from: 'b', to: 'a', term: core.term + 1, granted: true })
  core.step({ type: 'voteResp', from: 'b', to: 'a', term: core.term, granted: true })
  assert.equal(core.role, 'leader')
  cycle(core)
  return core
}

/** n: a brand-new node, in no config yet. */
function fresh(): RaftCore {
  return new RaftCore({ id: 'n', random: () => 0.5, ...TIMING }, RaftCore.emptyState())
}

// ---------------------------------------------------------------- generators

const smallIndex = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 12 }) },
  { weight: 1, arbitrary: fc.constant(2 ** 48) },
)
const anyTerm = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 7 }) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 48, 2 ** 53) },
)
const sender = fc.constantFrom(...IDS, 'b', 'a')
const configData = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      voters: fc.uniqueArray(fc.constantFrom(...IDS, 'n'), { minLength: 1, maxLength: 4 }),
      learners: fc.constant([] as string[]),
    }),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
)

/** An append whose entries follow prevLogIndex in non-decreasing terms up to the message's term,
 * as a leader (honest or not) sends them, or not, with a junk config entry now and then. */
const append = fc
  .record({
    from: sender,
    term: anyTerm,
    prevLogIndex: smallIndex,
    prevLogTerm: fc.integer({ min: 0, max: 7 }),
    commit: smallIndex,
    count: fc.nat(4),
    configAt: fc.integer({ min: -1, max: 3 }),
    config: configData,
    contiguous: fc.boolean(),
  })
  .map(({ from, term, prevLogIndex, prevLogTerm, commit, count, configAt, config, contiguous }) => {
    const entries: Entry[] = Array.from({ length: count }, (_, i) => ({
      index: contiguous ? prevLogIndex + 1 + i : prevLogIndex + 2 * i,
      term: Math.max(prevLogTerm, Math.min(term, prevLogTerm + i)),
      type: i === configAt ? 'config' : 'normal',
      data: i === configAt ? config : { k: i },
    }))
    return { type: 'append', from, term, prevLogIndex, prevLogTerm, commit, entries } as const
  })

const message: fc.Arbitrary<Omit<RaftMessage, 'to'>> = fc.oneof(
  append,
  fc.record({ type: fc.constant('heartbeat'), from: sender, term: anyTerm, commit: smallIndex }),
  fc.record({ type: fc.constant('commit'), from: sender, term: anyTerm, commit: smallIndex, logTerm: fc.nat(7) }),
  fc.record({ type: fc.constant('timeoutNow'), from: sender, term: anyTerm }),
  fc.record({
    type: fc.constant('snapshot'),
    from: sender,
    term: anyTerm,
    snapshot: fc.record({
      index: smallIndex,
      term: fc.integer({ min: 1, max: 7 }),
      config: configData,
      data: fc.constant(null),
    }),
  }),
  fc
    .record({
      type: fc.constantFrom('preVote', 'vote'),
      from: sender,
      term: anyTerm,
      lastLogIndex: smallIndex,
      lastLogTerm: fc.nat(7),
      transfer: fc.boolean(),
    })
    .map(m =>
      m.type === 'preVote'
        ? { type: m.type, from: m.from, term: m.term, lastLogIndex: m.lastLogIndex, lastLogTerm: m.lastLogTerm }
        : m,
    ),
  fc.record({ type: fc.constantFrom('preVoteResp', 'voteResp'), from: sender, term: anyTerm, granted: fc.boolean() }),
  fc.record({
    type: fc.constant('appendResp'),
    from: sender,
    term: anyTerm,
    reject: fc.boolean(),
    index: smallIndex,
    hintIndex: smallIndex,
    hintTerm: fc.nat(7),
  }),
  fc.record({ type: fc.constant('heartbeatResp'), from: sender, term: anyTerm }),
) as fc.Arbitrary<Omit<RaftMessage, 'to'>>

/** A step of the run: a message, or time passing. */
const event = fc.oneof({ weight: 6, arbitrary: message }, { weight: 1, arbitrary: fc.constant('tick' as const) })

// ---------------------------------------------------------------- the property

interface Stats {
  decoded: number
  refused: number
  stepped: number
}

function run(
  make: () => RaftCore,
  events: Array<Omit<RaftMessage, 'to'> | 'tick'>,
  gated: boolean,
  stats: Stats,
): void {
  const core = make()
  const gate = new RaftGate(core, { vouchers: [], askEveryTicks: 10, vouchTicks: 100, learnerVoteAfterTicks: 5 })
  for (const ev of events) {
    if (ev === 'tick') {
      core.tick()
      cycle(core)
      continue
    }
    // As from the network: only what the wire schema lets through reaches the gate.
    const decoded = decodeRaftMessage(encodeRaftMessage({ ...ev, to: core.id } as RaftMessage))
    if (!decoded.ok) continue
    stats.decoded++
    const m = decoded.value
    if (gated && gate.check(m) !== 'ok') {
      stats.refused++
      continue
    }
    stats.stepped++
    const before = {
      term: core.term,
      commit: core.commitIndex,
      leader: core.leader,
      vote: core.vote,
      config: core.config,
    }
    core.step(m)
    cycle(core)
    assert.ok(core.term >= before.term, 'the term never decreases')
    assert.ok(core.commitIndex >= before.commit, 'the commit index never decreases')
    assert.ok(core.commitIndex <= core.lastIndex, 'the commit index never passes the log')
    assert.ok(core.appliedIndex <= core.commitIndex)
    if (!gated) continue
    const { leader, vote } = core
    if (leader !== null && leader !== before.leader && leader !== core.id) {
      const allowed = before.config.voters.includes(leader) || leader === before.vote
      assert.ok(allowed, `followed ${leader}, not a voter of ${JSON.stringify(before.config)} (vote ${before.vote})`)
    }
    if (vote !== null && vote !== before.vote && vote !== core.id) {
      const members: NodeId[] = [...before.config.voters, ...before.config.learners]
      assert.ok(members.includes(vote), `voted for ${vote}, not a member of ${JSON.stringify(before.config)}`)
    }
  }
}

describe('RaftCore.step, property-based', function () {
  this.timeout(120_000)
  const starts: Array<[string, () => RaftCore]> = [
    ['a follower', follower],
    ['a leader', leader],
    ['a node in no config', fresh],
  ]

  for (const [what, make] of starts) {
    it(`${what}: through the gate, never throws and keeps every invariant`, () => {
      const stats: Stats = { decoded: 0, refused: 0, stepped: 0 }
      fc.assert(
        fc.property(fc.array(event, { maxLength: 40 }), events => {
          run(make, events, true, stats)
        }),
        { numRuns: 400 },
      )
      // The property must exercise both sides of the gate, or it proves little.
      assert.ok(stats.refused > 100, `only ${stats.refused} messages refused`)
      if (make !== fresh) assert.ok(stats.stepped > 100, `only ${stats.stepped} messages stepped`)
    })

    it(`${what}: without the gate (a member sending anything), still never throws`, () => {
      const stats: Stats = { decoded: 0, refused: 0, stepped: 0 }
      fc.assert(
        fc.property(fc.array(event, { maxLength: 40 }), events => {
          run(make, events, false, stats)
        }),
        { numRuns: 400 },
      )
      assert.ok(stats.stepped > 1000, `only ${stats.stepped} messages stepped`)
    })
  }
})
