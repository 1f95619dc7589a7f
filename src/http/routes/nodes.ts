// Cluster members as this node sees them.
import type { FastifyInstance } from 'fastify'
import type { NodeApi } from '../node-api.js'
import { NotFoundError } from '../errors.js'

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
  required: ['id'],
  additionalProperties: false
} as const

export function nodeRoutes (app: FastifyInstance, node: NodeApi): void {
  app.get('/v1/nodes', async () => ({ nodes: node.nodes() }))
  app.get<{ Params: { id: string } }>('/v1/nodes/:id', { schema: { params: idParams } }, async req => {
    const found = node.node(req.params.id)
    if (found == null) throw new NotFoundError(`no node with id ${req.params.id} is known to this node`)
    return found
  })
}
