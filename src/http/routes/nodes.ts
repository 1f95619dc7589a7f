// Cluster members as this node sees them, and draining one (no new placements) or undraining it.
import type { NodeApi } from '../node-api.js'
import { nodeListSchema, nodeViewSchema } from '../views.js'
import { NotFoundError } from '../errors.js'
import { drainBody, nodeIdParams, type HttpApp } from '../schemas.js'
import { replies } from '../responses.js'

export function nodeRoutes(app: HttpApp, node: NodeApi): void {
  app.get(
    '/v1/nodes',
    {
      schema: {
        summary: 'The members as this node sees them',
        response: replies({ 200: nodeListSchema }, [503]),
      },
    },
    async () => ({ nodes: await node.nodes() }),
  )
  app.get(
    '/v1/nodes/:id',
    {
      schema: {
        summary: 'One member',
        params: nodeIdParams,
        response: replies({ 200: nodeViewSchema }, [400, 404, 503]),
      },
    },
    async req => {
      const found = await node.node(req.params.id)
      if (found == null) throw new NotFoundError(`no node with id ${req.params.id} is known to this node`)
      return found
    },
  )
  // 202: the drain is under way once committed; the node reports `drained` when it holds nothing.
  app.post(
    '/v1/nodes/:id/drain',
    {
      schema: {
        summary: 'Drains a node: no new placements; what runs there finishes, or is re-queued at the deadline',
        params: nodeIdParams,
        body: drainBody,
        response: replies({ 202: nodeViewSchema }, [400, 404, 409, 503]),
      },
    },
    async (req, reply) => {
      const view = await node.drainNode(req.params.id, req.body?.deadlineSeconds)
      return await reply.status(202).send(view)
    },
  )
  app.post(
    '/v1/nodes/:id/undrain',
    {
      schema: {
        summary: 'Undrains a node: it takes placements again',
        params: nodeIdParams,
        response: replies({ 200: nodeViewSchema }, [400, 404, 409, 503]),
      },
    },
    async req => await node.undrainNode(req.params.id),
  )
}
