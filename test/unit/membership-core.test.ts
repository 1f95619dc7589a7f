// Unit tests of the membership core (src/gossip/core): driven directly, with plain numbers for time
// and a seeded random, asserting what each call outputs (sends, publishes, transitions, forgotten
// members, active-view and self changes). The seeded simulation (test/sim) checks the same core
// end to end at scale; these pin each rule on its own.
import assert from 'node:assert/strict'
import { Rings } from '../../src/gossip/core/rings.js'
import { bucketOf, memberHash, TableDigest } from '../../src/gossip/core/digest.js'
import { hash32 } from '../../src/gossip/core/hash.js'
import type { MembershipCore } from '../../src/gossip/core/membership-core.js'
import type { Digest, DirectMessage, MemberSnapshot, MembershipEvent } from '../../src/gossip/core/types.js'
import type { MemberState } from '../../src/gossip/member-state.js'
import { Prng } from '../../harness/sim/prng.js'
import { CoreDriver, coreConfig, fakeSign, nodeIds, record, snapshot } from '../helpers/core-driver.js'
import { CoreCluster } from '../helpers/core-cluster.js'

// ------------------------------------------------------------------ helpers

/** The neighbours of `id` on K rings, computed from scratch: sort by hash32(id, ring + 1), then id. */
function ringNeighbours(members: string[], id: string, k: number, direction: 1 | -1): Set<string> {
  const out = new Set<string>()
  const all = [...new Set([...members, id])]
  for (let seed = 1; seed <= k; seed++) {
    const ring = all
      .map(x => ({ x, h: hash32(x, seed) }))
      .sort((a, b) => a.h - b.h || (a.x < b.x ? -1 : a.x > b.x ? 1 : 0))
      .map(e => e.x)
    const i = ring.indexOf(id)
    const neighbour = ring[(i + direction + ring.length) % ring.length]!
    if (neighbour !== id) out.add(neighbour)
  }
  return out
}

/** The digest of a core's table, recomputed from scratch from what it holds. */
function digestOfTable(core: MembershipCore, buckets: number): TableDigest {
  const d = new TableDigest(buckets)
  const self = core.selfRecord
  d.add(self.info.nodeId, memberHash(self.info.nodeId, self.incarnation, self.seq, 'alive', self.incarnation))
  for (const m of core.others()) {
    const id = m.record.info.nodeId
    d.add(id, memberHash(id, m.record.incarnation, m.record.seq, m.state, m.stateIncarnation))
  }
  return d
}

const sorted = (xs: Iterable<string>): string[] => [...xs].sort()

/** A cluster of `count` members as the node `self` holds it after they all joined. */
function aliveTable(count: number, self = 'n00'): MemberSnapshot[] {
  return nodeIds(count)
    .filter(id => id !== self)
    .map(id => snapshot(id))
}

// ------------------------------------------------------------------- rings

describe('membership rings (core/rings.ts)', () => {
  for (const [count, k] of [
    [1, 4],
    [2, 4],
    [3, 4],
    [10, 1],
    [10, 4],
    [50, 4],
    [50, 8],
  ] as const) {
    it(`${count} members on ${k} rings: neighbours are the ring predecessors/successors, distinct, not self, at most K`, () => {
      const ids = nodeIds(count)
      const rings = new Rings(k)
      for (const id of ids) rings.add(id)
      assert.equal(rings.size, count)
      for (const id of ids) {
        for (const [got, direction] of [
          [rings.subjectsOf(id), -1],
          [rings.observersOf(id), 1],
        ] as const) {
          assert.ok(!got.includes(id), `${id} is not its own neighbour`)
          assert.equal(new Set(got).size, got.length, 'distinct')
          assert.ok(got.length <= k, `at most K, got ${got.length}`)
          assert.deepEqual(sorted(got), sorted(ringNeighbours(ids, id, k, direction)))
          if (count >= 2) assert.ok(got.length >= 1, 'someone watches and is watched by every member')
        }
      }
    })
  }

  it('x watches y exactly when y is watched by x (subjects and observers agree)', () => {
    const ids = nodeIds(40)
    const rings = new Rings(4)
    rings.addAll(ids)
    for (const x of ids) {
      for (const y of ids) {
        assert.equal(rings.subjectsOf(x).includes(y), rings.observersOf(y).includes(x), `${x} -> ${y}`)
      }
    }
  })

  it('addAll gives the same rings as adding one by one, in any order, with duplicates and earlier members', () => {
    const ids = nodeIds(60)
    const oneByOne = new Rings(4)
    for (const id of new Prng(3).shuffle([...ids])) oneByOne.add(id)
    const atOnce = new Rings(4)
    atOnce.add(ids[7]!)
    atOnce.add(ids[30]!)
    atOnce.addAll([...ids, ids[7]!, ids[0]!])
    assert.equal(atOnce.size, oneByOne.size)
    for (const id of ids) {
      assert.deepEqual(atOnce.subjectsOf(id), oneByOne.subjectsOf(id), `subjects of ${id}`)
      assert.deepEqual(atOnce.observersOf(id), oneByOne.observersOf(id), `observers of ${id}`)
    }
  })

  it('remove takes a member off every ring: the rings equal ones built without it', () => {
    const ids = nodeIds(30)
    const rings = new Rings(4)
    rings.addAll(ids)
    const gone = ids[11]!
    rings.remove(gone)
    rings.remove('never-a-member')
    const rebuilt = new Rings(4)
    rebuilt.addAll(ids.filter(id => id !== gone))
    assert.equal(rings.size, 29)
    assert.equal(rings.has(gone), false)
    for (const id of ids.filter(x => x !== gone)) {
      assert.deepEqual(rings.subjectsOf(id), rebuilt.subjectsOf(id))
      assert.deepEqual(rings.observersOf(id), rebuilt.observersOf(id))
      assert.ok(!rings.subjectsOf(id).includes(gone) && !rings.observersOf(id).includes(gone))
    }
  })

  it('a node off the rings gets the neighbours it would have on them (it computes its own position)', () => {
    const ids = nodeIds(20)
    const without = new Rings(4)
    without.addAll(ids)
    const withIt = new Rings(4)
    withIt.addAll([...ids, 'outsider'])
    assert.deepEqual(without.subjectsOf('outsider'), withIt.subjectsOf('outsider'))
    assert.deepEqual(without.observersOf('outsider'), withIt.observersOf('outsider'))
  })
})

// ------------------------------------------------------------------ digest

