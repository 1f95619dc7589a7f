// Cluster members as this node sees them.
import type { NodeApi } from '../node-api.js'
import { nodeListSchema, nodeViewSchema } from '../views.js'
import { NotFoundError } from '../errors.js'
import { nodeIdParams, type HttpApp } from '../schemas.js'
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
}
