// The /meshos/raft/2.0.0 wire: the schema refuses what no correct node sends, large messages
// travel as chunks and come back whole, the reassembly buffer is bounded, and (property-based)
// the frame decoder never throws and only ever returns messages that satisfy every rule.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { fromString } from 'uint8arrays'
import { messageProblem, RAFT_NUMBER_MAX } from '../../src/election/core/message-checks.js'
import { configProblem } from '../../src/election/core/raft-config.js'
import type { RaftMessage } from '../../src/election/core/types.js'
import { ChunkAssembler } from '../../src/election/transport/raft-chunks.js'
import {
  RAFT_CHUNK_BYTES,
  RAFT_FRAME_MAX_BYTES,
  decodeRaftFrame,
  decodeRaftMessage,
  encodeRaftFrames,
  encodeRaftMessage,
  type ChunkHeader,
} from '../../src/election/transport/raft-wire.js'
import { decodeConfigAnswer } from '../../src/election/transport/raft-config-wire.js'
import { FakeClock } from '../helpers/fake-clock.js'

const json = (value: unknown): Uint8Array => fromString(JSON.stringify(value))

function bigSnapshot(bytes: number): RaftMessage {
  return {
    type: 'snapshot',
    from: 'a',
    to: 'b',
    term: 4,
    snapshot: { index: 9, term: 4, config: { voters: ['a', 'b'], learners: [] }, data: { blob: 'x'.repeat(bytes) } },
  }
}

/** Decodes every frame and feeds the chunks to `assembler` as sender 'a'. */
function feed(assembler: ChunkAssembler, frames: Uint8Array[]): ReturnType<ChunkAssembler['add']>[] {
  return frames.map(frame => {
    const decoded = decodeRaftFrame(frame)
    assert.ok(decoded.ok && decoded.value.kind === 'chunk', 'a chunk frame')
    return assembler.add('a', decoded.value.header, decoded.value.payload)
  })
}

