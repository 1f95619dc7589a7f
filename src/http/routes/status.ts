// Liveness of this node's API, what this node is, and its metrics.
import type { NodeApi } from '../node-api.js'
import { statusViewSchema } from '../views.js'
import type { HttpApp } from '../schemas.js'
import { healthSchema, openRouteReplies, replies, textReply } from '../responses.js'

export function statusRoutes(app: HttpApp, node: NodeApi): void {
  app.get(
    '/v1/health',
    {
      schema: {
        summary: 'Whether the API is up; needs no token',
        security: [],
        response: openRouteReplies({ 200: healthSchema }),
      },
    },
    async () => ({ status: 'ok' as const }),
  )
  app.get('/v1/status', { schema: { summary: 'This node', response: replies({ 200: statusViewSchema }) } }, async () =>
    node.status(),
  )
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        response: replies({
          200: textReply({ contentType: 'text/plain; version=0.0.4', description: 'The text exposition format' }),
        }),
      },
    },
    async (_req, reply) => {
      const { contentType, body } = await node.metricsText()
      return await reply.type(contentType).send(body)
    },
  )
}
