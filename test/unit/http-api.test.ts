import assert from 'node:assert/strict'
import { pino } from 'pino'
import { buildHttpApp } from '../../src/http/app.js'
import type { NodeApi, NodeView } from '../../src/http/node-api.js'
import { InvalidCommandError, NoLeaderError, WriteOutcomeUnknownError } from '../../src/cluster/errors.js'
import { CommandRefusedError } from '../../src/tasks/cluster-port.js'
import {
  InvalidTaskError,
  LogsUnavailableError,
  TaskConflictError,
  TaskNotFoundError,
  TooManyTasksError,
} from '../../src/tasks/errors.js'
import type { TaskSubmission } from '../../src/tasks/task-service.js'
import { EventHub } from '../../src/events/event-hub.js'
import { DEFAULT_EVENTS } from '../../src/events/config.js'
import { systemClock } from '../../src/util/clock.js'

const noTask = (): never => {
  throw new TaskNotFoundError('no task x')
}

/** GET /v1/tasks/<id> throws the error named by the id: the error table is checked row by row. */
const domainErrors: Record<string, [Error, number, string]> = {
  'no-leader': [new NoLeaderError('no leader elected'), 503, 'no_leader'],
  unknown: [new WriteOutcomeUnknownError('outcome unknown'), 503, 'outcome_unknown'],
  'invalid-command': [new InvalidCommandError('leader refused'), 400, 'invalid_command'],
  refused: [new CommandRefusedError('leader refused the command'), 400, 'invalid_command'],
  'too-many': [
    new TooManyTasksError('tenant default has 10000 unfinished tasks: the limit is 10000 per tenant'),
    429,
    'too_many_tasks',
  ],
  'invalid-task': [new InvalidTaskError('cpus: too many'), 400, 'invalid_task'],
  missing: [new TaskNotFoundError('no task missing'), 404, 'not_found'],
  conflict: [new TaskConflictError('task conflict already succeeded'), 409, 'conflict'],
  'logs-gone': [new LogsUnavailableError('worker did not answer'), 503, 'logs_unavailable'],
  bug: [new TypeError('x is undefined'), 500, 'internal'],
}

/** The attempt and stream of every log read, as the route parsed them from the query. */
const logReads: Array<{ attempt: number; stream: string }> = []

/** What the task service was handed by the last accepted POST /v1/tasks. */
let submitted: TaskSubmission | undefined

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
  lastSeenMs: 0,
  drain: null,
  activeView: [],
}

const kv = new Map<string, string>()
const fakeNode: NodeApi = {
  status: () => ({
    nodeId: 'peer-a',
    name: 'a',
    version: 'test',
    addrs: member.addrs,
    uptimeMs: 5,
    role: null,
    leader: null,
    term: null,
    insecure: false,
    isolation: { taskUser: 'nobody', taskUid: 65534, cgroups: 'v1', memoryLimit: 'kernel' },
  }),
  nodes: async () => [member],
  node: async id => (id === member.id ? member : undefined),
  metricsText: async () => ({ contentType: 'text/plain', body: 'meshos_members 1\n' }),
  clusterView: async () => ({
    leader: 'peer-a',
    term: 2,
    commitIndex: 5,
    voters: [{ id: 'peer-a', name: 'a', lastContactMs: 0, matchIndex: 5 }],
    learners: [],
  }),
  kvPut: async (key, value) => {
    if (key === 'no-quorum')
      throw new NoLeaderError('write not committed within 5000 ms: no leader elected; 1 of 3 voters reachable')
    kv.set(key, value)
    return { key, value, index: 6, term: 2 }
  },
  kvDelete: async key => {
    kv.delete(key)
    return { key, index: 7, term: 2 }
  },
  kvGet: async key => kv.get(key),
  kvList: async () => Object.fromEntries(kv),
  // The operator's routes have their own tests (http-operate.test.ts).
  drainNode: async () => member,
  undrainNode: async () => member,
  transferLeader: async () => ({
    leader: 'peer-a',
    name: 'a',
    term: 2,
    previous: { leader: 'peer-a', name: 'a', term: 2 },
  }),
  removeVoter: async () => await fakeNode.clusterView(),
  // Route-level checks only; the task service itself is exercised by the integration tests.
  tasks: {
    submit: async submission => {
      if (submission.specs[0]?.tenant === 'full')
        throw new TooManyTasksError('tenant full has 3 unfinished tasks and this adds 1: the limit is 3 per tenant')
      submitted = submission
      const answers = submission.specs.map((_, i) => ({ id: `t${i}`, state: 'pending' as const }))
      return submission.many ? { tasks: answers } : answers[0]!
    },
    get: async id => {
      throw domainErrors[id]?.[0] ?? new TaskNotFoundError(`no task ${id}`)
    },
    list: async q => ({ tasks: [], next: q.after ?? null, total: q.limit }),
    cancel: noTask,
    logTarget: async (id, attempt) => {
      if (id !== 'done') return noTask()
      return { id, state: 'succeeded', attempt: attempt ?? 1, node: null }
    },
    readLog: async (_id, attempt, _node, stream, offset) => {
      logReads.push({ attempt, stream })
      return { data: new Uint8Array(), nextOffset: offset, truncated: false, found: false }
    },
  },
  events: new EventHub({ clock: systemClock, config: DEFAULT_EVENTS, life: 1 }),
}

