// The live dashboard: the page at / and its files under /ui/, all from this node (no CDN, no web
// fonts). They hold no data, so they are served without the bearer token (the page asks for it
// and sends it with every API call); the Host and Origin rules apply as everywhere. The CSP lets
// the page run only its own scripts and talk only to this node.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { NotFoundError } from '../errors.js'
import type { HttpApp } from '../schemas.js'
import { loadDashboardAssets, type Asset, type DashboardAssets } from '../dashboard-assets.js'

/** Routes the access rules serve without the bearer token (src/http/access.ts). */
export const DASHBOARD_ROUTES = ['/', '/ui/:file'] as const

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  // Revalidated on every load (a 304 when unchanged), so an upgraded node serves its new page.
  'cache-control': 'no-cache',
}

const assetParams = z.object({ file: z.string() })

export function dashboardRoutes(app: HttpApp, assets: DashboardAssets | null = loadDashboardAssets()): void {
  const notBuilt = (): never => {
    throw new NotFoundError('the dashboard is not built (no dist/dashboard): run npm run build')
  }
  app.get('/', async (req, reply) => (assets === null ? notBuilt() : await send(req, reply, assets.page)))
  app.get('/ui/:file', { schema: { params: assetParams } }, async (req, reply) => {
    if (assets === null) return notBuilt()
    const asset = assets.files.get(req.params.file)
    if (asset === undefined) throw new NotFoundError(`no dashboard file ${req.params.file.slice(0, 200)}`)
    return await send(req, reply, asset)
  })
}

async function send(req: FastifyRequest, reply: FastifyReply, asset: Asset): Promise<FastifyReply> {
  void reply.headers({ ...HEADERS, etag: asset.etag })
  if (req.headers['if-none-match'] === asset.etag) return await reply.status(304).send()
  return await reply.type(asset.contentType).send(asset.body)
}