describe('membership digest (core/digest.ts)', () => {
  const entries = nodeIds(50).map((id, i): [string, Digest] => [id, memberHash(id, i % 3, i % 2, 'alive', i % 3)])

  it('is independent of the order members are added in', () => {
    const a = new TableDigest(16)
    const b = new TableDigest(16)
    for (const [id, h] of entries) a.add(id, h)
    for (const [id, h] of new Prng(9).shuffle([...entries])) b.add(id, h)
    assert.deepEqual(a.root, b.root)
    assert.deepEqual(a.bucketDigests(), b.bucketDigests())
    assert.notDeepEqual(a.root, [0, 0])
  })

  it('remove undoes add, whatever came between', () => {
    const d = new TableDigest(16)
    for (const [id, h] of entries.slice(0, 20)) d.add(id, h)
    const before = { root: d.root, buckets: d.bucketDigests() }
    const [id, h] = entries[30]!
    d.add(id, h)
    assert.notDeepEqual(d.root, before.root)
    d.remove(id, h)
    assert.deepEqual({ root: d.root, buckets: d.bucketDigests() }, before)
    for (const [x, hx] of entries.slice(0, 20)) d.remove(x, hx)
    assert.deepEqual(d.root, [0, 0])
    assert.ok(d.bucketDigests().every(b => b[0] === 0 && b[1] === 0))
  })

  it('the root is the sum of the buckets (mod 2^32 per lane)', () => {
    const d = new TableDigest(8)
    for (const [id, h] of entries) d.add(id, h)
    const sum = d.bucketDigests().reduce<Digest>((s, b) => [(s[0] + b[0]) >>> 0, (s[1] + b[1]) >>> 0], [0, 0])
    assert.deepEqual(d.root, sum)
  })

  it('differingBuckets names exactly the buckets whose members differ', () => {
    const mine = new TableDigest(64)
    const theirs = new TableDigest(64)
    for (const [id, h] of entries) {
      mine.add(id, h)
      theirs.add(id, h)
    }
    assert.deepEqual(mine.differingBuckets(theirs.bucketDigests()), [])
    theirs.add('extra', memberHash('extra', 1, 0, 'alive', 1))
    const [changed, old] = entries[5]!
    theirs.remove(changed, old)
    theirs.add(changed, memberHash(changed, 0, 1, 'suspect', 0))
    const expected = [...new Set([bucketOf('extra', 64), bucketOf(changed, 64)])].sort((a, b) => a - b)
    assert.deepEqual(mine.differingBuckets(theirs.bucketDigests()), expected)
    assert.deepEqual(theirs.differingBuckets(mine.bucketDigests()), expected)
    // Digests of another bucket count cannot be compared: every bucket differs.
    assert.equal(mine.differingBuckets(new TableDigest(32).bucketDigests()).length, 64)
  })

  it('a member hash changes with each field; bucket numbers are in range', () => {
    const base = memberHash('a', 2, 3, 'suspect', 2)
    for (const other of [
      memberHash('b', 2, 3, 'suspect', 2),
      memberHash('a', 3, 3, 'suspect', 2),
      memberHash('a', 2, 4, 'suspect', 2),
      memberHash('a', 2, 3, 'dead', 2),
      memberHash('a', 2, 3, 'suspect', 3),
    ])
      assert.notDeepEqual(other, base)
    for (const [id] of entries) {
      const b = bucketOf(id, 7)
      assert.ok(Number.isInteger(b) && b >= 0 && b < 7)
    }
  })
})

// -------------------------------------------------------- SWIM precedence

/** One row: what the node holds about x, a claim about x, what it holds after, and x's record
 * after ("inc.seq"; default: unchanged). Notation: "suspect 5/2" is suspect at incarnation 5 with
 * a record at 2; a claim "alive 2.1" is x's record at incarnation 2, seq 1, named "x-2.1" (so an
 * info update shows); x's record held at first is at seq 0, named "x". */
type PrecedenceRow = [known: string, claim: string, after: string, record?: string]

const PRECEDENCE: PrecedenceRow[] = [
  // alive(i) beats alive(j) iff i > j; the same i with a higher seq updates the info only.
  ['alive 2', 'alive 3.0', 'alive 3', '3.0'],
  ['alive 2', 'alive 2.1', 'alive 2', '2.1'],
  ['alive 2', 'alive 2.0', 'alive 2'],
  ['alive 2', 'alive 1.5', 'alive 2'],
  // suspect(i) beats alive(j) iff i >= j.
  ['alive 2', 'suspect 2', 'suspect 2'],
  ['alive 2', 'suspect 3', 'suspect 3'],
  ['alive 2', 'suspect 1', 'alive 2'],
  // dead(i) beats alive(j) iff i >= j; so does left(i).
  ['alive 2', 'dead 2', 'dead 2'],
  ['alive 2', 'dead 3', 'dead 3'],
  ['alive 2', 'dead 1', 'alive 2'],
  ['alive 2', 'left 2', 'left 2'],
  ['alive 2', 'left 1', 'alive 2'],
  // alive(i) beats suspect(j) iff i > j; the same i with a higher seq updates the info only.
  ['suspect 2', 'alive 3.0', 'alive 3', '3.0'],
  ['suspect 2', 'alive 2.1', 'suspect 2', '2.1'],
  ['suspect 2', 'alive 1.4', 'suspect 2'],
  ['suspect 2', 'suspect 3', 'suspect 3'],
  ['suspect 2', 'suspect 2', 'suspect 2'],
  ['suspect 2', 'suspect 1', 'suspect 2'],
  // dead(i) beats suspect(j) iff i >= j; so does left(i).
  ['suspect 2', 'dead 2', 'dead 2'],
  ['suspect 2', 'dead 1', 'suspect 2'],
  ['suspect 2', 'left 2', 'left 2'],
  // Suspected at 5 with a record at 2: a record at 3 is news of its info but does not refute.
  ['suspect 5/2', 'alive 3.0', 'suspect 5', '3.0'],
  ['suspect 5/2', 'alive 6.0', 'alive 6', '6.0'],
  ['suspect 5/2', 'dead 4', 'suspect 5'],
  ['suspect 5/2', 'dead 5', 'dead 5'],
  // Dead stays dead until the member itself outbids it; left(i) beats it at j <= i.
  ['dead 2', 'alive 3.0', 'alive 3', '3.0'],
  ['dead 2', 'alive 2.1', 'dead 2', '2.1'],
  ['dead 2', 'suspect 3', 'dead 2'],
  ['dead 2', 'dead 3', 'dead 2'],
  ['dead 2', 'left 2', 'left 2'],
  ['dead 2', 'left 1', 'dead 2'],
  // Left is final for that incarnation: only a new incarnation (a restart) comes back.
  ['left 2', 'alive 3.0', 'alive 3', '3.0'],
  ['left 2', 'alive 2.1', 'left 2', '2.1'],
  ['left 2', 'suspect 3', 'left 2'],
  ['left 2', 'dead 3', 'left 2'],
  ['left 2', 'left 3', 'left 2'],
]

const words = (text: string): [string, string] => text.split(' ') as [string, string]

/** The claim as gossip: records by x itself, suspicions and deaths by n01, a leave by x. */
function claimEvent(nodeId: string, claim: string): { author: string; event: MembershipEvent } {
  const [kind, at] = words(claim)
  if (kind === 'alive') {
    const [incarnation, seq] = at.split('.').map(Number) as [number, number]
    return { author: nodeId, event: { kind, record: record(nodeId, incarnation, { seq, name: `${nodeId}-${at}` }) } }
  }
  const incarnation = Number(at)
  if (kind === 'left') return { author: nodeId, event: { kind, nodeId, incarnation } }
  if (kind !== 'suspect' && kind !== 'dead') throw new Error(`bad claim ${claim}`)
  return { author: 'n01', event: { kind, nodeId, incarnation, by: 'n01' } }
}

