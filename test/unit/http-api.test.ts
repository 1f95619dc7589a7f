import assert from 'node:assert/strict'
import { pino } from 'pino'
import { buildHttpApp } from '../../src/http/app.js'
import type { NodeApi, NodeView } from '../../src/http/node-api.js'
import { NoLeaderError } from '../../src/cluster/errors.js'
import { TaskNotFoundError } from '../../src/tasks/errors.js'

const noTask = (): never => { throw new TaskNotFoundError('no task x') }

const member: NodeView = {
  id: 'peer-a',
  name: 'a',
  addrs: ['/ip4/127.0.0.1/tcp/7000/p2p/peer-a'],
  state: 'alive',
  capacity: { cpus: 2, memoryMb: 1024 },
  allocated: { cpus: 0, memoryMb: 0 },
  running: 0,
  load: 0.1,
  labels: { zone: 'edge' },
  version: 'test',
  incarnation: 1,
  startedAt: new Date(0).toISOString(),
  lastSeenMs: 0
}

const kv = new Map<string, string>()
const fakeNode: NodeApi = {
  status: () => ({ nodeId: 'peer-a', name: 'a', version: 'test', addrs: member.addrs, uptimeMs: 5, role: null, leader: null, term: null }),
  nodes: () => [member],
  node: id => (id === member.id ? member : undefined),
  metricsText: async () => ({ contentType: 'text/plain', body: 'meshos_members 1\n' }),
  clusterView: () => ({ leader: 'peer-a', term: 2, commitIndex: 5, voters: [{ id: 'peer-a', name: 'a', lastContactMs: 0, matchIndex: 5 }], learners: [] }),
  kvPut: async (key, value) => {
    if (key === 'no-quorum') throw new NoLeaderError('write not committed within 5000 ms: no leader elected; 1 of 3 voters reachable')
    kv.set(key, value)
    return { key, value, index: 6, term: 2 }
  },
  kvDelete: async key => {
    kv.delete(key)
    return { key, index: 7, term: 2 }
  },
  kvGet: key => kv.get(key),
  kvList: () => Object.fromEntries(kv),
  // Route-level checks only; the task service itself is exercised by the integration tests.
  tasks: {
    submit: noTask,
    get: noTask,
    list: q => ({ tasks: [], next: null, total: q.limit }),
    cancel: noTask,
    logTarget: noTask,
    readLog: noTask
  }
}

