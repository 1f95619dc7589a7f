// GET /v1/openapi.json against the server itself: every route Fastify has is documented, nothing
// documented is missing, and every documented answer (each status of each operation, errors
// included) is produced in-process against a fake node and checked against the document's schema
// for that status.
import assert from 'node:assert/strict'
import { systemClock } from '../../src/util/clock.js'
import { EventHub } from '../../src/events/event-hub.js'
import { DEFAULT_EVENTS } from '../../src/events/config.js'
import { Validator } from '@seriousme/openapi-schema-validator'
import { pino } from 'pino'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildHttpApp } from '../../src/http/app.js'
import { HTTP_LIMITS } from '../../src/http/config.js'
import type { NodeApi, NodeView } from '../../src/http/node-api.js'
import {
  AmbiguousNodeError,
  LeaderRemovalError,
  NoLeaderError,
  NodeNotFoundError,
  NotVoterError,
} from '../../src/cluster/errors.js'
import {
  LogsUnavailableError,
  TaskConflictError,
  TaskNotFoundError,
  TooManyTasksError,
  LeaderUnreachableError,
} from '../../src/tasks/errors.js'
import { parseTaskSpec } from '../../src/tasks/spec.js'
import type { TaskView } from '../../src/tasks/task-view.js'
import type { OpenApiDocument } from '../../src/http/responses.js'
import { DocumentedApi, documentedPath } from '../helpers/openapi.js'
import { DASHBOARD_ROUTES } from '../../src/http/routes/dashboard.js'

const TOKEN = 'p4Rt8sW2yZ6bD0fH3jL7nQ1tV5xA9cE4gI8kM2oS6uY'
const AUTH = { authorization: `Bearer ${TOKEN}` }

const spec = (): TaskView['spec'] => {
  const parsed = parseTaskSpec({ command: 'echo hi', env: { A: '1' }, timeoutMs: 5000, policy: 'spread' })
  if (!parsed.ok) throw new Error(parsed.message)
  return parsed.spec
}

/** A task that ran twice: its view has every kind of field filled in. */
const task: TaskView = {
  id: 'mxb6q9xc-b4a99e8ca1',
  name: 'hello',
  spec: spec(),
  state: 'failed',
  attempt: 2,
  node: 'peer-a',
  nodeName: 'a',
  exitCode: null,
  signal: 'SIGKILL',
  reason: 'memory',
  message: 'over 64 MB',
  submittedAt: 1_700_000_000_000,
  startedAt: 1_700_000_000_100.25,
  finishedAt: 1_700_000_001_000,
  placement: 'spread: most free cpus',
  cancelRequested: false,
  attempts: [{ attempt: 1, node: 'peer-b', startedAt: null, finishedAt: 1_700_000_000_050, outcome: 'refused' }],
}
const pending: TaskView = { ...task, id: 'mxb6q9xd-00', state: 'pending', attempt: 1, node: null, nodeName: null }

const member: NodeView = {
  id: 'peer-a',
  name: 'a',
  addrs: ['/ip4/127.0.0.1/tcp/7000/p2p/peer-a'],
  state: 'suspect',
  capacity: { cpus: 2, memoryMb: 1024 },
  allocated: { cpus: 0.5, memoryMb: 64 },
  running: 1,
  load: null,
  labels: { zone: 'edge' },
  version: 'test',
  incarnation: 3,
  startedAt: null,
  lastSeenMs: 1200,
  drain: null,
  activeView: ['peer-b'],
}

/** A hub of a stopping node: its streams end at once, so a request for one gets a whole answer. */
function closedEventHub(): EventHub {
  const hub = new EventHub({ clock: systemClock, config: DEFAULT_EVENTS, life: 1 })
  hub.close()
  return hub
}

/** Set for one request by the x-test-no-leader header: this node holds no log and the leader
 * it would read from did not answer. */
let leaderUnreachable = false
const remoteRead = <T>(answer: T): T => {
  if (leaderUnreachable)
    throw new LeaderUnreachableError('this node holds no log and could not read from the leader: timeout')
  return answer
}

/** Keys and task ids that make the fake node fail in a given way. */
const noQuorum = (): never => {
  throw new NoLeaderError('no leader elected; 1 of 3 voters reachable')
}

/** How the fake node answers an operator's request about the node `ref` names. */
const operated = (ref: string): NodeView => {
  if (ref === 'no-quorum') noQuorum()
  if (ref === 'twin') throw new AmbiguousNodeError('2 nodes are named "twin": give the peer id of the one you mean')
  if (ref !== member.id && ref !== member.name) throw new NodeNotFoundError(`no node "${ref}" is known to this node`)
  return member
}