describe('membership core: SWIM precedence of claims about a member', () => {
  const others = aliveTable(6)

  for (const [known, claim, after, recordAfter] of PRECEDENCE) {
    it(`${known} + ${claim} -> ${after}${recordAfter === undefined ? '' : `, record ${recordAfter}`}`, () => {
      const [knownState, knownAt] = words(known) as [MemberState, string]
      const [knownInc, recordInc = knownInc] = knownAt.split('/').map(Number) as [number, number?]
      const d = new CoreDriver({
        self: 'n00',
        members: [...others, snapshot('x', knownState, knownInc, 0, recordInc)],
      })
      const { author, event } = claimEvent('x', claim)
      const out = d.gossip(author, event)
      const x = d.core.get('x')!
      const [state, stateInc] = words(after)
      assert.deepEqual([x.state, x.stateIncarnation], [state, Number(stateInc)])
      const [incarnation, seq] = (recordAfter ?? `${recordInc}.0`).split('.').map(Number)
      assert.deepEqual(
        [x.record.incarnation, x.record.seq, x.record.info.name],
        [incarnation, seq, recordAfter === undefined ? 'x' : `x-${recordAfter}`],
        'the record held afterwards',
      )
      const expected = state === knownState ? [] : [[knownState, state]]
      assert.deepEqual(
        out.transitions.map(t => [t.from, t.to]),
        expected,
      )
      assert.deepEqual(out.publishes, [], 'a claim about someone else is never answered with a publish')
    })
  }

  for (const kind of ['suspect', 'dead', 'left'] as const) {
    it(`a ${kind} claim about an unknown member is ignored`, () => {
      const d = new CoreDriver({ self: 'n00', members: others })
      const { author, event } = claimEvent('stranger', `${kind} 1`)
      const out = d.gossip(author, event)
      assert.equal(d.core.get('stranger'), undefined)
      assert.deepEqual(out, {
        sends: [],
        publishes: [],
        transitions: [],
        forgotten: [],
        activeViewChanged: false,
        selfChanged: false,
      })
    })
  }

  it('an alive record of an unknown member adds it, alive, to the rings', () => {
    const d = new CoreDriver({ self: 'n00', members: others })
    const out = d.gossip('x', { kind: 'alive', record: record('x', 4) })
    assert.equal(d.stateOf('x'), 'alive')
    assert.equal(d.core.get('x')!.stateIncarnation, 4)
    assert.deepEqual(
      out.transitions.map(t => [t.nodeId, t.from, t.to]),
      [['x', null, 'alive']],
    )
    assert.equal(d.core.liveCount(), 7)
  })

  for (const known of ['dead', 'left'] as const) {
    it(`a restart (higher incarnation, new startedAt) revives a ${known} member`, () => {
      const d = new CoreDriver({ self: 'n00', members: [...others, snapshot('x', known, 2)] })
      const out = d.gossip('x', { kind: 'alive', record: record('x', 3, { startedAt: 9000 }) })
      assert.equal(d.stateOf('x'), 'alive')
      assert.equal(d.core.get('x')!.record.info.startedAt, 9000)
      assert.equal(out.transitions.length, 1)
      assert.equal(out.transitions[0]!.from, known)
      assert.match(out.transitions[0]!.reason, /restarted/)
      assert.equal(d.core.liveCount(), 7, 'back on the rings')
    })
  }
})

// ------------------------------------------------------------- refutation

describe('membership core: refutation', () => {
  const members = aliveTable(6)
  const SELF_INC = 3

  const cases: Array<{ name: string; input: (d: CoreDriver) => void; refutesAt: number | null; acks?: boolean }> = [
    {
      name: 'suspect(self, own incarnation)',
      input: d => d.gossip('n01', { kind: 'suspect', nodeId: 'n00', incarnation: 3, by: 'n01' }),
      refutesAt: 4,
    },
    {
      name: 'suspect(self, higher)',
      input: d => d.gossip('n01', { kind: 'suspect', nodeId: 'n00', incarnation: 5, by: 'n01' }),
      refutesAt: 6,
    },
    {
      name: 'suspect(self, lower)',
      input: d => d.gossip('n01', { kind: 'suspect', nodeId: 'n00', incarnation: 2, by: 'n01' }),
      refutesAt: null,
    },
    {
      name: 'dead(self, own incarnation)',
      input: d => d.gossip('n01', { kind: 'dead', nodeId: 'n00', incarnation: 3, by: 'n01' }),
      refutesAt: 4,
    },
    {
      name: 'dead(self, lower)',
      input: d => d.gossip('n01', { kind: 'dead', nodeId: 'n00', incarnation: 2, by: 'n01' }),
      refutesAt: null,
    },
    {
      name: 'a probe with suspectedAt = own incarnation',
      input: d => d.receive('n01', { type: 'probe', seq: 7, suspectedAt: 3 }),
      refutesAt: 4,
      acks: true,
    },
    {
      name: 'a probe with suspectedAt below it',
      input: d => d.receive('n01', { type: 'probe', seq: 7, suspectedAt: 2 }),
      refutesAt: null,
      acks: true,
    },
    { name: 'a plain probe', input: d => d.receive('n01', { type: 'probe', seq: 7 }), refutesAt: null, acks: true },
    {
      name: 'a record of self from a previous life (higher incarnation)',
      input: d => d.gossip('n01', { kind: 'alive', record: record('n00', 5) }),
      refutesAt: 6,
    },
    {
      name: 'a record of self at the same incarnation',
      input: d => d.gossip('n01', { kind: 'alive', record: record('n00', 3, { seq: 9 }) }),
      refutesAt: null,
    },
    {
      name: 'an anti-entropy snapshot of self as dead at own incarnation',
      input: d => d.receive('n01', { type: 'syncPush', members: [snapshot('n00', 'dead', 3)], last: false }),
      refutesAt: 4,
    },
    {
      name: 'an anti-entropy snapshot of self as suspect above it',
      input: d => d.receive('n01', { type: 'syncPush', members: [snapshot('n00', 'suspect', 4)], last: false }),
      refutesAt: 5,
    },
    {
      name: 'an anti-entropy snapshot of self as dead below it',
      input: d => d.receive('n01', { type: 'syncPush', members: [snapshot('n00', 'dead', 2)], last: false }),
      refutesAt: null,
    },
  ]

  for (const c of cases) {
    it(`${c.name}: ${c.refutesAt === null ? 'no refutation' : `publishes alive at ${c.refutesAt}`}`, () => {
      const d = new CoreDriver({ self: 'n00', selfIncarnation: SELF_INC, members })
      const mark = d.log.length
      c.input(d)
      const outs = d.log.slice(mark).map(e => e.out)
      const self = d.core.selfRecord
      if (c.refutesAt === null) {
        assert.equal(self.incarnation, SELF_INC)
        assert.deepEqual(d.published(mark), [])
        assert.ok(outs.every(o => !o.selfChanged))
      } else {
        assert.equal(self.incarnation, c.refutesAt)
        assert.equal(self.seq, 0)
        assert.equal(self.signature, fakeSign(self), 'the new record is signed')
        assert.deepEqual(
          d.published(mark).map(p => p.event),
          [{ kind: 'alive', record: self }],
        )
        assert.ok(
          outs.some(o => o.selfChanged),
          'selfChanged: the incarnation must be persisted',
        )
      }
      if (c.acks === true) assert.deepEqual(d.sent(mark), [{ atMs: 0, to: 'n01', message: { type: 'ack', seq: 7 } }])
    })
  }

  it('updateInfo publishes the record with seq + 1, re-signed, and reports selfChanged', () => {
    const d = new CoreDriver({ self: 'n00', selfIncarnation: SELF_INC, members })
    const out = d.core.updateInfo({ capacity: { cpus: 8, memoryMb: 2048 } })
    const self = d.core.selfRecord
    assert.deepEqual([self.incarnation, self.seq, self.info.capacity.cpus], [3, 1, 8])
    assert.equal(self.signature, fakeSign(self))
    assert.deepEqual(out.publishes, [{ kind: 'alive', record: self }])
    assert.equal(out.selfChanged, true)
  })
})

