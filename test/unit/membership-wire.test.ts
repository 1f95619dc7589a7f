// Unit tests of the membership wire format (src/gossip/wire.ts): every event and direct message
// survives encoding, what a peer may not send is refused with the reason and the field, other
// versions are recognised, and a record is signed over canonical bytes by the node it describes.
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  MEMBERSHIP_WIRE_VERSION,
  decodeDirect,
  decodeEvent,
  encodeDirect,
  encodeEvent,
  isOtherVersion,
  memberInfoProblem,
  signedBytes,
} from '../../src/gossip/wire.js'
import { MEMBERSHIP_LIMITS } from '../../src/gossip/config.js'
import { RecordSigner, verifiedBy } from '../../src/p2p/record-signer.js'
import { MAX_EPOCH_MS } from '../../src/util/epoch.js'
import type {
  DirectMessage,
  MemberInfo,
  MemberRecord,
  MemberSnapshot,
  MembershipEvent,
} from '../../src/gossip/core/types.js'
import type { DecodeFailure } from '../../src/wire/json-codec.js'

const L = MEMBERSHIP_LIMITS
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
const json = (value: unknown): Uint8Array => utf8(JSON.stringify(value))

const info: MemberInfo = {
  nodeId: '12D3KooWexample',
  name: 'node-a',
  addrs: ['/ip4/10.0.0.1/tcp/4001'],
  capacity: { cpus: 4, memoryMb: 8192 },
  labels: { zone: 'a', gpu: 'none' },
  version: '0.1.0',
  startedAt: 1_700_000_000_000,
}
const rec: MemberRecord = { info, incarnation: 3, seq: 2, signature: 'c2lnbmF0dXJl' }
const snap: MemberSnapshot = { record: rec, state: 'suspect', stateIncarnation: 3, stateAgeMs: 1500 }

const EVENTS: MembershipEvent[] = [
  { kind: 'alive', record: rec },
  { kind: 'suspect', nodeId: 'other', incarnation: 3, by: info.nodeId },
  { kind: 'dead', nodeId: 'other', incarnation: 0, by: info.nodeId },
  { kind: 'left', nodeId: info.nodeId, incarnation: 2 },
]

const DIRECT: DirectMessage[] = [
  { type: 'probe', seq: 1 },
  { type: 'probe', seq: 2, suspectedAt: 3 },
  { type: 'ack', seq: Number.MAX_SAFE_INTEGER },
  { type: 'probeReq', seq: 4, target: 'other' },
  { type: 'probeReqAck', seq: 4, target: 'other' },
  { type: 'syncHello', root: [0, 0xffffffff] },
  { type: 'syncHello', root: [1, 2], joining: { ...snap, state: 'alive', stateAgeMs: 0 } },
  { type: 'syncBuckets', buckets: Array.from({ length: 64 }, (_, i): [number, number] => [i, 64 - i]) },
  { type: 'syncPull', buckets: [0, 5, L.maxSyncBuckets - 1], members: [snap] },
  { type: 'syncPull', buckets: [], members: [] },
  { type: 'syncPush', members: [snap, { ...snap, state: 'dead' }], last: true },
  { type: 'syncPush', members: [], last: false },
  { type: 'left', incarnation: 2 },
]

/** The message as JSON with one change at `path` (undefined deletes the key). */
function altered(message: object, path: Array<string | number>, value: unknown): Uint8Array {
  const copy = JSON.parse(JSON.stringify({ v: MEMBERSHIP_WIRE_VERSION, ...message })) as Record<string, unknown>
  let at: Record<string | number, unknown> = copy
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>
  const last = path.at(-1)!
  if (value === undefined) delete at[last]
  else at[last] = value
  return json(copy)
}

function assertRefused(
  result: { ok: true } | { ok: false; reason: DecodeFailure; detail: string },
  reason: DecodeFailure,
  detail?: RegExp,
): void {
  assert.equal(result.ok, false, 'refused')
  if (result.ok) return
  assert.equal(result.reason, reason, result.detail)
  if (detail !== undefined) assert.match(result.detail, detail)
}

