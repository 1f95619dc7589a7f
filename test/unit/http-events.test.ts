// GET /v1/events over a real listening server (inject() cannot stream) with a fake node whose
// event hub the test publishes to: SSE framing, Last-Event-ID resumes and resync notices, topic
// filters and their 400s, keep-alive comments, the drop of a client that does not read, the end
// of every stream when the node or the server stops, the access rules; and the typed client's
// iterator: typed events, resuming a dropped connection after the last id, its errors.
import assert from 'node:assert/strict'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { pino } from 'pino'
import type { FastifyInstance } from 'fastify'
import { buildHttpApp } from '../../src/http/app.js'
import type { NodeApi } from '../../src/http/node-api.js'
import type { HttpAccessConfig } from '../../src/http/config.js'
import { EventHub } from '../../src/events/event-hub.js'
import { DEFAULT_EVENTS, type EventsConfig } from '../../src/events/config.js'
import type { MeshEvent, MeshEventInput } from '../../src/events/types.js'
import { systemClock } from '../../src/util/clock.js'
import { MeshosApiError, MeshClient, MeshosUnreachableError, type EventStreamItem } from '../../src/client/client.js'
import { waitFor } from '../../harness/wait-for.js'

const silent = pino({ level: 'silent' })
/** Bounds every wait for the server to write something; it writes within milliseconds. */
const READ_BOUND_MS = 5000

const member = (nodeId: string, reason = 'test'): MeshEventInput => ({
  topic: 'members',
  type: 'suspect',
  data: { nodeId, name: nodeId, from: 'alive', to: 'suspect', reason },
})
const task = (id: string): MeshEventInput => ({
  topic: 'tasks',
  type: 'succeeded',
  data: {
    id,
    from: 'running',
    to: 'succeeded',
    node: 'n1',
    nodeName: 'one',
    attempt: 1,
    reason: null,
    tenant: 'default',
  },
})

interface Server {
  app: FastifyInstance
  hub: EventHub
  url: string
  port: number
  /** Last-Event-ID headers of the requests for /v1/events, in order (undefined: none sent). */
  lastEventIds: Array<string | undefined>
}

