// Cluster members as this node sees them, and draining one (no new placements) or undraining it.
import type { NodeApi } from '../node-api.js'
import { NotFoundError } from '../errors.js'
import { drainBody, nodeIdParams, type HttpApp } from '../schemas.js'

export function nodeRoutes(app: HttpApp, node: NodeApi): void {
  app.get('/v1/nodes', async () => ({ nodes: await node.nodes() }))
  app.get('/v1/nodes/:id', { schema: { params: nodeIdParams } }, async req => {
    const found = await node.node(req.params.id)
    if (found == null) throw new NotFoundError(`no node with id ${req.params.id} is known to this node`)
    return found
  })
  // 202: the drain is under way once committed; the node reports `drained` when it holds nothing.
  app.post('/v1/nodes/:id/drain', { schema: { params: nodeIdParams, body: drainBody } }, async (req, reply) => {
    const view = await node.drainNode(req.params.id, req.body?.deadlineSeconds)
    return await reply.status(202).send(view)
  })
  app.post(
    '/v1/nodes/:id/undrain',
    { schema: { params: nodeIdParams } },
    async req => await node.undrainNode(req.params.id),
  )
}