// ------------------------------------------------------- failure detection

/** n00 in a cluster of 10 (n00..n09) that all joined at time 0; every peer answers unless told. */
function detector(config: Parameters<typeof coreConfig>[0] = {}): CoreDriver {
  return new CoreDriver({ self: 'n00', members: aliveTable(10), config })
}

/** The probe number a probe, ack or probe request carries. */
const seqOf = (s: { message: DirectMessage }): number => (s.message as { seq: number }).seq

/** A member of the table that n00 does not watch (and so is not an observer of). */
function bystanderOf(d: CoreDriver): string {
  const subjects = d.core.subjects()
  return nodeIds(10).find(id => id !== 'n00' && !subjects.includes(id))!
}

describe('membership core: failure detection', () => {
  it('probes its subjects (the K ring predecessors) once a period each, and nobody else', () => {
    const d = detector()
    const ids = nodeIds(10)
    const subjects = d.core.subjects()
    assert.deepEqual(sorted(subjects), sorted(ringNeighbours(ids, 'n00', 4, -1)))
    assert.deepEqual(
      sorted(d.core.activePeers()),
      sorted(new Set([...subjects, ...ringNeighbours(ids, 'n00', 4, 1)])),
      'the active view is subjects and observers',
    )
    assert.equal(d.log[0]!.out.activeViewChanged, true, 'load made the active view')
    d.runFor(10_000)
    const probed = new Set(
      d
        .sent()
        .filter(s => s.message.type === 'probe')
        .map(s => s.to),
    )
    assert.deepEqual(sorted(probed), sorted(subjects))
    for (const s of subjects) {
      const times = d.probesOf(s).map(p => p.atMs)
      assert.ok(times.length >= 9, `${s} probed ${times.length} times in 10 s`)
      for (let i = 1; i < times.length; i++) assert.equal(times[i]! - times[i - 1]!, 1000, `period of ${s}`)
    }
    assert.deepEqual(
      d.sent().filter(s => s.message.type === 'probeReq'),
      [],
      'every probe was answered',
    )
    assert.deepEqual(d.published(), [])
  })

  for (const indirectProbes of [1, 2, 3]) {
    it(`a missed direct probe is retried through ${indirectProbes} helper(s), other observers first`, () => {
      const d = detector({ indirectProbes })
      const s = d.core.subjects()[0]!
      d.mute.add(s)
      assert.ok(d.runFor(3000, () => d.probeReqsFor(s).length > 0))
      const probe = d.probesOf(s)[0]!
      const reqs = d.probeReqsFor(s)
      const helpers = reqs.map(r => r.to)
      assert.ok(
        reqs.every(r => r.atMs === probe.atMs + d.cfg.probeTimeoutMs),
        'sent when the probe timed out',
      )
      assert.ok(reqs.every(r => r.message.type === 'probeReq' && r.message.seq === seqOf(probe)))
      assert.equal(helpers.length, indirectProbes)
      assert.equal(new Set(helpers).size, helpers.length, 'distinct helpers')
      assert.ok(!helpers.includes('n00') && !helpers.includes(s))
      const otherObservers = [...ringNeighbours(nodeIds(10), s, 4, 1)].filter(id => id !== 'n00')
      if (otherObservers.length >= indirectProbes)
        assert.ok(
          helpers.every(h => otherObservers.includes(h)),
          `helpers ${helpers} among ${otherObservers}`,
        )
      else
        assert.ok(
          otherObservers.every(o => helpers.includes(o)),
          `helpers ${helpers} include ${otherObservers}`,
        )
    })
  }

  it('a subject reachable only through helpers is never suspected', () => {
    const d = detector({ missedRoundsBeforeSuspect: 1 })
    const s = d.core.subjects()[0]!
    d.mute.add(s)
    d.runFor(20_000)
    assert.ok(d.probeReqsFor(s).length >= 19, 'every round went indirect')
    assert.deepEqual(d.published(), [])
    assert.equal(d.stateOf(s), 'alive')
  })

  for (const missedRoundsBeforeSuspect of [1, 2, 3]) {
    it(`${missedRoundsBeforeSuspect} failed round(s) in a row publish suspect`, () => {
      const d = detector({ missedRoundsBeforeSuspect })
      const s = d.core.subjects()[0]!
      d.down.add(s)
      assert.ok(d.runFor(30_000, () => d.publishedAbout(s, 'suspect').length > 0))
      const suspicion = d.publishedAbout(s, 'suspect')[0]!
      assert.deepEqual(suspicion.event, { kind: 'suspect', nodeId: s, incarnation: 1, by: 'n00' })
      const probes = d.probesOf(s)
      assert.equal(probes.length, missedRoundsBeforeSuspect, 'one direct probe per failed round')
      for (const p of probes) {
        const seq = seqOf(p)
        assert.equal(
          d.probeReqsFor(s).filter(r => seqOf(r) === seq).length,
          d.cfg.indirectProbes,
          'each round also went indirect',
        )
      }
      assert.equal(d.stateOf(s), 'suspect')
      assert.deepEqual(
        d.transitions().map(t => [t.nodeId, t.from, t.to, t.reason]),
        [[s, 'alive', 'suspect', 'no answer to probes']],
      )
    })
  }

  for (const how of ['direct ack', 'probeReqAck'] as const) {
    it(`an answered round (${how}) resets the count of missed rounds`, () => {
      const d = detector({ missedRoundsBeforeSuspect: 2 })
      const s = d.core.subjects()[0]!
      // Rounds 1, 3 and 4 fail; round 2 is answered.
      const answered = (nth: number): boolean => nth === 2
      if (how === 'direct ack') {
        d.answers = (peer, nth) => peer !== s || answered(nth)
        d.relays = () => false
      } else {
        d.answers = peer => peer !== s
        d.relays = (_helper, target) => target !== s || answered(d.probesOf(s).length)
      }
      assert.ok(d.runFor(30_000, () => d.publishedAbout(s, 'suspect').length > 0))
      assert.equal(d.probesOf(s).length, 4, 'suspected only when rounds 3 and 4 failed')
    })
  }

  it('an observer that hears another suspect its subject probes at once and confirms if that round fails', () => {
    // A long suspicion, so the confirmation is seen before the member is declared dead.
    const d = detector({ missedRoundsBeforeSuspect: 2, suspicionBaseMs: 5000 })
    const s = d.core.subjects()[0]!
    d.tick()
    d.down.add(s)
    const mark = d.log.length
    const out = d.gossip('n01', { kind: 'suspect', nodeId: s, incarnation: 1, by: 'n01' })
    const probe = out.sends.find(x => x.to === s && x.message.type === 'probe')
    assert.ok(probe !== undefined, 'probed at once')
    assert.deepEqual(probe.message, { type: 'probe', seq: seqOf(probe), suspectedAt: 1 })
    assert.ok(d.runFor(5000, () => d.publishedAbout(s, 'suspect').length > 0))
    assert.equal(d.probesOf(s, mark).length, 1, 'one failed round is enough to confirm')
    assert.deepEqual(d.publishedAbout(s, 'suspect')[0]!.event, {
      kind: 'suspect',
      nodeId: s,
      incarnation: 1,
      by: 'n00',
    })
    assert.deepEqual(d.core.get(s)!.suspectors, ['n01', 'n00'])
    d.runFor(5000)
    assert.equal(d.publishedAbout(s, 'suspect').length, 1, 'confirmed once')
  })

  it('an observer whose subject answers does not confirm the suspicion', () => {
    const d = detector({ missedRoundsBeforeSuspect: 2 })
    const s = d.core.subjects()[0]!
    d.tick()
    const out = d.gossip('n01', { kind: 'suspect', nodeId: s, incarnation: 1, by: 'n01' })
    assert.ok(out.sends.some(x => x.to === s && x.message.type === 'probe'))
    d.runFor(500)
    assert.deepEqual(d.publishedAbout(s, 'suspect'), [])
  })

  it('a node that does not watch the suspected member does not probe it', () => {
    const d = detector()
    d.tick()
    const y = bystanderOf(d)
    const out = d.gossip('n01', { kind: 'suspect', nodeId: y, incarnation: 1, by: 'n01' })
    assert.deepEqual(out.sends, [])
    d.runFor(500)
    assert.deepEqual(d.probesOf(y), [])
  })

  // 10 live members: the timeout is 2 * log10(10) * 500 = 1000 ms, down to 40% with 3 confirmations.
  for (const [confirmations, timeoutMs] of [
    [0, 1000],
    [1, 700],
    [2, 525],
    [3, 400],
    [4, 400],
  ] as const) {
    it(`a suspicion with ${confirmations} confirmation(s) runs out after ${timeoutMs} ms`, () => {
      const d = detector()
      d.tick()
      const y = bystanderOf(d)
      const t0 = d.nowMs
      const suspectors = nodeIds(10).filter(id => id !== 'n00' && id !== y)
      for (const by of suspectors.slice(0, confirmations + 1))
        d.gossip(by, { kind: 'suspect', nodeId: y, incarnation: 1, by })
      d.tickAt(t0 + timeoutMs - 1)
      assert.equal(d.stateOf(y), 'suspect')
      const mark = d.log.length
      d.tickAt(t0 + timeoutMs)
      assert.equal(d.stateOf(y), 'dead')
      assert.deepEqual(
        d.transitions(mark).map(t => [t.nodeId, t.from, t.to]),
        [[y, 'suspect', 'dead']],
      )
    })
  }

  it('the suspicion timeout grows with the cluster (log10 n): 100 members wait 2000 ms', () => {
    const d = new CoreDriver({ self: 'n00', members: aliveTable(100) })
    d.tick()
    const subjects = d.core.subjects()
    const y = nodeIds(100).find(id => id !== 'n00' && !subjects.includes(id))!
    const t0 = d.nowMs
    d.gossip('n01', { kind: 'suspect', nodeId: y, incarnation: 1, by: 'n01' })
    d.runFor(1900)
    assert.equal(d.stateOf(y), 'suspect')
    d.runFor(2000 - (d.nowMs - t0))
    assert.equal(d.stateOf(y), 'dead')
  })

  it('when a suspicion runs out, the node that raised it publishes dead', () => {
    const d = detector()
    const s = d.core.subjects()[0]!
    d.down.add(s)
    assert.ok(d.runFor(30_000, () => d.publishedAbout(s, 'suspect').length > 0))
    const suspectedAt = d.nowMs
    const mark = d.log.length
    assert.ok(d.runFor(5000, () => d.stateOf(s) === 'dead'))
    assert.equal(d.nowMs, suspectedAt + 1000)
    assert.deepEqual(
      d.published(mark).map(p => p.event),
      [{ kind: 'dead', nodeId: s, incarnation: 1, by: 'n00' }],
    )
    // The ring gives its replacement at once.
    const remaining = nodeIds(10).filter(id => id !== s)
    assert.ok(d.log.slice(mark).some(e => e.out.activeViewChanged))
    assert.deepEqual(sorted(d.core.subjects()), sorted(ringNeighbours(remaining, 'n00', 4, -1)))
    assert.ok(!d.core.activePeers().includes(s))
  })

  it('when a suspicion runs out, an observer publishes dead even if another raised it', () => {
    const d = detector()
    const s = d.core.subjects()[0]!
    d.tick()
    d.gossip('n01', { kind: 'suspect', nodeId: s, incarnation: 1, by: 'n01' })
    const mark = d.log.length
    assert.ok(d.runFor(5000, () => d.stateOf(s) === 'dead'))
    assert.deepEqual(
      d.published(mark).map(p => p.event),
      [{ kind: 'dead', nodeId: s, incarnation: 1, by: 'n00' }],
    )
  })

  it('when a suspicion runs out, a node that neither watches nor suspected the member only marks it dead', () => {
    const d = detector()
    d.tick()
    const y = bystanderOf(d)
    d.gossip('n01', { kind: 'suspect', nodeId: y, incarnation: 1, by: 'n01' })
    assert.ok(d.runFor(5000, () => d.stateOf(y) === 'dead'))
    assert.deepEqual(d.published(), [])
    assert.deepEqual(
      d.transitions().map(t => [t.nodeId, t.from, t.to]),
      [
        [y, 'alive', 'suspect'],
        [y, 'suspect', 'dead'],
      ],
    )
  })

  // The timeout of a round: srtt + 4 rttvar (TCP's), at least probeTimeoutMs, at most maxProbeTimeoutMs.
  for (const c of [
    { ackDelayMs: 0, answeredRounds: 1, maxProbeTimeoutMs: 3000, timeoutMs: 400 },
    { ackDelayMs: 600, answeredRounds: 1, maxProbeTimeoutMs: 3000, timeoutMs: 1800 },
    { ackDelayMs: 600, answeredRounds: 2, maxProbeTimeoutMs: 3000, timeoutMs: 1500 },
    { ackDelayMs: 600, answeredRounds: 1, maxProbeTimeoutMs: 1000, timeoutMs: 1000 },
  ]) {
    it(`after ${c.answeredRounds} round(s) answered in ${c.ackDelayMs} ms (cap ${c.maxProbeTimeoutMs}), a probe times out after ${c.timeoutMs} ms`, () => {
      const d = detector({ maxProbeTimeoutMs: c.maxProbeTimeoutMs })
      const s = d.core.subjects()[0]!
      d.relays = () => false
      d.ackDelayMs.set(s, c.ackDelayMs)
      d.answers = (peer, nth) => peer !== s || nth <= c.answeredRounds
      const silentFrom = () => d.probesOf(s)[c.answeredRounds]
      assert.ok(
        d.runFor(
          10_000,
          () => silentFrom() !== undefined && d.probeReqsFor(s, 0).some(r => r.atMs >= silentFrom()!.atMs),
        ),
      )
      const probe = silentFrom()!
      const req = d.probeReqsFor(s).find(r => r.atMs >= probe.atMs)!
      assert.equal(req.atMs - probe.atMs, c.timeoutMs)
    })
  }

  it('a subject that answers slowly but surely gets more time instead of indirect probes and suspicion', () => {
    const d = detector({ missedRoundsBeforeSuspect: 1 })
    const s = d.core.subjects()[0]!
    d.relays = () => false
    d.ackDelayMs.set(s, 600)
    d.runFor(20_000)
    const second = d.probesOf(s)[1]!
    assert.ok(
      d.probeReqsFor(s).every(r => r.atMs < second.atMs),
      'only the first round, before any RTT, went indirect',
    )
    assert.deepEqual(d.published(), [])
    assert.equal(d.stateOf(s), 'alive')
  })

  it('unreachable() asks helpers at once instead of waiting for the probe to time out', () => {
    const d = detector()
    const s = d.core.subjects()[0]!
    d.tick()
    d.mute.add(s)
    d.relays = () => false
    const out = d.unreachable(s)
    assert.equal(out.sends.filter(x => x.to === s && x.message.type === 'probe').length, 1)
    const reqs = out.sends.filter(x => x.message.type === 'probeReq' && x.message.target === s)
    assert.equal(reqs.length, d.cfg.indirectProbes)
    assert.deepEqual(d.unreachable(s).sends, [], 'a round already gone indirect is not restarted')
    assert.deepEqual(d.unreachable(bystanderOf(d)).sends, [], 'a member we do not watch is not probed')
  })
})

