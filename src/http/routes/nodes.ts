// Cluster members as this node sees them.
import type { NodeApi } from '../node-api.js'
import { NotFoundError } from '../errors.js'
import { nodeIdParams, type HttpApp } from '../schemas.js'

export function nodeRoutes(app: HttpApp, node: NodeApi): void {
  app.get('/v1/nodes', async () => ({ nodes: await node.nodes() }))
  app.get('/v1/nodes/:id', { schema: { params: nodeIdParams } }, async req => {
    const found = await node.node(req.params.id)
    if (found == null) throw new NotFoundError(`no node with id ${req.params.id} is known to this node`)
    return found
  })
}