describe('HTTP API (in-process)', () => {
  // inject() sends `Host: localhost:80`; the access rules have their own tests (http-access.test.ts).
  const app = buildHttpApp(fakeNode, pino({ level: 'silent' }), {
    host: '127.0.0.1',
    port: 80,
    token: null,
    refusedUids: [],
  })
  after(async () => {
    await app.close()
  })

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
    for (const [method, url] of [
      ['GET', '/v1/bogus?x=1'],
      ['DELETE', '/v1/health'],
    ] as const) {
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
    const res = await app.inject({
      method: 'POST',
      url: '/v1/health',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error.code, 'invalid_json')
  })

  it("a malformed URL is a 400 in the error shape, not the framework's", async () => {
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
    ['an unknown field', { value: 'x', ttl: 5 }, /^body\.ttl: is not a known field$/],
  ]
  for (const [what, payload, message] of badPuts) {
    it(`PUT /v1/kv/:key with ${what} is a 400 naming the field`, async () => {
      const res = await app.inject({ method: 'PUT', url: '/v1/kv/k', payload: payload as object })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().error.code, 'invalid_request')
      assert.match(res.json().error.message, message)
    })
  }

  it('an over-long kv key is a 400 naming the parameter, on every kv route', async () => {
    const url = `/v1/kv/${'k'.repeat(257)}`
    for (const [method, payload] of [
      ['GET', undefined],
      ['PUT', { value: 'x' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await app.inject({ method, url, ...(payload === undefined ? {} : { payload }) })
      assert.equal(res.statusCode, 400, method)
      assert.deepEqual(res.json(), {
        error: { code: 'invalid_request', message: 'params.key: must NOT have more than 256 characters' },
      })
    }
  })

  it('a kv body that is not an object is a 400 naming the body', async () => {
    for (const payload of ['[1]', '"blue"', 'null']) {
      const res = await app.inject({
        method: 'PUT',
        url: '/v1/kv/k',
        headers: { 'content-type': 'application/json' },
        payload,
      })
      assert.equal(res.statusCode, 400, payload)
      assert.deepEqual(res.json(), { error: { code: 'invalid_request', message: 'body: must be object' } })
    }
  })

  it('maps each domain error to its status and code, keeping its message', async () => {
    for (const [id, [err, status, code]] of Object.entries(domainErrors)) {
      const res = await app.inject(`/v1/tasks/${id}`)
      assert.equal(res.statusCode, status, id)
      assert.deepEqual(res.json(), {
        error: { code, message: status === 500 ? 'internal error; see the node log' : err.message },
      })
    }
  })

  it('a submission past a cap on unfinished tasks is a 429 too_many_tasks naming the limit', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/tasks', payload: { command: 'true', tenant: 'full' } })
    assert.equal(res.statusCode, 429)
    assert.deepEqual(res.json(), {
      error: {
        code: 'too_many_tasks',
        message: 'tenant full has 3 unfinished tasks and this adds 1: the limit is 3 per tenant',
      },
    })
  })

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
    async function refused(
      method: 'GET' | 'POST',
      url: string,
      code: string,
      message: string,
      payload?: unknown,
    ): Promise<void> {
      const res = await app.inject({
        method,
        url,
        ...(payload === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) }),
      })
      const what = `${method} ${url} ${JSON.stringify(payload)?.slice(0, 80) ?? ''}`
      assert.equal(res.statusCode, 400, what)
      assert.deepEqual(res.json(), { error: { code, message } }, what)
    }

    it('validates the list query, naming the parameter', async () => {
      const cases: Array<[string, string]> = [
        ['/v1/tasks?limit=0', 'querystring.limit'],
        ['/v1/tasks?limit=abc', 'querystring.limit'],
        ['/v1/tasks?state=done', 'querystring.state'],
        ['/v1/tasks?colour=red', 'querystring.colour'],
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

    it('the list query: limit defaults to 100, and each bad value is refused with what is allowed', async () => {
      assert.deepEqual((await app.inject('/v1/tasks')).json(), { tasks: [], next: null, total: 100 })
      assert.equal((await app.inject('/v1/tasks?after=abc&limit=1000')).json().next, 'abc')
      const limit = 'querystring.limit: must be an integer from 1 to 1000'
      for (const q of ['limit=1001', 'limit=1.5', 'limit=-1', 'limit=', 'limit=1&limit=2'])
        await refused('GET', `/v1/tasks?${q}`, 'invalid_request', limit)
      const state = 'querystring.state: must be one of pending, assigned, running, succeeded, failed, cancelled'
      for (const q of ['state=', 'state=RUNNING', 'state=running&state=failed'])
        await refused('GET', `/v1/tasks?${q}`, 'invalid_request', state)
      await refused(
        'GET',
        '/v1/tasks?colour=red',
        'invalid_request',
        'querystring.colour: is not a known parameter (expected state, node, tenant, limit, after, order)',
      )
      await refused('GET', '/v1/tasks?node=a&node=b', 'invalid_request', 'querystring.node: must be string')
      for (const q of ['order=desc', 'order=', 'order=newest&order=oldest'])
        await refused('GET', `/v1/tasks?${q}`, 'invalid_request', 'querystring.order: must be oldest or newest')
    })

    it('answers 404 not_found for an unknown task, and 400 for a bad logs query', async () => {
      const res = await app.inject({ method: 'GET', url: '/v1/tasks/nope' })
      assert.equal(res.statusCode, 404)
      assert.equal(res.json().error.code, 'not_found')
      const logs = await app.inject({ method: 'GET', url: '/v1/tasks/nope/logs?stream=stdin' })
      assert.equal(logs.statusCode, 400)
      assert.match(logs.json().error.message, /^querystring\.stream/)
    })

    it('the logs query: defaults, and each bad value is refused naming the parameter', async () => {
      logReads.length = 0
      const plain = await app.inject('/v1/tasks/done/logs')
      assert.equal(plain.statusCode, 200)
      assert.equal(plain.headers['x-meshos-task-state'], 'succeeded')
      assert.equal((await app.inject('/v1/tasks/done/logs?stream=stderr&follow=false&attempt=2')).statusCode, 200)
      assert.deepEqual(logReads, [
        { attempt: 1, stream: 'stdout' },
        { attempt: 2, stream: 'stderr' },
      ])
      const attempt = 'querystring.attempt: must be an integer from 1 to 1000000'
      for (const q of ['attempt=0', 'attempt=x', 'attempt=1000001', 'attempt=1&attempt=2'])
        await refused('GET', `/v1/tasks/done/logs?${q}`, 'invalid_request', attempt)
      await refused(
        'GET',
        '/v1/tasks/done/logs?stream=stdin',
        'invalid_request',
        'querystring.stream: must be stdout or stderr',
      )
      await refused(
        'GET',
        '/v1/tasks/done/logs?follow=yes',
        'invalid_request',
        'querystring.follow: must be true or false',
      )
      await refused(
        'GET',
        '/v1/tasks/done/logs?colour=red',
        'invalid_request',
        'querystring.colour: is not a known parameter (expected stream, follow, attempt)',
      )
    })

    it('an over-long task id is a 400 naming the parameter', async () => {
      for (const url of [`/v1/tasks/${'x'.repeat(65)}`, `/v1/tasks/${'x'.repeat(65)}/logs`]) {
        await refused('GET', url, 'invalid_request', 'params.id: must NOT have more than 64 characters')
      }
    })

    it('POST /v1/tasks hands the service normalised specs, and whether they came as an array', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/tasks',
        payload: { argv: ['/bin/true'], deadline: '2026-11-27T18:00:00Z' },
      })
      assert.equal(res.statusCode, 201)
      assert.deepEqual(res.json(), { id: 't0', state: 'pending' })
      assert.deepEqual(submitted, {
        many: false,
        specs: [
          {
            argv: ['/bin/true'],
            name: null,
            env: {},
            cpus: 0.1,
            memoryMb: 64,
            timeoutMs: null,
            retries: 0,
            priority: 50,
            deadline: Date.parse('2026-11-27T18:00:00Z'),
            tenant: 'default',
            constraints: {},
            policy: null,
          },
        ],
      })
      const batch = await app.inject({ method: 'POST', url: '/v1/tasks', payload: [{ command: 'true', cpus: 2 }] })
      assert.equal(batch.statusCode, 201)
      assert.deepEqual(batch.json(), { tasks: [{ id: 't0', state: 'pending' }] })
      assert.equal(submitted?.many, true)
      assert.equal(submitted?.specs[0]?.cpus, 2)
      const most = Array.from({ length: 1000 }, () => ({ command: 'true' }))
      assert.equal((await app.inject({ method: 'POST', url: '/v1/tasks', payload: most })).statusCode, 201)
      assert.equal(submitted?.specs.length, 1000)
    })

    it('POST /v1/tasks refuses a bad body as invalid_task, naming the spec and field', async () => {
      const spec = { command: 'true' }
      const cases: Array<[unknown, string]> = [
        ['echo hi', 'body: must be a task spec object'],
        [42, 'body: must be a task spec object'],
        [null, 'body: must be a task spec object'],
        [[], 'body: an array of specs must not be empty'],
        [Array.from({ length: 1001 }, () => spec), 'body: at most 1000 specs per request, got 1001'],
        [
          [...Array.from({ length: 1000 }, () => spec), { cpus: 'x' }],
          'body: at most 1000 specs per request, got 1001',
        ],
        [[spec, 'x'], '[1]: must be a task spec object'],
        [[spec, [spec]], '[1]: must be a task spec object'],
        [{}, 'command: exactly one of command and argv is required'],
        [{ command: 'true', argv: ['true'] }, 'command: exactly one of command and argv is required'],
        [{ command: 'true', colour: 'red' }, 'colour: is not a known field'],
        [{ command: 'true', memoryMb: 'lots' }, 'memoryMb: must be a number, got string'],
        [
          { command: 'true', deadline: 'tomorrow' },
          'deadline: must be an ISO-8601 time (e.g. 2026-11-27T18:00:00Z) or epoch milliseconds',
        ],
        [
          { command: 'true', env: { A: 'x'.repeat(30_000), B: 'x'.repeat(30_000), C: 'x'.repeat(30_000) } },
          '(spec): larger than 65536 bytes of JSON',
        ],
        [[spec, spec, spec, { command: 'true', cpus: 0 }], '[3].cpus: must be greater than 0'],
        [[spec, { argv: 'true' }], '[1].argv: must be an array, got string'],
        [[spec, { argv: ['a', 5] }], '[1].argv[1]: must be a string, got number'],
        [[spec, { command: 'true', argv: ['true'] }], '[1].command: exactly one of command and argv is required'],
        [[spec, { command: 'true', deadline: -5 }], '[1].deadline: must be epoch milliseconds or an ISO-8601 time'],
        [[spec, { command: 'true', colour: 'red' }], '[1].colour: is not a known field'],
        [
          [spec, { command: 'true', env: { A: 'x'.repeat(30_000), B: 'x'.repeat(30_000), C: 'x'.repeat(30_000) } }],
          '[1].(spec): larger than 65536 bytes of JSON',
        ],
      ]
      submitted = undefined
      for (const [body, message] of cases) await refused('POST', '/v1/tasks', 'invalid_task', message, body)
      assert.equal(submitted, undefined, 'nothing refused reaches the service')
    })

    it('POST /v1/tasks without a body is refused as not a spec', async () => {
      const res = await app.inject({ method: 'POST', url: '/v1/tasks' })
      assert.equal(res.statusCode, 400)
      assert.deepEqual(res.json(), { error: { code: 'invalid_task', message: 'body: must be a task spec object' } })
    })
  })
})