// ---------------------------------------------------------------- local pause

describe('membership core: a local pause', () => {
  it('a tick gap over localPauseThresholdMs does not count as missed rounds', () => {
    const d = detector({ missedRoundsBeforeSuspect: 1 })
    const s = d.core.subjects()[0]!
    d.mute.add(s)
    d.relays = () => false
    assert.ok(d.runFor(2000, () => d.probesOf(s).length > 0))
    const probe = d.probesOf(s)[0]!
    const mark = d.log.length
    // Paused for 5 s right after the probe went out; its answer sat in our queue meanwhile.
    const out = d.tickAt(probe.atMs + 5000)
    assert.deepEqual(out.publishes, [])
    assert.deepEqual(
      out.sends.filter(x => x.message.type === 'probeReq'),
      [],
      'the probe is not counted as timed out',
    )
    d.receive(s, { type: 'ack', seq: seqOf(probe) })
    d.mute.delete(s)
    d.runFor(5000)
    assert.deepEqual(d.published(mark), [])
    assert.deepEqual(d.probeReqsFor(s, mark), [])
  })

  it('the same silence without a pause does publish suspect (the contrast)', () => {
    const d = detector({ missedRoundsBeforeSuspect: 1 })
    const s = d.core.subjects()[0]!
    d.mute.add(s)
    d.relays = () => false
    assert.ok(d.runFor(2000, () => d.probesOf(s).length > 0))
    const probe = d.probesOf(s)[0]!
    d.runFor(probe.atMs + 1000 - d.nowMs)
    assert.equal(d.publishedAbout(s, 'suspect').length, 1)
  })

  it('a pause shifts suspicion clocks: a suspicion does not run out during our own pause', () => {
    const d = detector()
    d.tick()
    const y = bystanderOf(d)
    const t0 = d.nowMs
    d.gossip('n01', { kind: 'suspect', nodeId: y, incarnation: 1, by: 'n01' })
    d.tickAt(t0 + 100)
    d.tickAt(t0 + 3100) // paused for 3 s: 2.9 s credited
    assert.equal(d.stateOf(y), 'suspect')
    d.tickAt(t0 + 3100 + 700)
    assert.equal(d.stateOf(y), 'suspect')
    d.tickAt(t0 + 1000 + 2900)
    assert.equal(d.stateOf(y), 'dead', 'the full timeout ran once the credited pause is deducted')
  })
})

