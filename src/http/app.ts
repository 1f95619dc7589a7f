// The node-local HTTP API: one Fastify app, a router file per resource, one error handler.
import Fastify, { type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { NodeApi } from './node-api.js'
import { errorBody, makeErrorHandler } from './errors.js'
import { statusRoutes } from './routes/status.js'
import { nodeRoutes } from './routes/nodes.js'

export function buildHttpApp (node: NodeApi, log: Logger): FastifyInstance {
  const app = Fastify({
    logger: false,
    // Requests are small JSON documents; 1 MiB bounds what one bad client can make us buffer.
    bodyLimit: 1024 * 1024,
    // Node ids are ~52 characters; longer ids get a 400 from the schema, not a bare 414.
    routerOptions: { maxParamLength: 512 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } }
  })
  app.setErrorHandler(makeErrorHandler(log))
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0]}`))
  })
  statusRoutes(app, node)
  nodeRoutes(app, node)
  return app
}