const fakeNode: NodeApi = {
  events: closedEventHub(),
  status: () => ({
    nodeId: 'peer-a',
    name: 'a',
    version: 'test',
    addrs: member.addrs,
    uptimeMs: 5.5,
    role: 'leader',
    leader: 'peer-a',
    term: 4,
    insecure: false,
    isolation: { taskUser: null, taskUid: 1000, cgroups: null, memoryLimit: 'polling' },
  }),
  nodes: async () =>
    remoteRead([
      member,
      { ...member, id: 'peer-b', name: 'b', state: 'alive', load: 0.25, startedAt: '2026-01-01T00:00:00.000Z' },
    ]),
  node: async id => remoteRead(id === member.id ? member : undefined),
  metricsText: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'meshos_members 2\n' }),
  clusterView: async () => ({
    leader: 'peer-a',
    term: 4,
    commitIndex: 9,
    voters: [{ id: 'peer-a', name: 'a', lastContactMs: 0, matchIndex: 9 }],
    learners: [{ id: 'peer-b', name: null, lastContactMs: null, matchIndex: null }],
  }),
  kvPut: async (key, value) => (key === 'no-quorum' ? noQuorum() : { key, value, index: 6, term: 4 }),
  kvDelete: async key => (key === 'no-quorum' ? noQuorum() : { key, index: 7, term: 4 }),
  kvGet: async key => remoteRead(key === 'color' ? 'blue' : undefined),
  kvList: async () => remoteRead({ color: 'blue' }),
  drainNode: async (ref, deadlineSeconds) => ({
    ...operated(ref),
    drain: {
      state: 'draining',
      sinceMs: 1_700_000_000_000,
      deadlineAtMs: deadlineSeconds === undefined ? null : 1_700_000_000_000 + deadlineSeconds * 1000,
    },
  }),
  undrainNode: async ref => operated(ref),
  transferLeader: async to => {
    if (to !== undefined && to !== 'peer-c') {
      if (operated(to).id === 'peer-a') throw new NotVoterError('peer-a is not a voter')
    }
    const previous = { leader: 'peer-a', name: 'a', term: 4 }
    return { leader: 'peer-c', name: 'c', term: 5, previous }
  },
  removeVoter: async ref => {
    if (ref === 'peer-a') throw new LeaderRemovalError('a (peer-a) is the leader: move leadership first')
    if (ref !== 'peer-c') operated(ref)
    return {
      leader: 'peer-a',
      term: 4,
      commitIndex: 10,
      voters: [{ id: 'peer-a', name: 'a', lastContactMs: 0, matchIndex: 10 }],
      learners: [],
    }
  },
  tasks: {
    submit: async ({ specs, many }) => {
      if (specs[0]?.tenant === 'full') throw new TooManyTasksError('tenant full has 3 unfinished tasks: the limit is 3')
      if (specs[0]?.tenant === 'no-quorum') noQuorum()
      const answers = specs.map((_, i) => ({ id: `t${i}`, state: 'pending' as const }))
      return many ? { tasks: answers } : answers[0]!
    },
    get: async id => {
      if (id === task.id) return remoteRead(task)
      throw new TaskNotFoundError(`no task ${id}`)
    },
    list: async () => remoteRead({ tasks: [task, pending], next: pending.id, total: 3 }),
    cancel: async id => {
      if (id === pending.id) return { ...pending, state: 'cancelled', reason: 'cancelled' }
      if (id === task.id) throw new TaskConflictError(`task ${id} already failed`)
      if (id === 'no-quorum') noQuorum()
      throw new TaskNotFoundError(`no task ${id}`)
    },
    logTarget: async id => {
      if (id !== task.id && id !== 'gone') throw new TaskNotFoundError(`no task ${id}`)
      return { id, state: 'running', attempt: 2, node: 'peer-b' }
    },
    readLog: async (id, _attempt, _node, _stream, offset) => {
      if (id === 'gone') throw new LogsUnavailableError('the output of gone is on node peer-b, which did not answer')
      const data = offset === 0 ? Buffer.from('hi\n') : new Uint8Array()
      return { data, nextOffset: offset + data.byteLength, truncated: offset === 0, found: true }
    },
  },
}

/** How to make a route give one of its statuses: the request, and for text what to expect. */
type Scenario = InjectOptions & { url: string; method: NonNullable<InjectOptions['method']> }

const long = (n: number): string => 'x'.repeat(n)