// ------------------------------------------------------------ anti-entropy

/** Messages of a sync conversation, in a form easy to compare. */
const syncShape = (m: DirectMessage): string =>
  m.type === 'syncPush'
    ? `syncPush(${m.members.length}${m.last ? ', last' : ''})`
    : m.type === 'syncPull'
      ? `syncPull(${m.members.length})`
      : m.type

const idsOf = (members: MemberSnapshot[]): string[] => sorted(members.map(m => m.record.info.nodeId))

/** Members outside the rings (dead or departed), so that A and B watch only each other. */
const departed = (prefix: string, count: number, state: MemberState = 'dead'): MemberSnapshot[] =>
  nodeIds(count, prefix).map(id => snapshot(id, state))

describe('membership core: anti-entropy', () => {
  const config = coreConfig({ antiEntropyIntervalMs: 2000 })

  /** A and B watch only each other. B never ticks: only A starts exchanges, one at a time. */
  function pair(tableA: MemberSnapshot[], tableB: MemberSnapshot[]): CoreCluster {
    const c = new CoreCluster(config)
    c.add('A', [snapshot('B'), ...tableA])
    c.add('B', [snapshot('A'), ...tableB])
    assert.deepEqual(c.core('A').activePeers(), ['B'])
    return c
  }

  /** Ticks A until it has started one exchange (its syncHello to B was delivered). */
  function exchange(c: CoreCluster): ReturnType<CoreCluster['syncMessages']> {
    const mark = c.transcript.length
    assert.ok(
      c.runUntil(['A'], () => c.syncMessages(mark).length > 0, 5000),
      'A started anti-entropy',
    )
    return c.syncMessages(mark)
  }

  it('the root a core advertises is its table digest, kept in step through every kind of change', () => {
    const d = new CoreDriver({ self: 'n00', members: [...aliveTable(10), ...departed('d', 3)] })
    d.tick()
    d.gossip('n01', { kind: 'suspect', nodeId: 'n02', incarnation: 1, by: 'n01' })
    d.gossip('n01', { kind: 'dead', nodeId: 'n03', incarnation: 1, by: 'n01' })
    d.gossip('n04', { kind: 'left', nodeId: 'n04', incarnation: 1 })
    d.gossip('n05', { kind: 'alive', record: record('n05', 1, { seq: 2, name: 'renamed' }) })
    d.gossip('d00', { kind: 'alive', record: record('d00', 2, { startedAt: 5000 }) })
    d.gossip('new', { kind: 'alive', record: record('new', 1) })
    d.gossip('n01', { kind: 'suspect', nodeId: 'n00', incarnation: 1, by: 'n01' })
    d.core.updateInfo({ name: 'me' })
    d.down.add('n02')
    let checked = 0
    for (let i = 0; i < 150; i++) {
      const hello = d.tick().sends.find(x => x.message.type === 'syncHello')?.message
      if (hello?.type !== 'syncHello') continue
      assert.deepEqual(hello.root, digestOfTable(d.core, d.cfg.syncBuckets).root, `at ${d.nowMs} ms`)
      checked++
    }
    assert.ok(checked >= 1, 'an anti-entropy round started')
    const answer = d.receive('n01', { type: 'syncHello', root: [1, 2] })
    assert.deepEqual(answer.sends, [
      {
        to: 'n01',
        message: { type: 'syncBuckets', buckets: digestOfTable(d.core, d.cfg.syncBuckets).bucketDigests() },
      },
    ])
  })

  it('equal tables: a syncHello gets no answer', () => {
    const common = departed('c', 20)
    const c = pair(common, common)
    assert.deepEqual(
      exchange(c).map(d => syncShape(d.message)),
      ['syncHello'],
    )
  })

  it('differing tables: buckets, then a pull of only the differing buckets, then a push; the tables agree after', () => {
    const common = departed('c', 20)
    const onlyB = departed('b', 3)
    // z: dead for A, departed for B (left beats dead at the same incarnation).
    const c = pair([...common, snapshot('z', 'dead')], [...common, ...onlyB, snapshot('z', 'left')])
    const convo = exchange(c)
    assert.deepEqual(
      convo.map(d => `${d.from}>${d.to} ${syncShape(d.message)}`),
      [
        'A>B syncHello',
        'B>A syncBuckets',
        `A>B syncPull(${(convo[2]!.message as { members: unknown[] }).members.length})`,
        `B>A syncPush(${(convo[3]!.message as { members: unknown[] }).members.length}, last)`,
      ],
    )
    const pull = convo[2]!.message as Extract<DirectMessage, { type: 'syncPull' }>
    const push = convo[3]!.message as Extract<DirectMessage, { type: 'syncPush' }>
    const differing = [...new Set(['b00', 'b01', 'b02', 'z'].map(id => bucketOf(id, config.syncBuckets)))]
    assert.deepEqual(
      [...pull.buckets].sort((a, b) => a - b),
      differing.sort((a, b) => a - b),
    )
    const inDiffering = (ids: string[]): string[] => sorted(ids.filter(id => differing.includes(bucketOf(id, 64))))
    assert.deepEqual(idsOf(pull.members), inDiffering(['A', 'B', 'z', ...common.map(s => s.record.info.nodeId)]))
    assert.deepEqual(
      idsOf(push.members),
      inDiffering(['A', 'B', 'z', ...[...common, ...onlyB].map(s => s.record.info.nodeId)]),
    )
    assert.ok(push.members.length < 20, 'not the whole table')
    for (const id of ['b00', 'b01', 'b02']) assert.equal(c.core('A').get(id)?.state, 'dead')
    assert.equal(c.core('A').get('z')!.state, 'left')
    assert.equal(c.core('B').get('z')!.state, 'left')
    assert.deepEqual(
      exchange(c).map(d => syncShape(d.message)),
      ['syncHello'],
      'the roots agree now',
    )
  })

  it('a sync is paged: at most maxMembersPerMessage a message, last on the final page only', () => {
    const small = coreConfig({ antiEntropyIntervalMs: 2000, maxMembersPerMessage: 10, syncBuckets: 4 })
    const c = new CoreCluster(small)
    c.add('A', [snapshot('B'), ...departed('a', 15, 'left')])
    c.add('B', [snapshot('A'), ...departed('b', 25)])
    const mark = c.transcript.length
    assert.ok(c.runUntil(['A'], () => c.syncMessages(mark).length > 0, 5000))
    const convo = c.syncMessages(mark)
    const fromA = convo.filter(d => d.from === 'A').slice(1)
    const fromB = convo.filter(d => d.from === 'B').slice(1)
    assert.equal(fromA[0]!.message.type, 'syncPull')
    assert.ok(fromA.length >= 2, "A's 17 members take more than one page")
    for (const d of [...fromA, ...fromB]) {
      const members = (d.message as { members: MemberSnapshot[] }).members
      assert.ok(members.length <= 10, `${syncShape(d.message)} within the page size`)
    }
    assert.ok(
      fromA.slice(1).every(d => d.message.type === 'syncPush' && !d.message.last),
      "the puller's pages are not last",
    )
    assert.ok(fromB.every(d => d.message.type === 'syncPush'))
    assert.deepEqual(
      fromB.map(d => (d.message as { last: boolean }).last),
      [...Array<boolean>(fromB.length - 1).fill(false), true],
    )
    assert.ok(fromB.length >= 3, `${fromB.length} pages for 25+ members`)
    const pushed = fromB.flatMap(d => (d.message as { members: MemberSnapshot[] }).members)
    assert.equal(new Set(idsOf(pushed)).size, pushed.length, 'each member once')
    assert.equal([...c.core('A').others()].length, 1 + 15 + 25)
    assert.equal([...c.core('B').others()].length, 1 + 15 + 25)
    assert.deepEqual(
      digestOfTable(c.core('A'), 4).root,
      digestOfTable(c.core('B'), 4).root,
      'the tables agree after one exchange',
    )
  })

  it('stateAgeMs: a member learned dead by anti-entropy is forgotten when the sender forgets it', () => {
    const cfg = coreConfig({ antiEntropyIntervalMs: 2000, forgetAfterMs: 60_000 })
    const c = new CoreCluster(cfg)
    c.add('A', [snapshot('B')])
    c.add('B', [snapshot('A'), snapshot('d', 'dead', 1, 50_000)])
    assert.ok(
      c.runUntil(['A'], () => c.core('A').get('d') !== undefined, 5000),
      'A learned d',
    )
    assert.ok(
      c.runUntil(['A', 'B'], () => c.forgotten.length >= 2, 30_000),
      'both forgot d',
    )
    const at = (observer: string): number => c.forgotten.find(f => f.observer === observer && f.id === 'd')!.atMs
    // B held d dead for 50 s at time 0: both forget it 10 s later (at their next scan, every 6 s).
    for (const observer of ['A', 'B'])
      assert.ok(at(observer) >= 10_000 && at(observer) <= 16_000, `${observer}: ${at(observer)}`)
  })

  it('revival: a dead member is offered a syncHello every reviveIntervalMs or so', () => {
    const d = new CoreDriver({ self: 'n00', members: [...aliveTable(5), snapshot('gone', 'dead')] })
    d.runFor(60_000)
    const times = d
      .sent()
      .filter(s => s.to === 'gone' && s.message.type === 'syncHello')
      .map(s => s.atMs)
    assert.ok(times.length >= 4, `${times.length} offers in 60 s`)
    assert.ok(times[0]! < d.cfg.reviveIntervalMs)
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!
      assert.ok(gap >= d.cfg.reviveIntervalMs / 2 && gap <= 1.5 * d.cfg.reviveIntervalMs + 100, `gap ${gap}`)
    }
  })

  it('revival: a node declared dead while cut off learns it from the offer and refutes; the offerer revives it', () => {
    const c = new CoreCluster(coreConfig({ reviveIntervalMs: 2000 }))
    c.gossip = true
    c.add('A', [snapshot('D', 'dead')])
    c.add('D', [snapshot('A')])
    assert.ok(
      c.runUntil(['A'], () => c.core('A').get('D')!.state === 'alive', 5000),
      'A holds D alive again',
    )
    const first = c.transcript.find(d => d.message.type === 'syncHello')!
    assert.deepEqual([first.from, first.to], ['A', 'D'])
    assert.deepEqual(
      c.publishes.filter(p => p.by === 'D').map(p => p.event),
      [{ kind: 'alive', record: c.core('D').selfRecord }],
    )
    assert.equal(c.core('D').selfRecord.incarnation, 2)
  })
})