describe('membership wire: round trips', () => {
  for (const event of EVENTS) {
    it(`event ${event.kind}`, () => {
      const bytes = encodeEvent(event)
      assert.equal((JSON.parse(new TextDecoder().decode(bytes)) as { v: number }).v, MEMBERSHIP_WIRE_VERSION)
      assert.deepEqual(decodeEvent(bytes), { ok: true, value: event })
    })
  }
  for (const message of DIRECT) {
    const extra = message.type === 'probe' && message.suspectedAt !== undefined ? ' (suspectedAt)' : ''
    it(`direct ${message.type}${extra}${'joining' in message ? ' (joining)' : ''}`, () => {
      const bytes = encodeDirect(message)
      assert.equal((JSON.parse(new TextDecoder().decode(bytes)) as { v: number }).v, MEMBERSHIP_WIRE_VERSION)
      assert.deepEqual(decodeDirect(bytes), { ok: true, value: message })
    })
  }

  it('a full page (maxMembersPerMessage members) fits a frame and decodes', () => {
    const page: DirectMessage = {
      type: 'syncPush',
      members: Array.from({ length: L.maxMembersPerMessage }, (_, i) => ({
        ...snap,
        record: { ...rec, info: { ...info, nodeId: `node-${i}` } },
      })),
      last: true,
    }
    const bytes = encodeDirect(page)
    assert.ok(bytes.byteLength <= L.frameBytes)
    assert.deepEqual(decodeDirect(bytes), { ok: true, value: page })
  })

  it('values at their bounds are accepted', () => {
    const atBounds: MemberRecord = {
      info: {
        ...info,
        capacity: { cpus: L.maxCpus, memoryMb: L.maxMemoryMb },
        startedAt: MAX_EPOCH_MS,
        addrs: Array.from({ length: L.maxAddrs }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`),
        labels: Object.fromEntries(Array.from({ length: L.maxLabels }, (_, i) => [`k${i}`, 'v'])),
      },
      incarnation: L.maxCounter,
      seq: L.maxCounter,
      signature: '',
    }
    assert.equal(decodeEvent(encodeEvent({ kind: 'alive', record: atBounds })).ok, true)
    assert.equal(
      decodeDirect(encodeDirect({ type: 'syncPush', members: [{ ...snap, stateAgeMs: MAX_EPOCH_MS }], last: true })).ok,
      true,
    )
  })
})

describe('membership wire: what a peer may not send', () => {
  it('an event over eventBytes is refused before it is parsed (a padded valid one too)', () => {
    const valid = new TextDecoder().decode(encodeEvent(EVENTS[0]!))
    assert.equal(decodeEvent(utf8(valid.padEnd(L.eventBytes, ' '))).ok, true, 'at the limit')
    assertRefused(decodeEvent(utf8(valid.padEnd(L.eventBytes + 1, ' '))), 'oversized')
  })

  it('a direct frame over frameBytes is refused', () => {
    const valid = new TextDecoder().decode(encodeDirect({ type: 'ack', seq: 1 }))
    assert.equal(decodeDirect(utf8(valid.padEnd(L.frameBytes, ' '))).ok, true, 'at the limit')
    assertRefused(decodeDirect(utf8(valid.padEnd(L.frameBytes + 1, ' '))), 'oversized')
  })

  for (const [name, bytes] of [
    ['truncated JSON', utf8('{"v":2,"kind":"left"')],
    ['not text', new Uint8Array([0xff, 0xfe, 0x00, 0x7b])],
    ['empty', new Uint8Array(0)],
  ] as const) {
    it(`not JSON (${name})`, () => {
      assertRefused(decodeEvent(bytes), 'not_json')
      assertRefused(decodeDirect(bytes), 'not_json')
    })
  }

  const alive = EVENTS[0]!
  const eventCases: Array<[string, Uint8Array, RegExp]> = [
    ['a negative incarnation', altered(alive, ['record', 'incarnation'], -1), /^record\.incarnation:/],
    ['a fractional incarnation', altered(alive, ['record', 'incarnation'], 1.5), /^record\.incarnation:/],
    [
      'an incarnation past maxCounter',
      altered(alive, ['record', 'incarnation'], L.maxCounter + 1),
      /^record\.incarnation:/,
    ],
    ['an incarnation as text', altered(alive, ['record', 'incarnation'], '3'), /^record\.incarnation:/],
    ['a seq past maxCounter', altered(alive, ['record', 'seq'], L.maxCounter + 1), /^record\.seq:/],
    [
      'cpus above maxCpus',
      altered(alive, ['record', 'info', 'capacity', 'cpus'], L.maxCpus + 1),
      /^record\.info\.capacity\.cpus:/,
    ],
    ['negative cpus', altered(alive, ['record', 'info', 'capacity', 'cpus'], -1), /^record\.info\.capacity\.cpus:/],
    [
      'memory above maxMemoryMb',
      altered(alive, ['record', 'info', 'capacity', 'memoryMb'], L.maxMemoryMb + 1),
      /^record\.info\.capacity\.memoryMb:/,
    ],
    [
      'a start time no Date can hold',
      altered(alive, ['record', 'info', 'startedAt'], MAX_EPOCH_MS + 1),
      /^record\.info\.startedAt:/,
    ],
    ['a negative start time', altered(alive, ['record', 'info', 'startedAt'], -1), /^record\.info\.startedAt:/],
    [
      'too many labels',
      altered(
        alive,
        ['record', 'info', 'labels'],
        Object.fromEntries(Array.from({ length: L.maxLabels + 1 }, (_, i) => [`k${i}`, 'v'])),
      ),
      /^record\.info\.labels:/,
    ],
    [
      'too many addresses',
      altered(
        alive,
        ['record', 'info', 'addrs'],
        Array.from({ length: L.maxAddrs + 1 }, () => '/ip4/1.2.3.4/tcp/1'),
      ),
      /^record\.info\.addrs:/,
    ],
    ['an empty node id', altered(alive, ['record', 'info', 'nodeId'], ''), /^record\.info\.nodeId:/],
    ['a node id over 128 characters', altered(EVENTS[1]!, ['nodeId'], 'x'.repeat(129)), /^nodeId:/],
    ['an unknown key in a record', altered(alive, ['record', 'extra'], 1), /^record:.*extra/],
    ['a suspicion at 2^53', altered(EVENTS[1]!, ['incarnation'], 2 ** 53), /^incarnation:/],
    ['an unknown kind', altered(EVENTS[1]!, ['kind'], 'zombie'), /^kind:/],
    ['no version', altered(alive, ['v'], undefined), /^v:/],
    ['version 1', altered(alive, ['v'], 1), /^v:/],
  ]
  for (const [name, bytes, detail] of eventCases) {
    it(`event with ${name}`, () => {
      assertRefused(decodeEvent(bytes), 'invalid_schema', detail)
    })
  }

  const push: DirectMessage = { type: 'syncPush', members: [snap], last: true }
  const pull: DirectMessage = { type: 'syncPull', buckets: [1], members: [snap] }
  const tooMany = Array.from({ length: L.maxMembersPerMessage + 1 }, () => snap)
  const directCases: Array<[string, Uint8Array, RegExp]> = [
    ['a negative probe seq', altered({ type: 'probe', seq: 1 }, ['seq'], -1), /^seq:/],
    ['a probe seq past 2^53', altered({ type: 'probe', seq: 1 }, ['seq'], 2 ** 53 + 2), /^seq:/],
    [
      'suspectedAt past maxCounter',
      altered({ type: 'probe', seq: 1, suspectedAt: 1 }, ['suspectedAt'], L.maxCounter + 1),
      /^suspectedAt:/,
    ],
    ['more members than maxMembersPerMessage (push)', altered(push, ['members'], tooMany), /^members:/],
    ['more members than maxMembersPerMessage (pull)', altered(pull, ['members'], tooMany), /^members:/],
    ['a negative bucket number', altered(pull, ['buckets'], [-1]), /^buckets\.0:/],
    ['a fractional bucket number', altered(pull, ['buckets'], [1.5]), /^buckets\.0:/],
    ['a bucket number past the last bucket', altered(pull, ['buckets'], [L.maxSyncBuckets]), /^buckets\.0:/],
    [
      'more bucket numbers than buckets',
      altered(
        pull,
        ['buckets'],
        Array.from({ length: L.maxSyncBuckets + 1 }, () => 0),
      ),
      /^buckets:/,
    ],
    [
      'more digests than maxSyncBuckets',
      altered(
        { type: 'syncBuckets', buckets: [] },
        ['buckets'],
        Array.from({ length: L.maxSyncBuckets + 1 }, () => [0, 0]),
      ),
      /^buckets:/,
    ],
    ['a digest lane past 32 bits', altered({ type: 'syncHello', root: [0, 0] }, ['root', 1], 2 ** 32), /^root\.1:/],
    ['a negative digest lane', altered({ type: 'syncHello', root: [0, 0] }, ['root', 0], -1), /^root\.0:/],
    ['a digest of three lanes', altered({ type: 'syncHello', root: [0, 0] }, ['root'], [0, 0, 0]), /^root/],
    [
      'a state age no Date can hold',
      altered(push, ['members', 0, 'stateAgeMs'], MAX_EPOCH_MS + 1),
      /^members\.0\.stateAgeMs:/,
    ],
    ['an unknown state', altered(push, ['members', 0, 'state'], 'zombie'), /^members\.0\.state:/],
    [
      'cpus above maxCpus in a joining snapshot',
      altered(
        { type: 'syncHello', root: [0, 0], joining: snap },
        ['joining', 'record', 'info', 'capacity', 'cpus'],
        L.maxCpus + 1,
      ),
      /^joining\.record\.info\.capacity\.cpus:/,
    ],
    ['last as text', altered(push, ['last'], 'true'), /^last:/],
    ['an unknown type', altered({ type: 'ack', seq: 1 }, ['type'], 'shout'), /^type:/],
    ['version 3', altered({ type: 'ack', seq: 1 }, ['v'], 3), /^v:/],
  ]
  for (const [name, bytes, detail] of directCases) {
    it(`direct message with ${name}`, () => {
      assertRefused(decodeDirect(bytes), 'invalid_schema', detail)
    })
  }
})

describe('membership wire: other versions', () => {
  for (const [name, bytes, other] of [
    ['v 1', json({ v: 1, kind: 'heartbeat' }), true],
    ['v 3', json({ v: 3, type: 'probe', seq: 1 }), true],
    ['our version', encodeEvent(EVENTS[3]!), false],
    ['v as text', json({ v: '1' }), false],
    ['no v', json({ kind: 'left' }), false],
    ['JSON null', utf8('null'), false],
    ['not JSON', utf8('{"v":1'), false],
  ] as const) {
    it(`${name}: ${other ? 'another version' : 'not another version'}`, () => {
      assert.equal(isOtherVersion(bytes), other)
    })
  }
})

describe('membership wire: record signatures', () => {
  let key: PrivateKey
  let otherKey: PrivateKey
  let nodeId: string
  let mine: Omit<MemberRecord, 'signature'>

  before(async () => {
    key = await generateKeyPair('Ed25519')
    otherKey = await generateKeyPair('Ed25519')
    nodeId = peerIdFromPrivateKey(key).toString()
    mine = { info: { ...info, nodeId }, incarnation: 4, seq: 1 }
  })

  const signWith = (k: PrivateKey, r: Omit<MemberRecord, 'signature'>): Uint8Array =>
    new RecordSigner(k).sign(signedBytes(r))

  it('signedBytes does not depend on key order, nor on the signature', () => {
    const reordered: MemberRecord = {
      signature: 'anything',
      seq: rec.seq,
      incarnation: rec.incarnation,
      info: {
        startedAt: info.startedAt,
        version: info.version,
        labels: { gpu: 'none', zone: 'a' },
        capacity: { memoryMb: info.capacity.memoryMb, cpus: info.capacity.cpus },
        addrs: info.addrs,
        name: info.name,
        nodeId: info.nodeId,
      },
    }
    assert.deepEqual(signedBytes(reordered), signedBytes(rec))
    assert.deepEqual(signedBytes({ ...rec, signature: 'other' } as MemberRecord), signedBytes(rec))
    for (const changed of [
      { ...rec, incarnation: 4 },
      { ...rec, seq: 3 },
      { ...rec, info: { ...info, name: 'node-b' } },
      { ...rec, info: { ...info, labels: { zone: 'a' } } },
    ])
      assert.notDeepEqual(signedBytes(changed), signedBytes(rec))
  })

  it('a record signed by its own node verifies, also after a trip through the wire in another key order', () => {
    const signature = Buffer.from(signWith(key, mine)).toString('base64')
    const signed: MemberRecord = { ...mine, signature }
    assert.equal(verifiedBy(nodeId, signedBytes(signed), Buffer.from(signature, 'base64')), true)
    // A relay that rebuilt the JSON with its keys reversed.
    const reverse = (v: unknown): unknown =>
      v === null || typeof v !== 'object' || Array.isArray(v)
        ? v
        : Object.fromEntries(
            Object.entries(v)
              .reverse()
              .map(([k, x]) => [k, reverse(x)]),
          )
    const relayed = decodeEvent(json(reverse({ v: 2, kind: 'alive', record: signed })))
    assert.ok(relayed.ok && relayed.value.kind === 'alive')
    const r = relayed.value.record
    assert.equal(verifiedBy(r.info.nodeId, signedBytes(r), Buffer.from(r.signature, 'base64')), true)
  })

  it('a record signed by another key does not verify as the node it names', () => {
    const signature = signWith(otherKey, mine)
    assert.equal(verifiedBy(nodeId, signedBytes(mine), signature), false)
    assert.equal(verifiedBy(peerIdFromPrivateKey(otherKey).toString(), signedBytes(mine), signature), true)
  })

  it('a record altered after signing does not verify', () => {
    const signature = signWith(key, mine)
    for (const altered of [
      { ...mine, incarnation: 5 },
      { ...mine, seq: 2 },
      { ...mine, info: { ...mine.info, capacity: { cpus: L.maxCpus, memoryMb: 8192 } } },
      { ...mine, info: { ...mine.info, labels: { ...mine.info.labels, role: 'db' } } },
      { ...mine, info: { ...mine.info, startedAt: mine.info.startedAt + 1 } },
    ])
      assert.equal(verifiedBy(nodeId, signedBytes(altered), signature), false)
  })

  it('garbage signatures and ids are refused, not thrown', () => {
    const bytes = signedBytes(mine)
    assert.equal(verifiedBy(nodeId, bytes, new Uint8Array(64)), false)
    assert.equal(verifiedBy(nodeId, bytes, new Uint8Array(3)), false)
    assert.equal(verifiedBy('not-a-peer-id', bytes, signWith(key, mine)), false)
    assert.equal(verifiedBy('', bytes, signWith(key, mine)), false)
  })
})

describe('membership wire: memberInfoProblem', () => {
  it('is null for a valid description', () => {
    assert.equal(memberInfoProblem(info), null)
  })

  for (const [name, bad, where] of [
    ['an empty name', { ...info, name: '' }, /^name: /],
    ['cpus above maxCpus', { ...info, capacity: { cpus: L.maxCpus + 1, memoryMb: 1 } }, /^capacity\.cpus: /],
    [
      'memory above maxMemoryMb',
      { ...info, capacity: { cpus: 1, memoryMb: L.maxMemoryMb + 1 } },
      /^capacity\.memoryMb: /,
    ],
    [
      'too many labels',
      { ...info, labels: Object.fromEntries(Array.from({ length: L.maxLabels + 1 }, (_, i) => [`k${i}`, 'v'])) },
      /^labels: at most 64 labels/,
    ],
    ['a label value over 255 characters', { ...info, labels: { k: 'v'.repeat(256) } }, /^labels\.k: /],
    [
      'too many addresses',
      { ...info, addrs: Array.from({ length: L.maxAddrs + 1 }, () => '/ip4/1.2.3.4/tcp/1') },
      /^addrs: /,
    ],
    ['a start time no Date can hold', { ...info, startedAt: MAX_EPOCH_MS + 1 }, /^startedAt: /],
    ['an unknown key', { ...info, extra: 1 } as MemberInfo, /^\(info\): .*extra/],
  ] as const) {
    it(`names the field: ${name}`, () => {
      const problem = memberInfoProblem(bad)
      assert.ok(problem !== null)
      assert.match(problem, where)
    })
  }
})
