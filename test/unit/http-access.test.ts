// The access rules of the HTTP API (src/http/access.ts): DNS rebinding, foreign origins, content
// types, the bearer token and body size, each answered with a 4xx JSON error while the app keeps
// serving. In-process through inject(), and over raw sockets to a listening server where the
// wire matters (Expect: 100-continue, a request without Host).
import assert from 'node:assert/strict'
import net from 'node:net'
import os from 'node:os'
import { pino } from 'pino'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { buildHttpApp } from '../../src/http/app.js'
import { SocketListings, ownerIn } from '../../src/http/socket-owner.js'
import { HTTP_LIMITS, type HttpAccessConfig } from '../../src/http/config.js'
import type { NodeApi } from '../../src/http/node-api.js'
import type { TaskSubmission } from '../../src/tasks/task-service.js'

const TOKEN = 'k3J9vQ2xL8mN4pR7sT1wY5zA6bC0dE2fG4hI6jK8lM0'

/** Every submission that reached the task service. */
const submissions: TaskSubmission[] = []

// Only what the routes used here need.
const fakeNode = {
  status: () => ({
    nodeId: 'n1',
    name: 'n1',
    version: 'test',
    addrs: [],
    uptimeMs: 1,
    role: null,
    leader: null,
    term: null,
  }),
  metricsText: async () => ({ contentType: 'text/plain', body: 'meshos_members 1\n' }),
  kvPut: async (key: string, value: string) => ({ key, value, index: 1, term: 1 }),
  tasks: {
    submit: async (submission: TaskSubmission) => {
      submissions.push(submission)
      return { id: 't1', state: 'pending' }
    },
  },
} as unknown as NodeApi

const silent = pino({ level: 'silent' })
const spec = { command: 'true' }

function appWith(access: Partial<HttpAccessConfig> = {}): FastifyInstance {
  return buildHttpApp(fakeNode, silent, { host: '127.0.0.1', port: 7070, token: null, refusedUids: [], ...access })
}

function assertRefused(
  res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown },
  status: number,
  code: string,
  message?: RegExp,
): void {
  assert.equal(res.statusCode, status, JSON.stringify(res.json()))
  assert.match(String(res.headers['content-type']), /^application\/json/)
  const body = res.json() as { error: { code: string; message: string } }
  assert.deepEqual(Object.keys(body), ['error'])
  assert.equal(body.error.code, code)
  if (message !== undefined) assert.match(body.error.message, message)
}

/** A submission as curl or the CLI sends it; `headers` replace or add to the defaults. */
function submit(headers: Record<string, string> = {}, payload: string = JSON.stringify(spec)): InjectOptions {
  return {
    method: 'POST',
    url: '/v1/tasks',
    headers: { host: '127.0.0.1:7070', 'content-type': 'application/json', ...headers },
    payload,
  }
}

/** The app still answers a proper request after a refusal. */
async function stillServes(app: FastifyInstance, headers: Record<string, string> = {}): Promise<void> {
  const before = submissions.length
  const res = await app.inject(submit(headers))
  assert.equal(res.statusCode, 201, res.body)
  assert.equal(submissions.length, before + 1)
}

