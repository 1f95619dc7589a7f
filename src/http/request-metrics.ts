// Counts and times every answer of the API. Labels are the route pattern (`/v1/tasks/:id`), never
// the URL a client sent, so a client cannot make a series per task id or per typo.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { NodeMetrics } from '../metrics/node-metrics.js'

/** The route label of a request no route matched (answered 404). */
export const UNMATCHED_ROUTE = 'unmatched'

/** Register before the access rules, so a refusal's time counts too. The time is taken when the
 * response starts (onSend), not when it ends: a followed log or event stream counts its time to
 * the first byte, not how long the client kept it open. */
export function countRequests(app: FastifyInstance, metrics: Pick<NodeMetrics, 'httpRequests' | 'httpDuration'>): void {
  const receivedAtMs = new WeakMap<FastifyRequest, number>()
  app.addHook('onRequest', async req => {
    receivedAtMs.set(req, performance.now())
  })
  app.addHook('onSend', async (req, reply, payload) => {
    const route = req.routeOptions.url ?? UNMATCHED_ROUTE
    metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) })
    const sinceMs = receivedAtMs.get(req)
    if (sinceMs !== undefined)
      metrics.httpDuration.observe({ method: req.method, route }, (performance.now() - sinceMs) / 1000)
    return payload
  })
}