/** The answers only a route's own input or state produces, by operation and status. */
function routeScenarios(method: string, path: string): Record<number, Scenario[]> {
  const get = (url: string): Scenario[] => [{ method: 'GET', url }]
  const send = (m: 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown): Scenario[] => [
    { method: m, url, ...(payload === undefined ? {} : { payload: payload as object }) },
  ]
  // On a node that holds no log, a read the leader does not answer.
  const noLeader = (scenarios: Scenario[]): Scenario[] =>
    scenarios.map(sc => ({ ...sc, headers: { ...(sc.headers as Record<string, string>), 'x-test-no-leader': '1' } }))
  switch (`${method} ${path}`) {
    case 'GET /v1/health':
      return { 200: get('/v1/health') }
    case 'GET /v1/status':
      return { 200: get('/v1/status') }
    case 'GET /metrics':
      return { 200: get('/metrics') }
    case 'GET /v1/events':
      return {
        200: [
          ...get('/v1/events?topic=members&topic=tasks'),
          { ...get('/v1/events')[0]!, headers: { 'last-event-id': '1-0' } },
        ],
        400: [...get('/v1/events?topic=nope'), { ...get('/v1/events')[0]!, headers: { 'last-event-id': 'x' } }],
      }
    case 'GET /v1/openapi.json':
      return { 200: get('/v1/openapi.json') }
    case 'GET /v1/nodes':
      return { 200: get('/v1/nodes'), 503: noLeader(get('/v1/nodes')) }
    case 'GET /v1/nodes/{id}':
      return {
        200: get('/v1/nodes/peer-a'),
        400: get(`/v1/nodes/${long(200)}`),
        404: get('/v1/nodes/nope'),
        503: noLeader(get('/v1/nodes/peer-a')),
      }
    case 'POST /v1/nodes/{id}/drain':
      return {
        202: [...send('POST', '/v1/nodes/peer-a/drain', { deadlineSeconds: 90 }), ...send('POST', '/v1/nodes/a/drain')],
        400: [
          ...send('POST', '/v1/nodes/peer-a/drain', { deadlineSeconds: -1 }),
          ...send('POST', '/v1/nodes/peer-a/drain', { deadlineSeconds: '5' }),
          ...send('POST', '/v1/nodes/peer-a/drain', { deadline: 5 }),
          ...send('POST', `/v1/nodes/${long(200)}/drain`),
        ],
        404: send('POST', '/v1/nodes/nope/drain'),
        409: send('POST', '/v1/nodes/twin/drain'),
        503: send('POST', '/v1/nodes/no-quorum/drain'),
      }
    case 'POST /v1/nodes/{id}/undrain':
      return {
        200: send('POST', '/v1/nodes/peer-a/undrain'),
        400: send('POST', `/v1/nodes/${long(200)}/undrain`),
        404: send('POST', '/v1/nodes/nope/undrain'),
        409: send('POST', '/v1/nodes/twin/undrain'),
        503: send('POST', '/v1/nodes/no-quorum/undrain'),
      }
    case 'GET /v1/cluster':
      return { 200: get('/v1/cluster') }
    case 'POST /v1/cluster/leader/transfer':
      return {
        200: [
          ...send('POST', '/v1/cluster/leader/transfer'),
          ...send('POST', '/v1/cluster/leader/transfer', { to: 'peer-c' }),
        ],
        400: [
          ...send('POST', '/v1/cluster/leader/transfer', { to: 7 }),
          ...send('POST', '/v1/cluster/leader/transfer', { to: '' }),
        ],
        404: send('POST', '/v1/cluster/leader/transfer', { to: 'nope' }),
        409: send('POST', '/v1/cluster/leader/transfer', { to: 'peer-a' }),
        503: send('POST', '/v1/cluster/leader/transfer', { to: 'no-quorum' }),
      }
    case 'DELETE /v1/cluster/voters/{id}':
      return {
        200: send('DELETE', '/v1/cluster/voters/peer-c'),
        400: send('DELETE', `/v1/cluster/voters/${long(200)}`),
        404: send('DELETE', '/v1/cluster/voters/nope'),
        409: [...send('DELETE', '/v1/cluster/voters/peer-a'), ...send('DELETE', '/v1/cluster/voters/twin')],
        503: send('DELETE', '/v1/cluster/voters/no-quorum'),
      }
    case 'GET /v1/kv':
      return { 200: get('/v1/kv'), 503: noLeader(get('/v1/kv')) }
    case 'GET /v1/kv/{key}':
      return {
        200: get('/v1/kv/color'),
        400: get(`/v1/kv/${long(300)}`),
        404: get('/v1/kv/nope'),
        503: noLeader(get('/v1/kv/color')),
      }
    case 'PUT /v1/kv/{key}':
      return {
        200: send('PUT', '/v1/kv/color', { value: 'red' }),
        400: [...send('PUT', '/v1/kv/color', { value: 5 }), ...send('PUT', '/v1/kv/color', { value: 'x', ttl: 1 })],
        503: send('PUT', '/v1/kv/no-quorum', { value: 'x' }),
      }
    case 'DELETE /v1/kv/{key}':
      return {
        200: send('DELETE', '/v1/kv/color'),
        400: send('DELETE', `/v1/kv/${long(300)}`),
        503: send('DELETE', '/v1/kv/no-quorum'),
      }
    case 'POST /v1/tasks':
      return {
        201: [...send('POST', '/v1/tasks', { command: 'true' }), ...send('POST', '/v1/tasks', [{ argv: ['true'] }])],
        400: [
          ...send('POST', '/v1/tasks', { command: 'true', cpus: 0 }),
          ...send('POST', '/v1/tasks', []),
          { method: 'POST', url: '/v1/tasks', headers: { 'content-type': 'application/json' }, payload: '{"command":' },
        ],
        429: send('POST', '/v1/tasks', { command: 'true', tenant: 'full' }),
        503: send('POST', '/v1/tasks', { command: 'true', tenant: 'no-quorum' }),
      }
    case 'GET /v1/tasks':
      return {
        200: get('/v1/tasks?state=failed&limit=2'),
        400: get('/v1/tasks?limit=0'),
        503: noLeader(get('/v1/tasks')),
      }
    case 'GET /v1/tasks/{id}':
      return {
        200: get(`/v1/tasks/${task.id}`),
        400: get(`/v1/tasks/${long(65)}`),
        404: get('/v1/tasks/nope'),
        503: noLeader(get(`/v1/tasks/${task.id}`)),
      }
    case 'DELETE /v1/tasks/{id}':
      return {
        200: send('DELETE', `/v1/tasks/${pending.id}`),
        400: send('DELETE', `/v1/tasks/${long(65)}`),
        404: send('DELETE', '/v1/tasks/nope'),
        409: send('DELETE', `/v1/tasks/${task.id}`),
        503: send('DELETE', '/v1/tasks/no-quorum'),
      }
    case 'GET /v1/tasks/{id}/logs':
      return {
        200: [...get(`/v1/tasks/${task.id}/logs`), ...get(`/v1/tasks/${task.id}/logs?follow=true&stream=stderr`)],
        400: get(`/v1/tasks/${task.id}/logs?stream=stdin`),
        404: get('/v1/tasks/nope/logs'),
        503: get('/v1/tasks/gone/logs'),
      }
    default:
      return {}
  }
}

