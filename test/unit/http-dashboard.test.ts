// The dashboard's page and files as the node serves them (src/http/routes/dashboard.ts): from
// dist/dashboard, with a CSP that allows only the node's own scripts, revalidated by ETag, open
// without the bearer token while the API behind them is not, and behind the Host and Origin rules
// like every route. Unknown files are 404 JSON errors.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import Fastify from 'fastify'
import { pino } from 'pino'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { buildHttpApp } from '../../src/http/app.js'
import type { HttpAccessConfig } from '../../src/http/config.js'
import type { NodeApi } from '../../src/http/node-api.js'
import { makeErrorHandler } from '../../src/http/errors.js'
import { DASHBOARD_CSP, dashboardRoutes } from '../../src/http/routes/dashboard.js'
import { loadDashboardAssets } from '../../src/http/dashboard-assets.js'

const TOKEN = 'k3J9vQ2xL8mN4pR7sT1wY5zA6bC0dE2fG4hI6jK8lM0'
const silent = pino({ level: 'silent' })
const HOST = { host: '127.0.0.1:7070' }

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
} as unknown as NodeApi

function appWith(access: Partial<HttpAccessConfig> = {}) {
  return buildHttpApp(fakeNode, silent, { host: '127.0.0.1', port: 7070, token: null, refusedUids: [], ...access })
}

function assertError(
  res: { statusCode: number; json: () => unknown },
  status: number,
  code: string,
  message: RegExp,
): void {
  assert.equal(res.statusCode, status)
  const body = res.json() as { error: { code: string; message: string } }
  assert.equal(body.error.code, code)
  assert.match(body.error.message, message)
}

describe('dashboard files', () => {
  const app = appWith()
  after(async () => {
    await app.close()
  })

  it('serves the page with its CSP and no inline script, and its script, style and icon beside it', async () => {
    const page = await app.inject({ method: 'GET', url: '/', headers: HOST })
    assert.equal(page.statusCode, 200, page.body)
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8')
    assert.equal(page.headers['content-security-policy'], DASHBOARD_CSP)
    assert.match(DASHBOARD_CSP, /script-src 'self'(;|$)/)
    assert.match(DASHBOARD_CSP, /frame-ancestors 'none'/)
    assert.equal(page.headers['x-content-type-options'], 'nosniff')
    const scripts = [...page.body.matchAll(/<script\b([^>]*)>/g)].map(m => m[1]!)
    assert.deepEqual(scripts, [' type="module" src="ui/dashboard.js"'])
    assert.doesNotMatch(page.body, /https?:\/\//, 'the page names nothing outside the node')
    for (const [file, type] of [
      ['dashboard.js', 'text/javascript; charset=utf-8'],
      ['dashboard.css', 'text/css; charset=utf-8'],
      ['icon.svg', 'image/svg+xml'],
    ] as const) {
      const res = await app.inject({ method: 'GET', url: `/ui/${file}`, headers: HOST })
      assert.equal(res.statusCode, 200, file)
      assert.equal(res.headers['content-type'], type)
      assert.equal(res.headers['content-security-policy'], DASHBOARD_CSP)
      assert.ok(res.body.length > 0)
    }
    const css = await app.inject({ method: 'GET', url: '/ui/dashboard.css', headers: HOST })
    assert.doesNotMatch(css.body, /@import|url\(\s*['"]?https?:/, 'the style sheet loads nothing from outside')
  })

  it('answers 304 to a matching If-None-Match, and the whole file to a stale one', async () => {
    const first = await app.inject({ method: 'GET', url: '/ui/dashboard.js', headers: HOST })
    const etag = String(first.headers.etag)
    assert.match(etag, /^"[\w-]{22}"$/)
    const again = await app.inject({
      method: 'GET',
      url: '/ui/dashboard.js',
      headers: { ...HOST, 'if-none-match': etag },
    })
    assert.equal(again.statusCode, 304)
    assert.equal(again.body, '')
    const stale = await app.inject({
      method: 'GET',
      url: '/ui/dashboard.js',
      headers: { ...HOST, 'if-none-match': '"old"' },
    })
    assert.equal(stale.statusCode, 200)
    assert.equal(stale.body, first.body)
  })

  it('answers 404 not_found naming a file it does not have, however the name is spelt', async () => {
    for (const url of ['/ui/nope.js', '/ui/..%2Fpackage.json', '/ui/index.html', '/ui/'])
      assertError(
        await app.inject({ method: 'GET', url, headers: HOST }),
        404,
        'not_found',
        /no dashboard file|no route/,
      )
    assertError(
      await app.inject({ method: 'GET', url: '/ui/nope.js', headers: HOST }),
      404,
      'not_found',
      /^no dashboard file nope\.js$/,
    )
  })

  it('keeps the Host and Origin rules: another Host is refused, a page of another site may only navigate here', async () => {
    assertError(
      await app.inject({ method: 'GET', url: '/', headers: { host: 'attacker.example:7070' } }),
      421,
      'misdirected_request',
      /attacker\.example/,
    )
    const navigate = { ...HOST, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }
    assert.equal((await app.inject({ method: 'GET', url: '/', headers: navigate })).statusCode, 200)
    assertError(
      await app.inject({
        method: 'GET',
        url: '/ui/dashboard.js',
        headers: { ...HOST, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' },
      }),
      403,
      'forbidden_origin',
      /Sec-Fetch-Site "cross-site"/,
    )
  })

  it('serves the page and its files without the bearer token; the API behind them still needs it', async () => {
    const guarded = appWith({ token: TOKEN })
    try {
      for (const url of ['/', '/ui/dashboard.js', '/ui/dashboard.css'])
        assert.equal((await guarded.inject({ method: 'GET', url, headers: HOST })).statusCode, 200, url)
      assertError(
        await guarded.inject({ method: 'GET', url: '/v1/status', headers: HOST }),
        401,
        'unauthorized',
        /bearer token/,
      )
      assertError(
        await guarded.inject({ method: 'GET', url: '/v1/events', headers: HOST }),
        401,
        'unauthorized',
        /bearer token/,
      )
      // Only reads are open: a write to the page's path needs the token like any other.
      assertError(
        await guarded.inject({
          method: 'POST',
          url: '/',
          headers: { ...HOST, 'content-type': 'application/json' },
          payload: '{}',
        }),
        401,
        'unauthorized',
        /bearer token/,
      )
      const ok = await guarded.inject({
        method: 'GET',
        url: '/v1/status',
        headers: { ...HOST, authorization: `Bearer ${TOKEN}` },
      })
      assert.equal(ok.statusCode, 200)
    } finally {
      await guarded.close()
    }
  })

  it('says the dashboard is not built when dist/ has no page', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'meshos-dashboard-'))
    try {
      assert.equal(loadDashboardAssets(dir), null)
      await writeFile(path.join(dir, 'index.html'), '<!doctype html>')
      await writeFile(path.join(dir, 'notes.txt'), 'not served')
      const assets = loadDashboardAssets(dir)
      assert.deepEqual([...(assets?.files.keys() ?? [])], [])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    const bare = Fastify().withTypeProvider<ZodTypeProvider>()
    bare.setValidatorCompiler(validatorCompiler)
    bare.setSerializerCompiler(serializerCompiler)
    bare.setErrorHandler(makeErrorHandler(silent))
    dashboardRoutes(bare, null)
    try {
      assertError(await bare.inject({ method: 'GET', url: '/' }), 404, 'not_found', /not built .*npm run build/)
      assertError(await bare.inject({ method: 'GET', url: '/ui/dashboard.js' }), 404, 'not_found', /not built/)
    } finally {
      await bare.close()
    }
  })
})