// ------------------------------------------------------------------- joins

describe('membership core: join', () => {
  const config = coreConfig()

  it('retries the bootstrap peers in turn with a jittered, doubling, capped backoff', () => {
    const cfg = coreConfig({ joinRetryInitialMs: 250, joinRetryMaxMs: 4000 })
    const d = new CoreDriver({ self: 'J', config: cfg })
    const first = d.core.startJoin(['B1', 'J', 'B2'], d.nowMs)
    assert.deepEqual(
      first.sends.map(s => s.to),
      ['B1'],
      'asks the first target at once (never itself)',
    )
    d.log.push({ atMs: 0, out: first })
    d.runFor(60_000, () => false, 10)
    const hellos = d.sent().filter(s => s.message.type === 'syncHello')
    for (const h of hellos) {
      assert.deepEqual(
        (h.message as Extract<DirectMessage, { type: 'syncHello' }>).joining,
        { record: d.core.selfRecord, state: 'alive', stateIncarnation: 1, stateAgeMs: 0 },
        'each attempt carries the joiner itself',
      )
    }
    assert.deepEqual(
      hellos.slice(0, 6).map(h => h.to),
      ['B1', 'B2', 'B1', 'B2', 'B1', 'B2'],
    )
    for (let k = 0; k + 1 < hellos.length; k++) {
      const stepMs = Math.min(4000, 250 * 2 ** Math.floor(k / 2))
      const gap = hellos[k + 1]!.atMs - hellos[k]!.atMs
      assert.ok(gap >= stepMs / 2 && gap <= stepMs + 10, `attempt ${k}: gap ${gap} for a step of ${stepMs}`)
    }
  })

  it('a join ends when a target answers the last page; the joiner then announces itself', () => {
    const c = new CoreCluster(config)
    const table = aliveTable(30, 'B1')
    c.add('B1', table)
    const joiner = c.add('J', [])
    c.apply('J', joiner.startJoin(['B1'], c.nowMs))
    const convo = c.syncMessages()
    assert.deepEqual(
      convo.map(d => `${d.from}>${d.to} ${d.message.type}`),
      ['J>B1 syncHello', 'B1>J syncBuckets', 'J>B1 syncPull', 'B1>J syncPush'],
    )
    assert.equal((convo[3]!.message as { last: boolean }).last, true)
    // The bootstrap peer took the joiner in and relayed its signed record.
    assert.equal(c.core('B1').get('J')!.state, 'alive')
    assert.deepEqual(
      c.transitions.filter(t => t.observer === 'B1').map(t => [t.nodeId, t.from, t.to, t.reason]),
      [['J', null, 'alive', 'joined']],
    )
    assert.deepEqual(
      c.publishes.filter(p => p.by === 'B1').map(p => p.event),
      [{ kind: 'alive', record: joiner.selfRecord }],
    )
    // The joiner has the table and announced itself once.
    assert.deepEqual(
      sorted([...joiner.others()].filter(m => m.state === 'alive').map(m => m.record.info.nodeId)),
      sorted(['B1', ...table.map(s => s.record.info.nodeId)]),
    )
    assert.deepEqual(
      c.publishes.filter(p => p.by === 'J').map(p => p.event),
      [{ kind: 'alive', record: joiner.selfRecord }],
    )
    const mark = c.undelivered.length
    c.runUntil(['J'], () => false, 5000)
    assert.deepEqual(
      c.undelivered.slice(mark).filter(d => d.message.type === 'syncHello' && d.message.joining !== undefined),
      [],
      'no more join attempts',
    )
  })

  it('a last page from a peer that is not a join target does not end the join', () => {
    const d = new CoreDriver({ self: 'J' })
    d.log.push({ atMs: 0, out: d.core.startJoin(['B1'], 0) })
    const out = d.receive('stranger', { type: 'syncPush', members: [snapshot('x')], last: true })
    assert.deepEqual(out.publishes, [])
    d.runFor(1000)
    assert.ok(d.sent().filter(s => s.to === 'B1').length >= 2, 'still retrying B1')
    const done = d.receive('B1', { type: 'syncPush', members: [], last: true })
    assert.deepEqual(done.publishes, [{ kind: 'alive', record: d.core.selfRecord }])
    const mark = d.log.length
    d.runFor(20_000)
    assert.deepEqual(
      d.sent(mark).filter(s => s.to === 'B1'),
      [],
    )
  })

  it('a bootstrap peer relays a joiner only when its record is news', () => {
    const d = new CoreDriver({ self: 'B1', members: aliveTable(5, 'B1') })
    const joining = snapshot('J')
    const first = d.receive('J', { type: 'syncHello', root: [0, 0], joining })
    assert.deepEqual(first.publishes, [{ kind: 'alive', record: joining.record }])
    // A retry (the same record, decoded again) is no news.
    const again = d.receive('J', { type: 'syncHello', root: [0, 0], joining: structuredClone(joining) })
    assert.deepEqual(again.publishes, [])
    // A joining snapshot of someone other than the sender is not taken.
    const forged = d.receive('n01', { type: 'syncHello', root: [0, 0], joining: snapshot('K') })
    assert.deepEqual(forged.publishes, [])
    assert.equal(d.core.get('K'), undefined)
  })

  it('a joiner that the bootstrap peer holds dead at its incarnation learns it and refutes', () => {
    const c = new CoreCluster(config)
    c.gossip = true
    c.add('B1', [...aliveTable(5, 'B1'), snapshot('J', 'dead')])
    const joiner = c.add('J', [])
    c.apply('J', joiner.startJoin(['B1'], c.nowMs))
    assert.equal(joiner.selfRecord.incarnation, 2)
    assert.ok(c.publishes.some(p => p.by === 'J' && p.event.kind === 'alive' && p.event.record.incarnation === 2))
    assert.equal(c.core('B1').get('J')!.state, 'alive')
  })
})

