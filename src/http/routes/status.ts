// Liveness of this node's API, and what this node is.
import type { NodeApi } from '../node-api.js'
import type { HttpApp } from '../schemas.js'

export function statusRoutes(app: HttpApp, node: NodeApi): void {
  app.get('/v1/health', async () => ({ status: 'ok' }))
  app.get('/v1/status', async () => node.status())
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await node.metricsText()
    return await reply.type(contentType).send(body)
  })
}