describe('HTTP API (in-process)', () => {
  const app = buildHttpApp(fakeNode, pino({ level: 'silent' }))
  after(async () => { await app.close() })

  it('GET /v1/health answers ok', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/health' })
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { status: 'ok' })
  })

  it('GET /v1/status returns the node view, with role/leader/term null before elections exist', async () => {
    const body = (await app.inject('/v1/status')).json()
    assert.equal(body.nodeId, 'peer-a')
    assert.equal(body.role, null)
    assert.equal(body.term, null)
  })

  it('GET /v1/nodes lists members; /v1/nodes/:id returns one', async () => {
    assert.deepEqual((await app.inject('/v1/nodes')).json(), { nodes: [member] })
    assert.deepEqual((await app.inject('/v1/nodes/peer-a')).json(), member)
  })

  it('unknown node → 404 JSON', async () => {
    const res = await app.inject('/v1/nodes/nope')
    assert.equal(res.statusCode, 404)
    assert.equal(res.json().error.code, 'not_found')
    assert.match(res.json().error.message, /nope/)
  })

  it('unknown route and unknown method → 404 JSON naming the route', async () => {
    for (const [method, url] of [['GET', '/v1/bogus?x=1'], ['DELETE', '/v1/health']] as const) {
      const res = await app.inject({ method, url })
      assert.equal(res.statusCode, 404)
      assert.equal(res.headers['content-type']?.toString().startsWith('application/json'), true)
      assert.deepEqual(res.json(), { error: { code: 'not_found', message: `no route ${method} ${url.split('?')[0]}` } })
    }
  })

  it('an over-long id is a 400 naming the field', async () => {
    const res = await app.inject(`/v1/nodes/${'x'.repeat(200)}`)
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error.code, 'invalid_request')
    assert.match(res.json().error.message, /^params\.id: /)
  })

  it('a malformed JSON body is a 400 invalid_json in the error shape', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/health', headers: { 'content-type': 'application/json' }, payload: '{"a":' })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error.code, 'invalid_json')
  })

  it('a malformed URL is a 400 in the error shape, not the framework\'s', async () => {
    const res = await app.inject('/v1/nodes/%E0%A4%A')
    assert.equal(res.statusCode, 400)
    assert.deepEqual(Object.keys(res.json()), ['error'])
    assert.equal(res.json().error.code, 'bad_request')
  })

  it('a very long id is a 400 naming the field, not a 414', async () => {
    const res = await app.inject(`/v1/nodes/${'x'.repeat(1500)}`)
    assert.equal(res.statusCode, 400)
    assert.match(res.json().error.message, /^params\.id: /)
  })

  it('PUT /v1/kv/:key commits and GET reads it back; DELETE removes it', async () => {
    const put = await app.inject({ method: 'PUT', url: '/v1/kv/color', payload: { value: 'blue' } })
    assert.equal(put.statusCode, 200)
    assert.deepEqual(put.json(), { key: 'color', value: 'blue', index: 6, term: 2 })
    assert.deepEqual((await app.inject('/v1/kv/color')).json(), { key: 'color', value: 'blue' })
    assert.deepEqual((await app.inject('/v1/kv')).json(), { items: { color: 'blue' } })
    assert.equal((await app.inject({ method: 'DELETE', url: '/v1/kv/color' })).statusCode, 200)
    assert.equal((await app.inject('/v1/kv/color')).statusCode, 404)
  })

  const badPuts: Array<[string, unknown, RegExp]> = [
    ['no value', {}, /^body\.value: is required$/],
    ['a number value', { value: 42 }, /^body\.value: must be string$/],
    ['an unknown field', { value: 'x', ttl: 5 }, /^body\.ttl: is not a known field$/]
  ]
  for (const [what, payload, message] of badPuts) {
    it(`PUT /v1/kv/:key with ${what} is a 400 naming the field`, async () => {
      const res = await app.inject({ method: 'PUT', url: '/v1/kv/k', payload: payload as object })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().error.code, 'invalid_request')
      assert.match(res.json().error.message, message)
    })
  }

  it('a write without a leader is a 503 no_leader saying what is reachable', async () => {
    const res = await app.inject({ method: 'PUT', url: '/v1/kv/no-quorum', payload: { value: 'x' } })
    assert.equal(res.statusCode, 503)
    assert.equal(res.json().error.code, 'no_leader')
    assert.match(res.json().error.message, /1 of 3 voters reachable/)
  })

  it('GET /v1/cluster shows leader, term and voters', async () => {
    const body = (await app.inject('/v1/cluster')).json()
    assert.equal(body.leader, 'peer-a')
    assert.equal(body.voters.length, 1)
  })

  it('serves Prometheus metrics', async () => {
    const res = await app.inject('/metrics')
    assert.equal(res.statusCode, 200)
    assert.match(res.body, /meshos_members/)
  })

  describe('task routes', () => {
    it('validates the list query, naming the parameter', async () => {
      const cases: Array<[string, string]> = [
        ['/v1/tasks?limit=0', 'querystring.limit'],
        ['/v1/tasks?limit=abc', 'querystring.limit'],
        ['/v1/tasks?state=done', 'querystring.state'],
        ['/v1/tasks?colour=red', 'querystring.colour']
      ]
      for (const [url, field] of cases) {
        const res = await app.inject({ method: 'GET', url })
        assert.equal(res.statusCode, 400, url)
        const body = res.json()
        assert.equal(body.error.code, 'invalid_request')
        assert.ok(body.error.message.startsWith(field), body.error.message)
      }
      const ok = await app.inject({ method: 'GET', url: '/v1/tasks?limit=7&state=running' })
      assert.equal(ok.statusCode, 200)
      assert.equal(ok.json().total, 7)
    })

    it('answers 404 not_found for an unknown task, and 400 for a bad logs query', async () => {
      const res = await app.inject({ method: 'GET', url: '/v1/tasks/nope' })
      assert.equal(res.statusCode, 404)
      assert.equal(res.json().error.code, 'not_found')
      const logs = await app.inject({ method: 'GET', url: '/v1/tasks/nope/logs?stream=stdin' })
      assert.equal(logs.statusCode, 400)
      assert.match(logs.json().error.message, /^querystring\.stream/)
    })
  })
})