// ------------------------------------------------------ forgetting, leaving

describe('membership core: forgetting and leaving', () => {
  for (const kind of ['dead', 'left'] as const) {
    it(`a ${kind} member is forgotten forgetAfterMs later (at the next scan), a live one never`, () => {
      const d = new CoreDriver({ self: 'n00', members: aliveTable(6), config: { forgetAfterMs: 10_000 } })
      d.runFor(1000)
      const x = bystanderOf(d)
      const t = d.nowMs
      if (kind === 'dead') d.gossip('n01', { kind: 'dead', nodeId: x, incarnation: 1, by: 'n01' })
      else d.gossip(x, { kind: 'left', nodeId: x, incarnation: 1 })
      assert.equal(d.stateOf(x), kind)
      assert.ok(d.runFor(15_000, () => d.forgotten().length > 0))
      assert.deepEqual(
        d.forgotten().map(f => f.id),
        [x],
      )
      const at = d.forgotten()[0]!.atMs
      assert.ok(at >= t + 10_000 && at <= t + 11_000, `forgotten at ${at - t} ms`)
      assert.equal(d.core.get(x), undefined)
      d.runFor(30_000)
      assert.deepEqual(
        d.forgotten().map(f => f.id),
        [x],
        'live members stay',
      )
      assert.equal(d.core.liveCount(), 5)
    })
  }

  it('leave publishes left and tells each peer of the active view directly', () => {
    const d = new CoreDriver({ self: 'n00', members: aliveTable(20), selfIncarnation: 4 })
    const out = d.core.leave()
    assert.deepEqual(out.publishes, [{ kind: 'left', nodeId: 'n00', incarnation: 4 }])
    assert.deepEqual(sorted(out.sends.map(s => s.to)), sorted(d.core.activePeers()))
    assert.ok(out.sends.every(s => s.message.type === 'left' && s.message.incarnation === 4))
  })

  it("a peer's direct leave marks it left, unless it is about an older incarnation", () => {
    const d = new CoreDriver({ self: 'n00', members: [...aliveTable(5), snapshot('x', 'alive', 3)] })
    assert.deepEqual(d.receive('x', { type: 'left', incarnation: 2 }).transitions, [])
    assert.deepEqual(
      d.receive('x', { type: 'left', incarnation: 3 }).transitions.map(t => [t.nodeId, t.from, t.to]),
      [['x', 'alive', 'left']],
    )
    assert.ok(!d.core.subjects().includes('x') && !d.core.activePeers().includes('x'))
  })

  it('a member loaded as suspect (a restored table) still runs out its suspicion, timed from its age', () => {
    // Suspected 400 ms before the table was saved; 10 live members: a 1000 ms timeout.
    const d = new CoreDriver({ self: 'n00', members: [...aliveTable(10).slice(1), snapshot('n01', 'suspect', 1, 400)] })
    assert.equal(d.stateOf('n01'), 'suspect')
    assert.ok(
      d.runFor(5000, () => d.stateOf('n01') === 'dead'),
      'declared dead when its suspicion ran out',
    )
    assert.equal(d.nowMs, 600)
  })
})