/** The refusals any route gives, made from one of its successful requests. */
function commonScenarios(ok: Scenario): Record<number, Scenario[]> {
  const headers = (extra: Record<string, string>): Scenario => ({
    ...ok,
    headers: { ...(ok.headers as Record<string, string> | undefined), ...extra },
  })
  const withoutAuth = { ...ok, headers: { ...(ok.headers as Record<string, string> | undefined) } }
  return {
    401: [{ ...withoutAuth, headers: { ...withoutAuth.headers, authorization: 'Bearer wrong' } }],
    403: [headers({ origin: 'http://evil.example' })],
    413: [headers({ 'content-type': 'application/json', 'content-length': String(HTTP_LIMITS.bodyBytes + 1) })],
    415: [{ ...headers({ 'content-type': 'text/plain' }), payload: 'x' }],
    421: [headers({ host: 'evil.example' })],
    500: [headers({ 'x-test-bug': '1' })],
  }
}

describe('OpenAPI document', () => {
  let app: FastifyInstance
  const routes: Array<{ method: string; url: string }> = []
  let api: DocumentedApi

  before(async () => {
    app = buildHttpApp(fakeNode, pino({ level: 'silent' }), {
      host: '127.0.0.1',
      port: 80,
      token: TOKEN,
      refusedUids: [],
    })
    // The routes are added in a plugin that loads on ready, so both hooks see all of them.
    app.addHook('onRoute', route => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url })
    })
    // A bug in any handler: the error handler's 500.
    app.addHook('preHandler', async req => {
      if (req.headers['x-test-bug'] !== undefined) throw new TypeError('x is undefined')
      leaderUnreachable = req.headers['x-test-no-leader'] !== undefined
    })
    await app.ready()
    const res = await app.inject({ method: 'GET', url: '/v1/openapi.json', headers: AUTH })
    assert.equal(res.statusCode, 200, res.body)
    api = new DocumentedApi(res.json<OpenApiDocument>())
  })
  after(async () => {
    await app.close()
  })

  it('is a valid OpenAPI 3.1 document, and every schema in it compiles as JSON Schema 2020-12 (strict)', async () => {
    assert.equal(api.doc.openapi, '3.1.0')
    assert.equal(api.doc.info.version, 'test')
    const checked = await new Validator().validate(api.doc)
    assert.deepEqual(checked.errors ?? [], [], 'the OpenAPI 3.1 schema of documents accepts it')
    assert.equal(checked.valid, true)
    assert.ok(api.compileAll() > 50)
  })

  it('documents every route the server has, and no other', () => {
    assert.ok(
      routes.some(r => r.method === 'GET' && r.url === '/v1/health'),
      'the onRoute hook saw the routes',
    )
    // The dashboard's page and files are HTML and static files, not API: kept out of the document
    // on purpose (test/unit/http-dashboard.test.ts covers them). Only these exact paths are.
    const dashboard: ReadonlySet<string> = new Set(DASHBOARD_ROUTES)
    assert.deepEqual(
      [...new Set(routes.filter(r => dashboard.has(r.url)).map(r => r.url))].sort(),
      [...DASHBOARD_ROUTES].sort(),
      'the dashboard routes are served',
    )
    const apiRoutes = routes.filter(r => !dashboard.has(r.url))
    const ops = api.operations()
    for (const { method, url } of apiRoutes) {
      // Fastify answers HEAD for every GET; the document says so once.
      const op = `${method === 'HEAD' ? 'GET' : method} ${documentedPath(url)}`
      assert.ok(ops.has(op), `${method} ${url} is not in the document`)
    }
    const served = new Set(apiRoutes.map(r => `${r.method} ${documentedPath(r.url)}`))
    for (const op of ops.keys()) assert.ok(served.has(op), `${op} is documented but not served`)
  })

  it('each documented answer is what the route gives, for every status it documents', async () => {
    const unproduced: string[] = []
    for (const [op, answers] of api.operations()) {
      const [method, path] = op.split(' ') as [string, string]
      const own = routeScenarios(method, path)
      const ok = own[200]?.[0] ?? own[201]?.[0] ?? own[202]?.[0]
      assert.ok(ok !== undefined, `${op}: no successful request to start from`)
      const scenarios = { ...commonScenarios(ok), ...own }
      for (const status of Object.keys(answers).map(Number)) {
        const cases = scenarios[status]
        if (cases === undefined || cases.length === 0) {
          unproduced.push(`${op} ${status}`)
          continue
        }
        for (const scenario of cases) {
          const headers = { ...(status === 401 ? {} : AUTH), ...(scenario.headers as Record<string, string>) }
          const res = await app.inject({ ...scenario, headers })
          const what = `${op} → ${status} (${scenario.method} ${scenario.url.slice(0, 60)})`
          assert.equal(res.statusCode, status, `${what}: got ${res.statusCode} ${res.body.slice(0, 200)}`)
          checkAnswer(api, method, path, status, res, what)
        }
      }
      // A status the route gives in a scenario above must be one it documents.
      for (const status of Object.keys(own).map(Number))
        assert.ok(answers[String(status)] !== undefined, `${op} gives ${status} but does not document it`)
    }
    assert.deepEqual(unproduced, [], 'documented answers no scenario produces')
  })
})

function checkAnswer(
  api: DocumentedApi,
  method: string,
  path: string,
  status: number,
  res: LightMyRequestResponse,
  what: string,
): void {
  const documented = api.answer(method, path, status)!
  const [mediaType, media] = Object.entries(documented.content ?? {})[0] ?? []
  assert.ok(mediaType !== undefined && media !== undefined, `${what}: no media type documented`)
  const essence = (type: string): string => type.split(';')[0]!.trim()
  assert.equal(essence(String(res.headers['content-type'])), essence(mediaType), `${what}: content type`)
  if (essence(mediaType) === 'application/json') {
    assert.deepEqual(api.problems(method, path, status, res.json()), [], `${what}: ${res.body.slice(0, 300)}`)
    return
  }
  assert.equal(typeof res.body, 'string')
  for (const [name, header] of Object.entries(documented.headers ?? {})) {
    const value = res.headers[name]
    const allowed = header.schema.enum as string[] | undefined
    if (value !== undefined && allowed !== undefined)
      assert.ok(allowed.includes(String(value)), `${what}: header ${name} is ${String(value)}`)
  }
}
