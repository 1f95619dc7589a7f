// The operator's routes in-process: drain and undrain a node, hand leadership over, remove a
// voter. Every bad input is a 4xx JSON error naming the field, and each refusal of the cluster
// (unknown node, ambiguous name, not a voter, no quorum, ...) has its own status and code.
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { buildHttpApp } from '../../src/http/app.js'
import type { NodeApi, NodeView } from '../../src/http/node-api.js'
import {
  AmbiguousNodeError,
  ConfigChangePendingError,
  LastVoterError,
  LeaderRemovalError,
  NodeNotFoundError,
  NotCaughtUpError,
  NotVoterError,
  QuorumLossError,
  TransferInProgressError,
  TransferTimeoutError,
  operationError,
} from '../../src/cluster/errors.js'
import { EventHub } from '../../src/events/event-hub.js'
import { DEFAULT_EVENTS } from '../../src/events/config.js'
import { systemClock } from '../../src/util/clock.js'

const view: NodeView = {
  id: 'peer-b',
  name: 'b',
  addrs: [],
  state: 'alive',
  capacity: { cpus: 2, memoryMb: 1024 },
  allocated: { cpus: 1, memoryMb: 64 },
  running: 1,
  load: null,
  labels: {},
  version: 'test',
  incarnation: 1,
  startedAt: null,
  lastSeenMs: 5,
  drain: null,
  activeView: [],
}

/** A node name that makes the fake throw that error, so the error table is checked row by row. */
const refusals: Record<string, [Error, number, string]> = {
  ghost: [new NodeNotFoundError('no node "ghost" is known to this node'), 404, 'node_not_found'],
  twin: [new AmbiguousNodeError('2 nodes are named "twin"'), 409, 'ambiguous_node'],
  worker: [new NotVoterError('worker is not a voter'), 409, 'not_voter'],
  behind: [new NotCaughtUpError('behind did not catch up'), 409, 'not_caught_up'],
  busy: [new TransferInProgressError('another transfer is under way'), 409, 'transfer_in_progress'],
  slow: [new TransferTimeoutError('no new leader in time'), 503, 'transfer_timeout'],
  only: [new LastVoterError('only is the only voter'), 409, 'last_voter'],
  boss: [new LeaderRemovalError('boss is the leader'), 409, 'is_leader'],
  half: [new QuorumLossError('no majority would be left'), 409, 'no_quorum'],
  pending: [new ConfigChangePendingError('another change is pending'), 409, 'change_pending'],
}

const calls: unknown[][] = []
function refuse(ref: string | undefined): void {
  const refusal = ref === undefined ? undefined : refusals[ref]
  if (refusal !== undefined) throw refusal[0]
}

const fakeNode = {
  drainNode: async (ref: string, deadlineSeconds: number | undefined) => {
    calls.push(['drain', ref, deadlineSeconds])
    refuse(ref)
    return {
      ...view,
      drain: {
        state: 'draining',
        sinceMs: 1000,
        deadlineAtMs: deadlineSeconds === undefined ? null : 1000 + deadlineSeconds * 1000,
      },
    }
  },
  undrainNode: async (ref: string) => {
    calls.push(['undrain', ref])
    refuse(ref)
    return view
  },
  transferLeader: async (to: string | undefined) => {
    calls.push(['transfer', to])
    refuse(to)
    return { leader: 'peer-b', name: 'b', term: 3, previous: { leader: 'peer-a', name: 'a', term: 2 } }
  },
  removeVoter: async (ref: string) => {
    calls.push(['remove', ref])
    refuse(ref)
    return { leader: 'peer-a', term: 2, commitIndex: 9, voters: [], learners: [] }
  },
  events: new EventHub({ clock: systemClock, config: DEFAULT_EVENTS, life: 1 }),
} as unknown as NodeApi