describe('HTTP API access rules', () => {
  describe('Host (DNS rebinding)', () => {
    const app = appWith()
    after(async () => {
      await app.close()
    })

    const refusedHosts = [
      'evil.example:7070',
      'evil.example',
      'attacker.localhost:7070',
      'localhost.:7070',
      'evil@127.0.0.1:7070',
      '127.0.0.1:7070/x',
      '192.0.2.77:7070',
      '[::2]:7070',
    ]
    for (const host of refusedHosts) {
      it(`refuses Host ${host} with 421 naming it, before the route runs`, async () => {
        const before = submissions.length
        const res = await app.inject(submit({ host }))
        assertRefused(res, 421, 'misdirected_request', new RegExp(`^Host "${host.replace(/[.[\]/]/g, '\\$&')}"`))
        assert.equal(submissions.length, before, 'nothing reached the task service')
        await stillServes(app)
      })
    }

    it('refuses a foreign Host on reads and on unknown routes too', async () => {
      for (const url of ['/v1/status', '/v1/health', '/metrics', '/v1/nope']) {
        assertRefused(await app.inject({ url, headers: { host: 'evil.example:7070' } }), 421, 'misdirected_request')
      }
    })

    it('answers loopback names, on any port (a forward such as ssh -L)', async () => {
      for (const host of [
        '127.0.0.1:7070',
        'localhost:7070',
        'LOCALHOST:7070',
        '[::1]:7070',
        '127.3.2.1:9',
        'localhost:9000',
      ]) {
        const res = await app.inject({ url: '/v1/status', headers: { host } })
        assert.equal(res.statusCode, 200, host)
      }
    })

    it('answers the address it is bound to, only with its port', async () => {
      const bound = appWith({ host: '192.0.2.10', port: 7070, token: TOKEN })
      const auth = { authorization: `Bearer ${TOKEN}` }
      try {
        assert.equal(
          (await bound.inject({ url: '/v1/status', headers: { ...auth, host: '192.0.2.10:7070' } })).statusCode,
          200,
        )
        for (const host of ['192.0.2.10:7071', '192.0.2.10', '192.0.2.11:7070'])
          assertRefused(
            await bound.inject({ url: '/v1/status', headers: { ...auth, host } }),
            421,
            'misdirected_request',
          )
      } finally {
        await bound.close()
      }
    })

    it('bound to a wildcard, answers the addresses of the machine’s interfaces', async () => {
      const wildcard = appWith({ host: '0.0.0.0', port: 7070, token: TOKEN })
      const auth = { authorization: `Bearer ${TOKEN}` }
      const mine = Object.values(os.networkInterfaces())
        .flat()
        .filter(a => a !== undefined && !a.internal && !a.address.includes('%'))
        .map(a => (a!.family === 'IPv6' ? `[${a!.address}]` : a!.address))
      try {
        for (const addr of mine) {
          const res = await wildcard.inject({ url: '/v1/status', headers: { ...auth, host: `${addr}:7070` } })
          assert.equal(res.statusCode, 200, addr)
        }
        // 0.0.0.0 reaches this machine's services from a browser too, but is not one of its addresses.
        for (const host of ['203.0.113.9:7070', '0.0.0.0:7070', '[::]:7070'])
          assertRefused(
            await wildcard.inject({ url: '/v1/status', headers: { ...auth, host } }),
            421,
            'misdirected_request',
          )
        assertRefused(
          await wildcard.inject({ url: '/v1/status', headers: { ...auth, host: 'evil.example:7070' } }),
          421,
          'misdirected_request',
        )
      } finally {
        await wildcard.close()
      }
    })
  })

  describe('Origin and Sec-Fetch-Site (pages of other origins)', () => {
    const app = appWith()
    after(async () => {
      await app.close()
    })

    for (const origin of [
      'http://evil.example',
      'null',
      'http://localhost:7070',
      'https://127.0.0.1:7070',
      'http://127.0.0.1:7071',
      'http://127.0.0.1:7070/x',
    ]) {
      it(`refuses Origin ${origin} (Host 127.0.0.1:7070) with 403`, async () => {
        const before = submissions.length
        assertRefused(await app.inject(submit({ origin })), 403, 'forbidden_origin', /^Origin "/)
        assertRefused(
          await app.inject({ url: '/v1/status', headers: { host: '127.0.0.1:7070', origin } }),
          403,
          'forbidden_origin',
        )
        assert.equal(submissions.length, before)
        await stillServes(app)
      })
    }

    it('a browser preflight from another origin gets no CORS grant', async () => {
      const res = await app.inject({
        method: 'OPTIONS',
        url: '/v1/tasks',
        headers: { host: '127.0.0.1:7070', origin: 'http://evil.example', 'access-control-request-method': 'POST' },
      })
      assertRefused(res, 403, 'forbidden_origin')
      assert.equal(res.headers['access-control-allow-origin'], undefined)
    })

    it("answers the node's own origin (a dashboard it serves)", async () => {
      await stillServes(app, { origin: 'http://127.0.0.1:7070', 'sec-fetch-site': 'same-origin' })
      await stillServes(app, { host: 'localhost:7070', origin: 'http://localhost:7070' })
    })

    it('refuses a write made for a page of another site, even without Origin', async () => {
      for (const site of ['cross-site', 'same-site']) {
        assertRefused(await app.inject(submit({ 'sec-fetch-site': site })), 403, 'forbidden_origin', /Sec-Fetch-Site/)
        const put = await app.inject({
          method: 'PUT',
          url: '/v1/kv/k',
          headers: { host: '127.0.0.1:7070', 'sec-fetch-site': site, 'content-type': 'application/json' },
          payload: '{"value":"x"}',
        })
        assertRefused(put, 403, 'forbidden_origin')
        await stillServes(app)
      }
    })

    it('lets another site navigate to a page here, but not load it into its own', async () => {
      const headers = { host: '127.0.0.1:7070', 'sec-fetch-site': 'cross-site' }
      const navigate = await app.inject({ url: '/v1/status', headers: { ...headers, 'sec-fetch-mode': 'navigate' } })
      assert.equal(navigate.statusCode, 200)
      assertRefused(
        await app.inject({ url: '/v1/status', headers: { ...headers, 'sec-fetch-mode': 'no-cors' } }),
        403,
        'forbidden_origin',
      )
    })
  })

  describe('content type', () => {
    const app = appWith()
    after(async () => {
      await app.close()
    })

    const refusedTypes: Array<[string, string]> = [
      ['text/plain', JSON.stringify(spec)],
      ['text/plain; charset=utf-8', 'command=true'],
      ['application/x-www-form-urlencoded', 'command=true'],
      [
        'multipart/form-data; boundary=b',
        '--b\r\nContent-Disposition: form-data; name="command"\r\n\r\ntrue\r\n--b--\r\n',
      ],
      ['application/json; charset=latin1', JSON.stringify(spec)],
      ['application/jsonp', JSON.stringify(spec)],
    ]
    for (const [type, payload] of refusedTypes) {
      it(`refuses a ${type} body with 415, before parsing it`, async () => {
        const before = submissions.length
        const res = await app.inject(submit({ 'content-type': type }, payload))
        assertRefused(res, 415, 'unsupported_media_type', new RegExp(`content-type "${type.split(';')[0]}`))
        assert.equal(submissions.length, before)
        await stillServes(app)
      })
    }

    it('refuses a body without a content type', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/tasks',
        headers: { host: '127.0.0.1:7070', 'content-length': '16' },
        payload: JSON.stringify(spec),
      })
      assertRefused(res, 415, 'unsupported_media_type', /needs content-type: application\/json/)
    })

    it('takes application/json with or without a UTF-8 charset', async () => {
      await stillServes(app, { 'content-type': 'application/json; charset=utf-8' })
      await stillServes(app, { 'content-type': 'Application/JSON; charset="UTF-8"' })
    })
  })

  describe('bearer token', () => {
    const app = appWith({ token: TOKEN })
    after(async () => {
      await app.close()
    })

    const wrong: Array<[string, Record<string, string>, RegExp]> = [
      ['no Authorization', {}, /needs its bearer token/],
      ['a wrong token', { authorization: `Bearer ${TOKEN.slice(0, -1)}x` }, /not this node's/],
      ['a shorter token', { authorization: `Bearer ${TOKEN.slice(0, 10)}` }, /not this node's/],
      ['a longer token', { authorization: `Bearer ${TOKEN}x` }, /not this node's/],
      ['another scheme', { authorization: `Basic ${TOKEN}` }, /not this node's/],
      ['an empty token', { authorization: 'Bearer ' }, /not this node's/],
    ]
    for (const [what, headers, message] of wrong) {
      it(`answers ${what} with 401 and a Bearer challenge`, async () => {
        const before = submissions.length
        const res = await app.inject(submit(headers))
        assertRefused(res, 401, 'unauthorized', message)
        assert.match(String(res.headers['www-authenticate']), /^Bearer realm="meshos"/)
        assert.equal(submissions.length, before)
        for (const url of ['/v1/status', '/metrics', '/v1/no-such-route'])
          assertRefused(await app.inject({ url, headers: { host: '127.0.0.1:7070', ...headers } }), 401, 'unauthorized')
        await stillServes(app, { authorization: `Bearer ${TOKEN}` })
      })
    }

    it('answers the right token, whatever the case of the scheme', async () => {
      await stillServes(app, { authorization: `bearer ${TOKEN}` })
      const res = await app.inject({
        url: '/metrics',
        headers: { host: '127.0.0.1:7070', authorization: `Bearer ${TOKEN}` },
      })
      assert.equal(res.statusCode, 200)
      assert.match(res.body, /meshos_members/)
    })

    it('answers GET /v1/health without a token (load balancer probes), but not with a foreign Host', async () => {
      const res = await app.inject({ url: '/v1/health', headers: { host: '127.0.0.1:7070' } })
      assert.equal(res.statusCode, 200)
      assert.deepEqual(res.json(), { status: 'ok' })
      assertRefused(
        await app.inject({ url: '/v1/health', headers: { host: 'evil.example:7070' } }),
        421,
        'misdirected_request',
      )
    })

    it('checks Host and Origin before the token, so a page learns nothing more with one', async () => {
      const auth = { authorization: `Bearer ${TOKEN}` }
      assertRefused(await app.inject(submit({ ...auth, host: 'evil.example:7070' })), 421, 'misdirected_request')
      assertRefused(await app.inject(submit({ ...auth, origin: 'http://evil.example' })), 403, 'forbidden_origin')
    })
  })

  describe('body size', () => {
    const app = appWith()
    after(async () => {
      await app.close()
    })

    it('refuses a body over the limit with 413 and closes the connection', async () => {
      const before = submissions.length
      const res = await app.inject(submit({}, `[${' '.repeat(HTTP_LIMITS.bodyBytes)}]`))
      assertRefused(res, 413, 'payload_too_large', new RegExp(`over the limit of ${HTTP_LIMITS.bodyBytes} bytes`))
      assert.equal(res.headers.connection, 'close')
      assert.equal(submissions.length, before)
      await stillServes(app)
    })
  })

  describe('the user tasks run as', () => {
    it('finds the owner of the client end of a connection in a /proc/net/tcp listing', () => {
      const listing = [
        '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
        // The server's end (127.0.0.1:7070 ← :51000), owned by the agent (root).
        '   0: 0100007F:1B9E 0100007F:C738 01 00000000:00000000 00:00000000 00000000     0        0 811 1 0 20 4 30 10 -1',
        // The client's end (127.0.0.1:51000 → :7070), owned by nobody.
        '   1: 0100007F:C738 0100007F:1B9E 01 00000000:00000000 00:00000000 00000000 65534        0 812 1 0 20 4 30 10 -1',
      ].join('\n')
      assert.equal(ownerIn(listing, '127.0.0.1', 51000, 7070), 65534)
      assert.equal(ownerIn(listing, '127.0.0.1', 51001, 7070), null)
      assert.equal(ownerIn(listing, '10.0.0.5', 51000, 7070), null, 'another client address')
    })

    it('shares one read of the listings among the connections that asked before it started', async () => {
      const reads: Array<() => void> = []
      let started = 0
      const listings = new SocketListings(async file => {
        const n = ++started
        await new Promise<void>(resolve => reads.push(resolve))
        return `${file} read ${n}`
      })
      const first = listings.current()
      // Both asked while the first read is under way: it may miss their sockets, so they share the next.
      const second = listings.current()
      const third = listings.current()
      await new Promise(resolve => setImmediate(resolve))
      assert.equal(reads.length, 2, 'one read per listing file, not one per connection')
      for (const finish of reads.splice(0)) finish()
      assert.deepEqual(await first, ['/proc/net/tcp read 1', '/proc/net/tcp6 read 2'])
      await new Promise(resolve => setImmediate(resolve))
      assert.equal(reads.length, 2, 'the two waiting connections share the next read')
      for (const finish of reads.splice(0)) finish()
      assert.deepEqual(await second, ['/proc/net/tcp read 3', '/proc/net/tcp6 read 4'])
      assert.deepEqual(await third, await second)
    })

    it("refuses connections owned by a refused local uid (found in /proc/net/tcp), not others'", async function () {
      const uid = process.getuid?.()
      if (uid === undefined) this.skip()
      for (const [refusedUids, status] of [
        [[uid!], 403],
        [[uid! + 1], 200],
      ] as const) {
        const app = appWith({ port: 0, refusedUids })
        await app.listen({ host: '127.0.0.1', port: 0 })
        try {
          const port = (app.server.address() as net.AddressInfo).port
          const res = await fetch(`http://127.0.0.1:${port}/v1/status`)
          assert.equal(res.status, status, `refused ${refusedUids.join(',')}`)
          if (status === 403)
            assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'forbidden_client')
        } finally {
          await app.close()
        }
      }
    })
  })

  describe('on the wire', () => {
    let app: FastifyInstance
    let port = 0
    before(async () => {
      app = appWith({ port: 0 })
      await app.listen({ host: '127.0.0.1', port: 0 })
      port = (app.server.address() as net.AddressInfo).port
    })
    after(async () => {
      await app.close()
    })

    it('answers an oversize Expect: 100-continue request with 413 before the body is sent', async () => {
      const conn = await RawConnection.open(port)
      conn.write(
        `POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${HTTP_LIMITS.bodyBytes + 1}\r\nExpect: 100-continue\r\n\r\n`,
      )
      const res = await conn.response()
      assert.equal(res.status, 413, res.raw)
      assert.equal(conn.sawContinue, false, 'no 100 Continue was sent')
      assert.equal(res.json.error.code, 'payload_too_large')
      await conn.closedByServer()
      await stillServesOverHttp(port)
    })

    it('answers a misdirected or unauthorized Expect: 100-continue request before the body too', async () => {
      const tokenApp = appWith({ port: 0, token: TOKEN })
      await tokenApp.listen({ host: '127.0.0.1', port: 0 })
      const tokenPort = (tokenApp.server.address() as net.AddressInfo).port
      try {
        for (const [target, headers, status] of [
          [port, `Host: evil.example:${port}\r\n`, 421],
          [tokenPort, `Host: 127.0.0.1:${tokenPort}\r\n`, 401],
        ] as const) {
          const conn = await RawConnection.open(target)
          conn.write(
            `POST /v1/tasks HTTP/1.1\r\n${headers}Content-Type: application/json\r\nContent-Length: 18\r\nExpect: 100-continue\r\n\r\n`,
          )
          const res = await conn.response()
          assert.equal(res.status, status, res.raw)
          assert.equal(conn.sawContinue, false)
          await conn.closedByServer()
        }
      } finally {
        await tokenApp.close()
      }
    })

    it('sends 100 Continue to an acceptable Expect request, then takes its body', async () => {
      const before = submissions.length
      const body = JSON.stringify(spec)
      const conn = await RawConnection.open(port)
      conn.write(
        `POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
      )
      await conn.continued()
      conn.write(body)
      const res = await conn.response()
      assert.equal(res.status, 201, res.raw)
      assert.equal(submissions.length, before + 1)
      conn.destroy()
    })

    it('refuses a chunked body (no Content-Length) once it grows over the limit', async () => {
      const conn = await RawConnection.open(port)
      conn.write(
        `POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      )
      const chunk = ' '.repeat(1024 * 1024)
      for (let sent = 0; sent <= HTTP_LIMITS.bodyBytes && !conn.closed; sent += chunk.length)
        conn.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)
      const res = await conn.response()
      assert.equal(res.status, 413, res.raw.slice(0, 300))
      assert.equal(res.json.error.code, 'payload_too_large')
      conn.destroy()
      await stillServesOverHttp(port)
    })

    it('answers any other expectation with 417 JSON', async () => {
      const conn = await RawConnection.open(port)
      conn.write(`GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nExpect: 200-ok\r\n\r\n`)
      const res = await conn.response()
      assert.equal(res.status, 417)
      assert.equal(res.json.error.code, 'expectation_failed')
      await conn.closedByServer()
      await stillServesOverHttp(port)
    })

    it('refuses an HTTP/1.0 request without Host (it could be for any name)', async () => {
      const conn = await RawConnection.open(port)
      conn.write('GET /v1/status HTTP/1.0\r\n\r\n')
      const res = await conn.response()
      assert.equal(res.status, 421, res.raw)
      assert.equal(res.json.error.code, 'misdirected_request')
      assert.match(res.json.error.message, /no Host header/)
      await conn.closedByServer()
      await stillServesOverHttp(port)
    })
  })
})

async function stillServesOverHttp(port: number): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/status`)
  assert.equal(res.status, 200)
}

interface RawResponse {
  status: number
  raw: string
  json: { error: { code: string; message: string } }
}

/** One TCP connection speaking HTTP by hand: what is sent and when is exactly what the test says. */
class RawConnection {
  private data = ''
  private ended = false
  private waiters: Array<() => void> = []

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.data += d.toString('latin1')
      this.wake()
    })
    socket.on('close', () => {
      this.ended = true
      this.wake()
    })
    socket.on('error', () => {})
  }

  static async open(port: number): Promise<RawConnection> {
    const socket = net.connect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve).once('error', reject)
    })
    return new RawConnection(socket)
  }

  get closed(): boolean {
    return this.ended
  }

  get sawContinue(): boolean {
    return this.data.startsWith('HTTP/1.1 100')
  }

  write(text: string): void {
    this.socket.write(text)
  }

  destroy(): void {
    this.socket.destroy()
  }

  async continued(): Promise<void> {
    await this.until(() => this.data.startsWith('HTTP/1.1 100 Continue\r\n\r\n'))
  }

  /** The first final (non-1xx) response, whole. */
  async response(): Promise<RawResponse> {
    let parsed: RawResponse | null = null
    await this.until(() => (parsed = this.parse()) !== null)
    return parsed!
  }

  async closedByServer(): Promise<void> {
    await this.until(() => this.ended)
  }

  private parse(): RawResponse | null {
    const text = this.data.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '')
    const end = text.indexOf('\r\n\r\n')
    if (end < 0) return null
    const head = text.slice(0, end)
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? NaN)
    const body = text.slice(end + 4)
    if (Number.isNaN(length) ? !this.ended : body.length < length) return null
    return {
      status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]),
      raw: text,
      json: JSON.parse(Number.isNaN(length) ? body : body.slice(0, length)),
    }
  }

  private async until(done: () => boolean): Promise<void> {
    while (!done()) {
      if (this.ended) throw new Error(`connection closed; received: ${this.data.slice(0, 500)}`)
      await new Promise<void>(resolve => this.waiters.push(resolve))
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }
}
