// Property tests of the wire decoders a peer can reach outside Raft: membership events and direct
// membership messages (probes, anti-entropy, joins), forwarded writes (/meshos/rpc) and log reads (/meshos/logs). On random bytes, random JSON
// and near-valid messages each decoder never throws, and whatever it accepts is a value the code
// behind it can use: numbers exact and in range, times a Date can hold, and the value unchanged by
// encoding it again.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeDirect, decodeEvent, encodeDirect, encodeEvent } from '../../src/gossip/wire.js'
import type {
  DirectMessage,
  MemberInfo,
  MemberRecord,
  MemberSnapshot,
  MembershipEvent,
} from '../../src/gossip/core/types.js'
import { MEMBERSHIP_LIMITS } from '../../src/gossip/config.js'
import { decodeRpcFrame, encodeRpcFrame, type RpcFrame } from '../../src/cluster/write-rpc.js'
import {
  LOG_CHUNK_MAX_BYTES,
  decodeLogRequest,
  decodeLogResponse,
  encodeLogRequest,
  encodeLogResponse,
  type LogRequest,
  type LogResponse,
} from '../../src/tasks/log-rpc.js'
import type { DecodeResult } from '../../src/wire/json-codec.js'
import { isoOrNull } from '../../src/util/epoch.js'
import { hostileValue, jsonBytes, nearly } from '../helpers/near-schema.js'
import { memberInfo } from '../helpers/fixtures.js'

const RUNS = 300

function exactCount(n: number, max = Number.MAX_SAFE_INTEGER): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n <= max
}

function saneInfo(n: MemberInfo): void {
  const L = MEMBERSHIP_LIMITS
  assert.ok(
    Number.isFinite(n.capacity.cpus) && n.capacity.cpus >= 0 && n.capacity.cpus <= L.maxCpus,
    `cpus ${n.capacity.cpus}`,
  )
  assert.ok(Number.isFinite(n.capacity.memoryMb) && n.capacity.memoryMb >= 0 && n.capacity.memoryMb <= L.maxMemoryMb)
  assert.notEqual(isoOrNull(n.startedAt), null, `startedAt ${n.startedAt}`)
  assert.ok(n.addrs.length <= L.maxAddrs && Object.keys(n.labels).length <= L.maxLabels)
  assert.ok(n.nodeId.length > 0 && n.nodeId.length <= 128)
}

function saneRecord(r: MemberRecord): void {
  const L = MEMBERSHIP_LIMITS
  saneInfo(r.info)
  assert.ok(exactCount(r.incarnation, L.maxCounter) && exactCount(r.seq, L.maxCounter), 'counters')
  assert.ok(exactCount(r.incarnation + 1), 'a refutation of it stays exact')
}

function saneSnapshot(m: MemberSnapshot): void {
  saneRecord(m.record)
  assert.ok(exactCount(m.stateIncarnation, MEMBERSHIP_LIMITS.maxCounter) && exactCount(m.stateAgeMs))
}

interface Codec<T> {
  name: string
  decode: (bytes: Uint8Array) => DecodeResult<T>
  encode: (value: T) => Uint8Array
  sane: (value: T) => void
  examples: T[]
}

const info = memberInfo('12D3KooWexample', { labels: { zone: 'a' }, startedAt: 1_700_000_000_000 })
const record: MemberRecord = { info, incarnation: 2, seq: 1, signature: 'c2ln' }
const snapshot: MemberSnapshot = { record, state: 'suspect', stateIncarnation: 2, stateAgeMs: 1500 }

const events: Codec<MembershipEvent> = {
  name: 'membership events (alive, suspect, dead, left)',
  decode: decodeEvent,
  encode: encodeEvent,
  sane: e => {
    if (e.kind === 'alive') saneRecord(e.record)
    else assert.ok(exactCount(e.incarnation, MEMBERSHIP_LIMITS.maxCounter))
  },
  examples: [
    { kind: 'alive', record },
    { kind: 'suspect', nodeId: 'other', incarnation: 3, by: info.nodeId },
    { kind: 'dead', nodeId: 'other', incarnation: 3, by: info.nodeId },
    { kind: 'left', nodeId: info.nodeId, incarnation: 2 },
  ],
}