async function serve(config: Partial<EventsConfig> = {}, access: Partial<HttpAccessConfig> = {}): Promise<Server> {
  const hub = new EventHub({ clock: systemClock, config: { ...DEFAULT_EVENTS, ...config }, life: 3 })
  const app = buildHttpApp({ events: hub } as unknown as NodeApi, silent, {
    host: '127.0.0.1',
    port: 0,
    token: null,
    refusedUids: [],
    ...access,
  })
  const lastEventIds: Array<string | undefined> = []
  app.addHook('onRequest', async req => {
    if (req.url.startsWith('/v1/events')) lastEventIds.push(req.headers['last-event-id'] as string | undefined)
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  return { app, hub, url: `http://127.0.0.1:${port}`, port, lastEventIds }
}

/** The text of a streamed answer as it arrives; until() waits (bounded) for what a test expects. */
class StreamText {
  text = ''
  done = false
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private readonly decoder = new TextDecoder()
  private reading: Promise<void> | null = null

  constructor(res: Response) {
    assert.ok(res.body !== null)
    this.reader = res.body.getReader()
  }

  async until(what: string, check: (text: string) => boolean): Promise<string> {
    const deadline = Date.now() + READ_BOUND_MS
    while (!check(this.text)) {
      if (this.done) throw new Error(`the stream ended before ${what}; got: ${JSON.stringify(this.text)}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no ${what} within ${READ_BOUND_MS} ms; got: ${JSON.stringify(this.text)}`)
      this.reading ??= this.reader.read().then(({ done, value }) => {
        this.reading = null
        if (done) this.done = true
        else this.text += this.decoder.decode(value, { stream: true })
      })
      let timer: NodeJS.Timeout | undefined
      await Promise.race([this.reading, new Promise(resolve => (timer = setTimeout(resolve, left)))])
      clearTimeout(timer)
    }
    return this.text
  }

  async end(): Promise<string> {
    await this.until('the end of the stream', () => this.done)
    return this.text
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {})
  }
}

/** The `data` of each message framed in `text`, parsed. */
const messagesIn = (text: string): Array<{ id: string | null; event: string; data: unknown }> =>
  text
    .split('\n\n')
    .filter(block => block.split('\n').some(l => l.startsWith('data: ')))
    .map(block => {
      const lines = block.split('\n')
      const field = (name: string): string | null =>
        lines.find(l => l.startsWith(`${name}: `))?.slice(name.length + 2) ?? null
      return { id: field('id'), event: field('event') ?? 'message', data: JSON.parse(field('data') ?? 'null') }
    })

/** Closes the server without waiting out the idle sockets fetch keeps around (4 s). */
async function shut(s: Server): Promise<void> {
  const closing = s.app.close()
  s.app.server.closeAllConnections()
  await closing
}

async function open(s: Server, path = '/v1/events', headers: Record<string, string> = {}): Promise<StreamText> {
  const res = await fetch(s.url + path, { headers })
  assert.equal(res.status, 200, await (res.status === 200 ? Promise.resolve('') : res.text()))
  return new StreamText(res)
}

/** Collects what an iterator yields, in the background, until stopped. */
function collect(items: AsyncGenerator<EventStreamItem>): { got: EventStreamItem[]; done: Promise<unknown> } {
  const got: EventStreamItem[] = []
  const done = (async () => {
    for await (const item of items) got.push(item)
  })().then(
    () => null,
    (err: unknown) => err,
  )
  return { got, done }
}

const eventIds = (items: EventStreamItem[]): string[] =>
  items.map(i => (i.kind === 'event' ? i.event.id : `resync:${i.notice.reason}`))

describe('GET /v1/events (Server-Sent Events)', function () {
  this.timeout(30_000)
  let s: Server
  beforeEach(async () => {
    s = await serve({ keepAliveMs: 60_000 })
  })
  afterEach(async () => {
    await shut(s)
  })

  it('answers text/event-stream, not cached, and frames each event with its id', async () => {
    const res = await fetch(`${s.url}/v1/events`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8')
    assert.match(res.headers.get('cache-control') ?? '', /no-cache/)
    const stream = new StreamText(res)
    await stream.until('the retry field', t => t === `retry: ${DEFAULT_EVENTS.retryMs}\n\n`)
    await waitFor('the subscription', async () => s.hub.subscriberCount === 1, READ_BOUND_MS)
    const published = s.hub.publish(member('peer-b', 'no answer to 2 probes'))
    const text = await stream.until('an event', t => t.includes('data: '))
    assert.equal(text, `retry: ${DEFAULT_EVENTS.retryMs}\n\nid: 3-1\ndata: ${JSON.stringify(published)}\n\n`)
    const [msg] = messagesIn(text)
    assert.deepEqual(msg?.data, {
      id: '3-1',
      time: published.time,
      topic: 'members',
      type: 'suspect',
      data: { nodeId: 'peer-b', name: 'peer-b', from: 'alive', to: 'suspect', reason: 'no answer to 2 probes' },
    })
    await stream.cancel()
    await waitFor('the subscription to go', async () => s.hub.subscriberCount === 0, READ_BOUND_MS)
  })

  it('resumes after Last-Event-ID (header, or lastEventId= when a client cannot set it); the header wins', async () => {
    for (let i = 1; i <= 5; i++) s.hub.publish(member(`n${i}`))
    const byHeader = await open(s, '/v1/events?lastEventId=3-1', { 'last-event-id': '3-3' })
    const ids = (text: string): Array<string | null> => messagesIn(text).map(m => m.id)
    assert.deepEqual(ids(await byHeader.until('the replay', t => messagesIn(t).length === 2)), ['3-4', '3-5'])
    const byQuery = await open(s, '/v1/events?lastEventId=3-2')
    assert.deepEqual(ids(await byQuery.until('the replay', t => messagesIn(t).length === 3)), ['3-3', '3-4', '3-5'])
    s.hub.publish(member('n6'))
    assert.deepEqual(ids(await byQuery.until('the live event', t => messagesIn(t).length === 4)).at(-1), '3-6')
    await byHeader.cancel()
    await byQuery.cancel()
  })

  it('tells a client too far behind to resync (event: resync, with the id to go on from), then goes on live', async () => {
    await shut(s)
    s = await serve({ replayEvents: 3 })
    for (let i = 1; i <= 6; i++) s.hub.publish(member(`n${i}`))
    const stream = await open(s, '/v1/events', { 'last-event-id': '3-1' })
    const text = await stream.until('the resync notice', t => t.includes('event: resync'))
    const [notice] = messagesIn(text)
    assert.equal(notice?.event, 'resync')
    assert.equal(notice.id, '3-6')
    assert.deepEqual(Object.keys(notice.data as object).sort(), ['lastEventId', 'message', 'reason'])
    assert.equal((notice.data as { reason: string }).reason, 'too_far_behind')
    s.hub.publish(member('n7'))
    const after = await stream.until('the next live event', t => messagesIn(t).length === 2)
    assert.equal(messagesIn(after)[1]?.id, '3-7')
    await stream.cancel()
  })

  it('sends only the topics asked for: repeated or comma-separated', async () => {
    const repeated = await open(s, '/v1/events?topic=tasks&topic=leader')
    const listed = await open(s, '/v1/events?topic=leader,tasks')
    await waitFor('both subscriptions', async () => s.hub.subscriberCount === 2, READ_BOUND_MS)
    s.hub.publish(member('n1'))
    s.hub.publish(task('t1'))
    for (const stream of [repeated, listed]) {
      const text = await stream.until('the task event', t => t.includes('"t1"'))
      assert.deepEqual(
        messagesIn(text).map(m => (m.data as MeshEvent).topic),
        ['tasks'],
      )
      await stream.cancel()
    }
  })

  it('refuses a bad topic, a bad Last-Event-ID and an unknown parameter with 400 JSON naming the field', async () => {
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      [
        '/v1/events?topic=members,nope',
        {},
        /^querystring\.topic: "nope" is not a topic: use members, leader, voters, tasks, drain$/,
      ],
      ['/v1/events?topic=', {}, /^querystring\.topic: "" is not a topic/],
      ['/v1/events', { 'last-event-id': 'yesterday' }, /^headers\.last-event-id: must be an event id/],
      ['/v1/events?lastEventId=3', {}, /^querystring\.lastEventId: must be an event id/],
      ['/v1/events?topics=tasks', {}, /^querystring\.topics: is not a known parameter/],
    ]
    for (const [path, headers, message] of cases) {
      const res = await fetch(s.url + path, { headers })
      assert.equal(res.status, 400, path)
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
      const body = (await res.json()) as { error: { code: string; message: string } }
      assert.equal(body.error.code, 'invalid_request', path)
      assert.match(body.error.message, message, path)
    }
    assert.equal(s.hub.subscriberCount, 0)
  })

  it('writes a keep-alive comment every keepAliveMs while nothing happens', async () => {
    await shut(s)
    s = await serve({ keepAliveMs: 40 })
    const stream = await open(s)
    const text = await stream.until('two keep-alives', t => t.split(': keep-alive\n\n').length >= 3)
    assert.equal(text.replace(/: keep-alive\n\n/g, ''), `retry: ${DEFAULT_EVENTS.retryMs}\n\n`)
    await stream.cancel()
  })

  it('drops a client that does not read once it falls out of the buffer, after a resync notice, without buffering for it', async function () {
    await shut(s)
    s = await serve({ replayEvents: 20, keepAliveMs: 60_000 })
    const socket = net.connect(s.port, '127.0.0.1')
    await new Promise<void>(resolve => socket.once('connect', resolve))
    socket.write('GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    // Not reading: the kernel's buffers fill, then the server's socket stops taking data.
    socket.pause()
    await waitFor('the subscription', async () => s.hub.subscriberCount === 1, READ_BOUND_MS)
    const reason = 'x'.repeat(16 * 1024)
    let published = 0
    // Bounded: loopback buffers hold a few MiB; 256 MiB would mean the server buffers for the client.
    while (s.hub.subscriberCount > 0) {
      assert.ok(published < 256 * 1024 * 1024, 'the client was never dropped')
      for (let i = 0; i < 16; i++) published += JSON.stringify(s.hub.publish(member('n', reason))).length
      await new Promise(resolve => setImmediate(resolve))
    }
    const chunks: Buffer[] = []
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.resume()
    await new Promise<void>((resolve, reject) => {
      socket.once('end', resolve)
      socket.once('error', reject)
    })
    const raw = Buffer.concat(chunks).toString()
    assert.ok(raw.length < published, `the client got ${raw.length} bytes of ${published} published`)
    const body = raw.slice(raw.indexOf('\r\n\r\n') + 4)
    const last = messagesIn(body.replace(/\r\n[0-9a-f]+\r\n/g, '')).at(-1)
    assert.equal(last?.event, 'resync')
    assert.equal((last.data as { reason: string }).reason, 'slow_consumer')
    assert.equal(last.id, s.hub.headId)
    socket.destroy()
  })

  it('ends every stream cleanly when the node stops, and when the server closes', async () => {
    const first = await open(s)
    await waitFor('the subscription', async () => s.hub.subscriberCount === 1, READ_BOUND_MS)
    s.hub.close()
    await first.end()
    const second = await open(s, '/v1/events')
    await second.end()

    await shut(s)
    s = await serve()
    const third = await open(s)
    await waitFor('the subscription', async () => s.hub.subscriberCount === 1, READ_BOUND_MS)
    const closing = s.app.close()
    await third.end()
    await closing
    s = await serve()
  })

  it('is behind the access rules like every route: token, Origin, Host', async () => {
    const token = 'k3J9vQ2xL8mN4pR7sT1wY5zA6bC0dE2fG4hI6jK8lM0'
    await shut(s)
    s = await serve({}, { token })
    const denied = await s.app.inject({ url: '/v1/events', headers: { host: '127.0.0.1:7070' } })
    assert.equal(denied.statusCode, 401)
    assert.equal((denied.json() as { error: { code: string } }).error.code, 'unauthorized')
    const auth = { authorization: `Bearer ${token}` }
    const foreign = await s.app.inject({
      url: '/v1/events',
      headers: { ...auth, host: '127.0.0.1:7070', origin: 'http://evil.example' },
    })
    assert.equal(foreign.statusCode, 403)
    const rebound = await s.app.inject({ url: '/v1/events', headers: { ...auth, host: 'evil.example:7070' } })
    assert.equal(rebound.statusCode, 421)
    assert.equal(s.hub.subscriberCount, 0)
    const allowed = await open(s, '/v1/events', auth)
    await waitFor('the subscription', async () => s.hub.subscriberCount === 1, READ_BOUND_MS)
    await allowed.cancel()
  })

  describe('the client iterator', () => {
    it('yields typed events and stops without error when its signal aborts', async () => {
      const stop = new AbortController()
      const client = new MeshClient(s.url)
      const { got, done } = collect(client.events({ topics: ['tasks'], signal: stop.signal }))
      await waitFor('the subscription', async () => s.hub.subscriberCount === 1, READ_BOUND_MS)
      s.hub.publish(member('n1'))
      const t = s.hub.publish(task('t1'))
      await waitFor('the task event', async () => got.length === 1, READ_BOUND_MS)
      const [item] = got
      assert.ok(item?.kind === 'event' && item.event.topic === 'tasks')
      assert.equal(item.event.data.to, 'succeeded')
      assert.deepEqual(item.event, t)
      stop.abort()
      assert.equal(await done, null)
      await waitFor('the subscription to go', async () => s.hub.subscriberCount === 0, READ_BOUND_MS)
    })

    it('resumes a dropped connection after the last event it saw, missing nothing', async () => {
      const sockets = new Set<net.Socket>()
      s.app.server.on('connection', (socket: net.Socket) => sockets.add(socket))
      const stop = new AbortController()
      const { got, done } = collect(new MeshClient(s.url).events({ signal: stop.signal }))
      await waitFor('the subscription', async () => s.hub.subscriberCount === 1, READ_BOUND_MS)
      s.hub.publish(member('n1'))
      s.hub.publish(member('n2'))
      await waitFor('two events', async () => got.length === 2, READ_BOUND_MS)
      for (const socket of sockets) socket.destroy()
      await waitFor('the drop to be seen', async () => s.hub.subscriberCount === 0, READ_BOUND_MS)
      // Published while the client is away: replayed when it comes back.
      s.hub.publish(member('n3'))
      await waitFor('the reconnection', async () => s.hub.subscriberCount === 1, READ_BOUND_MS)
      s.hub.publish(member('n4'))
      await waitFor('four events', async () => got.length === 4, READ_BOUND_MS)
      assert.deepEqual(eventIds(got), ['3-1', '3-2', '3-3', '3-4'])
      assert.deepEqual(s.lastEventIds, [undefined, '3-2'])
      stop.abort()
      assert.equal(await done, null)
    })

    it('surfaces a resync notice, and resumes from an id given by the caller', async () => {
      await shut(s)
      s = await serve({ replayEvents: 2 })
      for (let i = 1; i <= 4; i++) s.hub.publish(member(`n${i}`))
      const stop = new AbortController()
      const client = new MeshClient(s.url)
      const behind = collect(client.events({ lastEventId: '3-1', signal: stop.signal }))
      const resumed = collect(client.events({ lastEventId: '3-3', signal: stop.signal }))
      await waitFor('both streams', async () => behind.got.length === 1 && resumed.got.length === 1, READ_BOUND_MS)
      assert.deepEqual(eventIds(behind.got), ['resync:too_far_behind'])
      assert.deepEqual(eventIds(resumed.got), ['3-4'])
      stop.abort()
      await behind.done
      await resumed.done
    })

    it('throws MeshosApiError for a refused request instead of retrying, and gives up on a node that is gone', async () => {
      const client = new MeshClient(s.url)
      const refused = await collect(client.events({ topics: ['nope' as 'tasks'] })).done
      assert.ok(refused instanceof MeshosApiError, String(refused))
      assert.equal(refused.status, 400)
      assert.equal(refused.code, 'invalid_request')
      assert.deepEqual(s.lastEventIds, [undefined])

      const { got, done } = collect(client.events({ maxRetries: 2 }))
      await waitFor('the subscription', async () => s.hub.subscriberCount === 1, READ_BOUND_MS)
      s.hub.publish(member('n1'))
      await waitFor('the event', async () => got.length === 1, READ_BOUND_MS)
      await shut(s)
      const err = await done
      assert.ok(err instanceof MeshosUnreachableError, String(err))
      assert.match(err.message, /2 reconnections failed/)
      s = await serve()
    })
  })
})
