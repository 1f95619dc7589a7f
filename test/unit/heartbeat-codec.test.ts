import assert from 'node:assert/strict'
import { fromString } from 'uint8arrays'
import {
  decodeGossip,
  decodeJoinRequest,
  decodeJoinResponse,
  encodeGossip,
  encodeJoinResponse,
  type HeartbeatMessage,
  type NodeInfo,
} from '../../src/gossip/heartbeat.js'
import { nodeInfo } from '../helpers/fixtures.js'
import { MEMBERSHIP_LIMITS } from '../../src/gossip/config.js'

const node: NodeInfo = nodeInfo('12D3KooWtest', {
  name: 'n1',
  seq: 7,
  allocated: { cpus: 0.5, memoryMb: 64 },
  running: 1,
  load: 0.3,
  labels: { zone: 'edge' },
  startedAt: 1_700_000_000_000,
})
const heartbeat: HeartbeatMessage = { v: 1, type: 'heartbeat', node, suspects: [{ nodeId: 'x', incarnation: 2 }] }

const bytes = (v: unknown): Uint8Array => fromString(typeof v === 'string' ? v : JSON.stringify(v), 'utf8')

describe('membership wire codec', () => {
  it('round-trips a heartbeat and a leave', () => {
    assert.deepEqual(decodeGossip(encodeGossip(heartbeat)), { ok: true, value: heartbeat })
    const leave = { v: 1, type: 'leave', nodeId: 'a', incarnation: 1, seq: 2 } as const
    assert.deepEqual(decodeGossip(encodeGossip(leave)), { ok: true, value: leave })
  })

  const rejects: Array<[string, unknown, string]> = [
    ['not JSON', '{"v":1,', 'not_json'],
    ['binary garbage', '\u0000\u00ff\u0001', 'not_json'],
    ['a JSON scalar', '42', 'invalid_schema'],
    ['an unknown version', { ...heartbeat, v: 2 }, 'invalid_schema'],
    ['an unknown type', { ...heartbeat, type: 'gossip' }, 'invalid_schema'],
    ['a missing field', { ...heartbeat, node: { ...node, capacity: undefined } }, 'invalid_schema'],
    ['an unknown field', { ...heartbeat, node: { ...node, extra: 1 } }, 'invalid_schema'],
    ['negative cpus', { ...heartbeat, node: { ...node, capacity: { cpus: -1, memoryMb: 1 } } }, 'invalid_schema'],
    ['a fractional seq', { ...heartbeat, node: { ...node, seq: 1.5 } }, 'invalid_schema'],
    ['a string incarnation', { ...heartbeat, node: { ...node, incarnation: '3' } }, 'invalid_schema'],
    [
      'too many addrs',
      { ...heartbeat, node: { ...node, addrs: Array(MEMBERSHIP_LIMITS.maxAddrs + 1).fill('/ip4/1.2.3.4/tcp/1') } },
      'invalid_schema',
    ],
    ['an empty node id', { ...heartbeat, node: { ...node, nodeId: '' } }, 'invalid_schema'],
    ['a non-string label value', { ...heartbeat, node: { ...node, labels: { a: 1 } } }, 'invalid_schema'],
    // Numbers a peer could use to break a node: beyond a Date, beyond exact integers, beyond a machine.
    ['a start time no Date can hold (2^53)', { ...heartbeat, node: { ...node, startedAt: 2 ** 53 } }, 'invalid_schema'],
    ['an incarnation of 1e300', { ...heartbeat, node: { ...node, incarnation: 1e300 } }, 'invalid_schema'],
    [
      'an incarnation past the bound',
      { ...heartbeat, node: { ...node, incarnation: MEMBERSHIP_LIMITS.maxCounter + 1 } },
      'invalid_schema',
    ],
    ['a seq of 2^53', { ...heartbeat, node: { ...node, seq: 2 ** 53 } }, 'invalid_schema'],
    [
      'a suspicion of incarnation 1e300',
      { ...heartbeat, suspects: [{ nodeId: 'x', incarnation: 1e300 }] },
      'invalid_schema',
    ],
    [
      'a capacity of 1e300 cpus',
      { ...heartbeat, node: { ...node, capacity: { cpus: 1e300, memoryMb: 1 } } },
      'invalid_schema',
    ],
    [
      'more cpus than a node may offer',
      { ...heartbeat, node: { ...node, capacity: { cpus: MEMBERSHIP_LIMITS.maxCpus + 1, memoryMb: 1 } } },
      'invalid_schema',
    ],
    [
      'more memory than a node may offer',
      { ...heartbeat, node: { ...node, capacity: { cpus: 1, memoryMb: MEMBERSHIP_LIMITS.maxMemoryMb + 1 } } },
      'invalid_schema',
    ],
    [
      'allocations of 1e300',
      { ...heartbeat, node: { ...node, allocated: { cpus: 1, memoryMb: 1e300 } } },
      'invalid_schema',
    ],
    ['a load of 1e300', { ...heartbeat, node: { ...node, load: 1e300 } }, 'invalid_schema'],
    ['a running count of 1e300', { ...heartbeat, node: { ...node, running: 1e300 } }, 'invalid_schema'],
    [
      'a leave at incarnation 1e300',
      { v: 1, type: 'leave', nodeId: 'a', incarnation: 1e300, seq: 1 },
      'invalid_schema',
    ],
  ]
  for (const [what, input, reason] of rejects) {
    it(`rejects ${what} as ${reason}`, () => {
      const result = decodeGossip(bytes(input))
      assert.equal(result.ok, false)
      if (!result.ok) assert.equal(result.reason, reason)
    })
  }

  it('rejects an oversized message before parsing it', () => {
    const huge = bytes({ ...heartbeat, node: { ...node, name: 'x'.repeat(MEMBERSHIP_LIMITS.heartbeatBytes) } })
    const result = decodeGossip(huge)
    assert.deepEqual(result.ok ? null : result.reason, 'oversized')
  })

  it('names the offending field', () => {
    const result = decodeGossip(bytes({ ...heartbeat, node: { ...node, capacity: { cpus: 'many', memoryMb: 1 } } }))
    assert.equal(result.ok, false)
    if (!result.ok) assert.match(result.detail, /node\.capacity\.cpus/)
  })

  it('accepts the largest values a node may advertise', () => {
    const biggest: NodeInfo = {
      ...node,
      incarnation: MEMBERSHIP_LIMITS.maxCounter,
      seq: MEMBERSHIP_LIMITS.maxCounter,
      capacity: { cpus: MEMBERSHIP_LIMITS.maxCpus, memoryMb: MEMBERSHIP_LIMITS.maxMemoryMb },
      startedAt: 8.64e15,
    }
    assert.equal(decodeGossip(encodeGossip({ ...heartbeat, node: biggest })).ok, true)
  })

  it('validates join requests and responses', () => {
    assert.equal(decodeJoinRequest(bytes({ v: 1, node })).ok, true)
    assert.equal(decodeJoinRequest(bytes({ v: 1 })).ok, false)
    const res = { v: 1 as const, members: [{ node, state: 'alive' as const, lastSeenAgoMs: 12 }] }
    assert.deepEqual(decodeJoinResponse(encodeJoinResponse(res)), { ok: true, value: res })
    assert.equal(
      decodeJoinResponse(bytes({ ...res, members: [{ node, state: 'zombie', lastSeenAgoMs: 1 }] })).ok,
      false,
    )
    assert.equal(
      decodeJoinResponse(bytes({ ...res, members: [{ node, state: 'alive', lastSeenAgoMs: 1e300 }] })).ok,
      false,
    )
    assert.equal(decodeJoinRequest(bytes({ v: 1, node: { ...node, startedAt: 2 ** 53 } })).ok, false)
  })
})