const direct: Codec<DirectMessage> = {
  name: 'direct membership messages (probes, anti-entropy)',
  decode: decodeDirect,
  encode: encodeDirect,
  sane: m => {
    if (m.type === 'syncHello' && m.joining !== undefined) saneSnapshot(m.joining)
    if (m.type === 'syncPull' || m.type === 'syncPush') {
      assert.ok(m.members.length <= MEMBERSHIP_LIMITS.maxMembersPerMessage)
      for (const x of m.members) saneSnapshot(x)
    }
    if (m.type === 'syncPull') for (const b of m.buckets) assert.ok(exactCount(b, MEMBERSHIP_LIMITS.maxSyncBuckets))
  },
  examples: [
    { type: 'probe', seq: 1 },
    { type: 'probe', seq: 2, suspectedAt: 3 },
    { type: 'ack', seq: 2 },
    { type: 'probeReq', seq: 4, target: 'other' },
    { type: 'probeReqAck', seq: 4, target: 'other' },
    { type: 'syncHello', root: [1, 2], joining: { ...snapshot, state: 'alive' } },
    {
      type: 'syncBuckets',
      buckets: [
        [1, 2],
        [3, 4],
      ],
    },
    { type: 'syncPull', buckets: [0, 5], members: [snapshot] },
    { type: 'syncPush', members: [snapshot], last: true },
    { type: 'left', incarnation: 2 },
  ],
}

const rpc: Codec<RpcFrame> = {
  name: 'rpc frame (propose, result)',
  decode: decodeRpcFrame,
  encode: encodeRpcFrame,
  sane: frame => {
    assert.ok(frame.id.length >= 1 && frame.id.length <= 64)
    if (frame.type === 'result' && frame.ok) assert.ok(exactCount(frame.index) && exactCount(frame.term))
    if (frame.type === 'result' && !frame.ok) assert.ok(frame.message.length <= 1024)
  },
  examples: [
    { v: 4, type: 'propose', id: 'a-1', command: { type: 'kv.put', key: 'k', value: 'v' } },
    { v: 4, type: 'result', id: 'a-1', ok: true, index: 12, term: 3 },
    { v: 4, type: 'result', id: 'a-2', ok: false, code: 'invalid', message: 'forbidden: no', leader: null },
  ],
}

const logRequest: Codec<LogRequest> = {
  name: 'log request',
  decode: decodeLogRequest,
  encode: encodeLogRequest,
  sane: req => {
    assert.ok(exactCount(req.attempt) && req.attempt > 0 && exactCount(req.offset))
    assert.ok(req.maxBytes > 0 && req.maxBytes <= LOG_CHUNK_MAX_BYTES)
  },
  examples: [{ v: 1, taskId: 'abc-123', attempt: 1, stream: 'stdout', offset: 0, maxBytes: 1024 }],
}

const logResponse: Codec<LogResponse> = {
  name: 'log response',
  decode: decodeLogResponse,
  encode: encodeLogResponse,
  sane: res => {
    assert.ok(exactCount(res.nextOffset))
  },
  examples: [{ v: 1, found: true, data: 'aGVsbG8=', nextOffset: 5, truncated: false }],
}

/** Decoding never throws; what is accepted is sane and survives encoding again unchanged. */
function holds<T>(codec: Codec<T>, bytes: Uint8Array): void {
  const result = codec.decode(bytes)
  if (!result.ok) {
    assert.ok(['oversized', 'not_json', 'invalid_schema'].includes(result.reason), result.reason)
    return
  }
  codec.sane(result.value)
  assert.deepEqual(codec.decode(codec.encode(result.value)), result)
}

describe('wire decoders (property tests)', () => {
  for (const codec of [events, direct, rpc, logRequest, logResponse] as Array<Codec<unknown>>) {
    describe(codec.name, () => {
      it('accepts its own examples', () => {
        for (const example of codec.examples) {
          const result = codec.decode(codec.encode(example))
          assert.ok(result.ok, result.ok ? '' : result.detail)
          codec.sane(result.value)
        }
      })

      it('never throws on random bytes, and accepts only sane values', () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 4096 }), bytes => {
            holds(codec, bytes)
          }),
          { numRuns: RUNS },
        )
      })

      it('never throws on random JSON, and accepts only sane values', () => {
        fc.assert(
          fc.property(jsonBytes(fc.oneof(fc.anything(), hostileValue)), bytes => {
            holds(codec, bytes)
          }),
          { numRuns: RUNS },
        )
      })

      it('never throws on near-valid messages, and accepts only sane values', () => {
        fc.assert(
          fc.property(jsonBytes(fc.constantFrom(...codec.examples).chain(nearly)), bytes => {
            holds(codec, bytes)
          }),
          { numRuns: RUNS * 3 },
        )
      })
    })
  }

  it('isoOrNull answers for every number, null where no Date can hold it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer(), fc.constantFrom(2 ** 53, 8.64e15, -8.64e15, 8.64e15 + 1)), ms => {
        const iso = isoOrNull(ms)
        assert.equal(iso === null, !(Number.isFinite(ms) && Math.abs(ms) <= 8.64e15))
      }),
    )
    assert.equal(isoOrNull(2 ** 53), null)
    assert.equal(isoOrNull(0), '1970-01-01T00:00:00.000Z')
  })
})