describe('HTTP API: operating the cluster', () => {
  const app = buildHttpApp(fakeNode, pino({ level: 'silent' }), {
    host: '127.0.0.1',
    port: 80,
    token: null,
    refusedUids: [],
  })
  after(async () => {
    await app.close()
  })
  beforeEach(() => {
    calls.length = 0
  })

  async function send(method: 'POST' | 'DELETE', url: string, payload?: string) {
    return await app.inject({
      method,
      url,
      ...(payload === undefined ? {} : { headers: { 'content-type': 'application/json' }, payload }),
    })
  }

  it('POST /v1/nodes/:id/drain answers 202 with the node view; the deadline is optional', async () => {
    const withDeadline = await send('POST', '/v1/nodes/b/drain', '{"deadlineSeconds": 90}')
    assert.equal(withDeadline.statusCode, 202)
    assert.deepEqual(withDeadline.json().drain, { state: 'draining', sinceMs: 1000, deadlineAtMs: 91_000 })
    assert.equal((await send('POST', '/v1/nodes/b/drain', '{}')).statusCode, 202)
    assert.equal((await send('POST', '/v1/nodes/b/drain')).statusCode, 202)
    assert.equal((await send('POST', '/v1/nodes/b/drain', '{"deadlineSeconds": 0.5}')).statusCode, 202)
    assert.deepEqual(calls, [
      ['drain', 'b', 90],
      ['drain', 'b', undefined],
      ['drain', 'b', undefined],
      ['drain', 'b', 0.5],
    ])
  })

  it('POST /v1/nodes/:id/undrain answers 200 with the node view', async () => {
    const res = await send('POST', '/v1/nodes/peer-b/undrain')
    assert.equal(res.statusCode, 200)
    assert.equal(res.json().drain, null)
    assert.deepEqual(calls, [['undrain', 'peer-b']])
  })

  it('POST /v1/cluster/leader/transfer: to a named voter, or with no body to the best one', async () => {
    const named = await send('POST', '/v1/cluster/leader/transfer', '{"to": "b"}')
    assert.equal(named.statusCode, 200)
    assert.deepEqual(named.json(), {
      leader: 'peer-b',
      name: 'b',
      term: 3,
      previous: { leader: 'peer-a', name: 'a', term: 2 },
    })
    assert.equal((await send('POST', '/v1/cluster/leader/transfer', '{}')).statusCode, 200)
    assert.equal((await send('POST', '/v1/cluster/leader/transfer')).statusCode, 200)
    assert.deepEqual(calls, [
      ['transfer', 'b'],
      ['transfer', undefined],
      ['transfer', undefined],
    ])
  })

  it('DELETE /v1/cluster/voters/:id answers the cluster after the change', async () => {
    const res = await send('DELETE', '/v1/cluster/voters/n3')
    assert.equal(res.statusCode, 200)
    assert.equal(res.json().commitIndex, 9)
    assert.deepEqual(calls, [['remove', 'n3']])
  })

  const deadlineMessage = 'body.deadlineSeconds: must be a number of seconds from 0 to 2592000'
  const badInputs: Array<[string, 'POST' | 'DELETE', string, string | undefined, string]> = [
    ['a negative deadline', 'POST', '/v1/nodes/b/drain', '{"deadlineSeconds": -1}', deadlineMessage],
    ['a deadline past 30 days', 'POST', '/v1/nodes/b/drain', '{"deadlineSeconds": 2592001}', deadlineMessage],
    ['a deadline as text', 'POST', '/v1/nodes/b/drain', '{"deadlineSeconds": "5m"}', deadlineMessage],
    ['a null deadline', 'POST', '/v1/nodes/b/drain', '{"deadlineSeconds": null}', deadlineMessage],
    ['an unknown drain field', 'POST', '/v1/nodes/b/drain', '{"deadline": 5}', 'body.deadline: is not a known field'],
    ['a drain body that is not an object', 'POST', '/v1/nodes/b/drain', '[5]', 'body: must be object'],
    [
      'an over-long node id to drain',
      'POST',
      `/v1/nodes/${'x'.repeat(129)}/drain`,
      undefined,
      'params.id: must NOT have more than 128 characters',
    ],
    [
      'an over-long node id to undrain',
      'POST',
      `/v1/nodes/${'x'.repeat(129)}/undrain`,
      undefined,
      'params.id: must NOT have more than 128 characters',
    ],
    [
      'a transfer target that is not text',
      'POST',
      '/v1/cluster/leader/transfer',
      '{"to": 5}',
      'body.to: must be string',
    ],
    [
      'an empty transfer target',
      'POST',
      '/v1/cluster/leader/transfer',
      '{"to": ""}',
      'body.to: must NOT have fewer than 1 characters',
    ],
    [
      'an unknown transfer field',
      'POST',
      '/v1/cluster/leader/transfer',
      '{"target": "b"}',
      'body.target: is not a known field',
    ],
    [
      'an over-long voter id',
      'DELETE',
      `/v1/cluster/voters/${'x'.repeat(129)}`,
      undefined,
      'params.id: must NOT have more than 128 characters',
    ],
  ]
  for (const [what, method, url, payload, message] of badInputs) {
    it(`${what} is a 400 invalid_request naming the field, and reaches nothing`, async () => {
      const res = await send(method, url, payload)
      assert.equal(res.statusCode, 400, res.body)
      assert.deepEqual(res.json(), { error: { code: 'invalid_request', message } })
      assert.deepEqual(calls, [])
    })
  }

  it('malformed JSON in a drain body is a 400 invalid_json', async () => {
    const res = await send('POST', '/v1/nodes/b/drain', '{"deadlineSeconds":')
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error.code, 'invalid_json')
  })

  it('each refusal of the cluster keeps its message and has its own status and code, on every route', async () => {
    for (const [ref, [err, status, code]] of Object.entries(refusals)) {
      const answers = [
        await send('POST', `/v1/nodes/${ref}/drain`),
        await send('POST', `/v1/nodes/${ref}/undrain`),
        await send('POST', '/v1/cluster/leader/transfer', JSON.stringify({ to: ref })),
        await send('DELETE', `/v1/cluster/voters/${ref}`),
      ]
      for (const res of answers) {
        assert.equal(res.statusCode, status, `${ref}: ${res.body}`)
        assert.deepEqual(res.json(), { error: { code, message: err.message } })
      }
    }
  })

  it('a code that a forwarded answer carries becomes the same error again', () => {
    for (const [err, , code] of Object.values(refusals)) {
      const again = operationError(code, err.message)
      assert.ok(again instanceof (err.constructor as new (m: string) => Error), code)
      assert.equal(again.message, err.message)
    }
    assert.equal(operationError('no_such_code', 'x'), null)
  })
})