describe('raft wire (/meshos/raft/2.0.0)', () => {
  it('refuses terms and indexes past 2^48, junk configs, impossible logs and a commit without logTerm', () => {
    const b = { from: 'a', to: 'b', term: 3 }
    const refused: Array<[string, unknown, RegExp]> = [
      ['term 2^53', { ...b, term: 2 ** 53, type: 'heartbeat', commit: 0 }, /term: Number must be less/],
      ['index 2^48 + 1', { ...b, type: 'heartbeat', commit: RAFT_NUMBER_MAX + 1 }, /commit/],
      ['a fractional term', { ...b, term: 1.5, type: 'timeoutNow' }, /term/],
      ['a commit message without logTerm', { ...b, type: 'commit', commit: 2 }, /logTerm/],
      [
        'a config entry holding a string',
        {
          ...b,
          type: 'append',
          prevLogIndex: 0,
          prevLogTerm: 0,
          commit: 0,
          entries: [{ index: 1, term: 3, type: 'config', data: 'x' }],
        },
        /config entry 1: a config must be an object/,
      ],
      [
        'a config entry without voters',
        {
          ...b,
          type: 'append',
          prevLogIndex: 0,
          prevLogTerm: 0,
          commit: 0,
          entries: [{ index: 1, term: 3, type: 'config', data: { voters: [], learners: ['a'] } }],
        },
        /at least one voter/,
      ],
      [
        'entries that skip an index',
        {
          ...b,
          type: 'append',
          prevLogIndex: 4,
          prevLogTerm: 1,
          commit: 0,
          entries: [
            { index: 5, term: 1, type: 'normal', data: null },
            { index: 7, term: 1, type: 'normal', data: null },
          ],
        },
        /entry 7 does not follow/,
      ],
      [
        'an entry of a later term than the message',
        {
          ...b,
          type: 'append',
          prevLogIndex: 0,
          prevLogTerm: 0,
          commit: 0,
          entries: [{ index: 1, term: 4, type: 'normal', data: null }],
        },
        /impossible term/,
      ],
      [
        'a snapshot whose config has a duplicate',
        {
          ...b,
          type: 'snapshot',
          snapshot: { index: 2, term: 1, config: { voters: ['a'], learners: ['a'] }, data: null },
        },
        /snapshot config: duplicate/,
      ],
      [
        'a snapshot of entry 0',
        {
          ...b,
          type: 'snapshot',
          snapshot: { index: 0, term: 0, config: { voters: ['a'], learners: [] }, data: null },
        },
        /at least entry 1/,
      ],
      [
        'a vote whose log is of a later term',
        { ...b, type: 'vote', lastLogIndex: 1, lastLogTerm: 4, transfer: false },
        /lastLogTerm/,
      ],
    ]
    for (const [what, message, detail] of refused) {
      const result = decodeRaftFrame(json(message))
      assert.ok(!result.ok, what)
      assert.equal(result.reason, 'invalid_schema', what)
      assert.match(result.detail, detail, what)
    }
  })

  it('sends a message above one chunk as chunks that the receiver puts back together', () => {
    const message = bigSnapshot(3 * RAFT_CHUNK_BYTES + 12345)
    const frames = encodeRaftFrames(message, 7)
    assert.equal(frames.length, 4)
    for (const frame of frames) assert.ok(frame.byteLength <= RAFT_FRAME_MAX_BYTES)
    const assembler = new ChunkAssembler({ maxTotalBytes: 64 * RAFT_CHUNK_BYTES, idleTimeoutMs: 1000 }, new FakeClock())
    const results = feed(assembler, frames)
    assert.deepEqual(
      results.slice(0, 3).map(r => r.status),
      ['partial', 'partial', 'partial'],
    )
    const last = results[3]!
    assert.ok(last.status === 'complete')
    assert.deepEqual(decodeRaftMessage(last.bytes), { ok: true, value: message })
    assert.equal(assembler.heldBytes, 0)
    // A message within one chunk is one plain JSON frame, as before chunking existed.
    const small = bigSnapshot(100)
    assert.deepEqual(encodeRaftFrames(small, 8), [encodeRaftMessage(small)])
  })

  it('drops chunks out of order, replaces an unfinished message, and bounds what it holds', () => {
    const clock = new FakeClock()
    const assembler = new ChunkAssembler({ maxTotalBytes: 5 * RAFT_CHUNK_BYTES, idleTimeoutMs: 1000 }, clock)
    const frames = encodeRaftFrames(bigSnapshot(3 * RAFT_CHUNK_BYTES), 1)
    assert.deepEqual(
      feed(assembler, [frames[0]!, frames[2]!]).map(r => r.status),
      ['partial', 'dropped'],
    )
    assert.equal(assembler.heldBytes, 0, 'the gap dropped the whole message')

    // A new message from the same sender replaces the unfinished one.
    const other = encodeRaftFrames(bigSnapshot(2 * RAFT_CHUNK_BYTES), 2)
    feed(assembler, [frames[0]!])
    feed(assembler, [other[0]!])
    assert.ok(assembler.heldBytes < 3 * RAFT_CHUNK_BYTES)
    assert.equal(feed(assembler, [frames[1]!])[0]!.status, 'dropped', 'a chunk of the replaced message')

    // Past the total: refused before anything is held.
    const huge = encodeRaftFrames(bigSnapshot(6 * RAFT_CHUNK_BYTES), 3)
    assert.deepEqual(feed(assembler, [huge[0]!])[0], { status: 'dropped', reason: 'reassembly_full' })

    // A sender that stops half-way is forgotten after the idle timeout.
    feed(assembler, [frames[0]!])
    assert.ok(assembler.heldBytes > 0)
    clock.advance(999)
    assert.ok(assembler.heldBytes > 0)
    clock.advance(1)
    assert.equal(assembler.heldBytes, 0)
    assert.equal(assembler.timedOut, 1)
  })

  it('refuses chunk frames whose header or length is inconsistent', () => {
    const [first] = encodeRaftFrames(bigSnapshot(2 * RAFT_CHUNK_BYTES), 1)
    const cut = first!.subarray(0, first!.byteLength - 1)
    const result = decodeRaftFrame(cut)
    assert.ok(!result.ok && /holds \d+ bytes, not/.test(result.detail))
    const header: ChunkHeader = {
      from: 'a',
      to: 'b',
      term: 1,
      type: 'snapshot',
      transfer: 0,
      seq: 0,
      count: 5,
      bytes: 10,
    }
    const forged = new Uint8Array([1, ...fromString(`${JSON.stringify(header)}\n`), 0])
    const bad = decodeRaftFrame(forged)
    assert.ok(!bad.ok && /count must be/.test(bad.detail))
    const unterminated = decodeRaftFrame(new Uint8Array([1, ...fromString('{"from":"a"')]))
    assert.ok(!unterminated.ok)
  })

  describe('property: the decoder never throws and returns only valid messages', () => {
    /** Every message the decoder returns satisfies the schema's rules on its own. */
    function checkFrame(bytes: Uint8Array): void {
      const result = decodeRaftFrame(bytes)
      if (!result.ok) return
      if (result.value.kind === 'chunk') {
        const h = result.value.header
        assert.ok(h.seq < h.count && h.bytes <= h.count * RAFT_CHUNK_BYTES)
        return
      }
      const m = result.value.message
      assert.equal(messageProblem(m), null)
      if (m.type === 'append')
        for (const e of m.entries) if (e.type === 'config') assert.equal(configProblem(e.data), null)
      if (m.type === 'snapshot') assert.equal(configProblem(m.snapshot.config), null)
      assert.deepEqual(decodeRaftMessage(encodeRaftMessage(m)), { ok: true, value: m })
    }

    it('on arbitrary bytes, and on arbitrary bytes after the chunk mark', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2048 }), bytes => {
          checkFrame(bytes)
          checkFrame(new Uint8Array([1, ...bytes]))
        }),
        { numRuns: 2000 },
      )
    })

    // Values a hostile or buggy peer might put in each field: mostly valid ones, so that whole
    // messages come out valid often enough, and every kind of wrong one.
    const anyNumber = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 12 }) },
      { weight: 1, arbitrary: fc.constantFrom(-1, 0.5, 2 ** 48, 2 ** 48 + 1, 2 ** 53, 1e300, Number.MAX_SAFE_INTEGER) },
    )
    const anyId = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'c') },
      { weight: 1, arbitrary: fc.oneof(fc.constant(''), fc.string({ maxLength: 3 }), fc.constant('x'.repeat(200))) },
    )
    const anyConfig = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          voters: fc.array(anyId, { maxLength: 4 }),
          learners: fc.array(anyId, { maxLength: 3 }),
        }),
      },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    )
    const anyEntry = fc.record({
      index: anyNumber,
      term: anyNumber,
      type: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom('normal', 'config') },
        { weight: 1, arbitrary: fc.constant('other') },
      ),
      data: fc.oneof(anyConfig, fc.jsonValue({ maxDepth: 2 })),
    })
    const base = { from: anyId, to: anyId, term: anyNumber }
    /** Entries renumbered to follow prevLogIndex in the message's term, as a correct leader sends them. */
    const repaired = (m: {
      prevLogIndex: unknown
      term: unknown
      entries: Array<Record<string, unknown>>
    }): unknown => ({
      ...m,
      entries: m.entries.map((e, i) => ({ ...e, index: Number(m.prevLogIndex) + 1 + i, term: m.term })),
    })
    const shapes = [
      fc.record({ ...base, type: fc.constant('preVote'), lastLogIndex: anyNumber, lastLogTerm: anyNumber }),
      fc.record({ ...base, type: fc.constant('preVoteResp'), granted: fc.boolean() }),
      fc.record({
        ...base,
        type: fc.constant('vote'),
        lastLogIndex: anyNumber,
        lastLogTerm: anyNumber,
        transfer: fc.boolean(),
      }),
      fc.record({ ...base, type: fc.constant('voteResp'), granted: fc.boolean() }),
      fc
        .tuple(
          fc.record({
            ...base,
            type: fc.constant('append'),
            prevLogIndex: anyNumber,
            prevLogTerm: anyNumber,
            entries: fc.array(anyEntry, { maxLength: 4 }),
            commit: anyNumber,
          }),
          fc.boolean(),
        )
        .map(([m, repair]) => (repair ? repaired(m) : m)),
      fc.record({
        ...base,
        type: fc.constant('appendResp'),
        reject: fc.boolean(),
        index: anyNumber,
        hintIndex: anyNumber,
        hintTerm: anyNumber,
      }),
      fc.record({
        ...base,
        type: fc.constant('snapshot'),
        snapshot: fc.record({
          index: anyNumber,
          term: anyNumber,
          config: anyConfig,
          data: fc.jsonValue({ maxDepth: 2 }),
        }),
      }),
      fc.record({ ...base, type: fc.constant('heartbeat'), commit: anyNumber }),
      fc.record({ ...base, type: fc.constant('heartbeatResp') }),
      fc.record({ ...base, type: fc.constant('commit'), commit: anyNumber, logTerm: anyNumber }),
      fc.record({ ...base, type: fc.constantFrom('timeoutNow', 'bogus') }),
    ]
    /** A message of some type, sometimes with a field missing or one too many. */
    const nearMessage = fc
      .tuple(fc.oneof(...shapes), fc.nat(9), fc.constantFrom('from', 'term', 'commit', 'entries', 'extra'))
      .map(([m, mutate, key]) => {
        const copy: Record<string, unknown> = { ...(m as Record<string, unknown>) }
        if (mutate === 0) delete copy[key]
        if (mutate === 1) copy[key === 'extra' ? 'extra' : `${key}2`] = 1
        return copy
      })

    it('on arbitrary JSON near the schema', () => {
      let accepted = 0
      const runs = 10_000
      fc.assert(
        fc.property(nearMessage, candidate => {
          const bytes = json(candidate)
          checkFrame(bytes)
          if (decodeRaftFrame(bytes).ok) accepted++
        }),
        { numRuns: runs },
      )
      // The generator must reach valid messages too, or the property says nothing about them.
      assert.ok(accepted > runs / 20, `only ${accepted} of ${runs} candidates were valid messages`)
    })

    it('the trust anchor answer decoder, on arbitrary JSON near its schema', () => {
      const nearAnswer = fc.record(
        {
          v: fc.constantFrom(1, 2),
          status: fc.constantFrom('ok', 'refused', 'other'),
          reason: fc.constantFrom('not_member', 'rate_limited', 'why'),
          term: anyNumber,
          leader: fc.oneof(anyId, fc.constant(null)),
          voters: fc.array(anyId, { maxLength: 70 }),
        },
        { requiredKeys: [] },
      )
      fc.assert(
        fc.property(nearAnswer, candidate => {
          const result = decodeConfigAnswer(json(candidate))
          if (!result.ok || result.value.status !== 'ok') return
          assert.ok(
            result.value.voters.length <= 64 && new Set(result.value.voters).size === result.value.voters.length,
          )
          assert.ok(Number.isSafeInteger(result.value.term) && result.value.term <= RAFT_NUMBER_MAX)
        }),
        { numRuns: 5000 },
      )
    })
  })
})
