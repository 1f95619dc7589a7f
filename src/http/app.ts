// The node-local HTTP API: one Fastify app, a router file per resource, one error handler, and
// the access rules (src/http/access.ts) in front of every route.
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import type { Logger } from 'pino'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { NodeApi } from './node-api.js'
import { errorBody, makeErrorHandler } from './errors.js'
import { HTTP_LIMITS, type HttpAccessConfig } from './config.js'
import { accessRules } from './access.js'
import { expectAwareServer } from './expect-continue.js'
import { apiRoutes } from './routes/api-routes.js'
import { countRequests } from './request-metrics.js'
import { useZodSchemas } from './compilers.js'
import { dashboardRoutes } from './routes/dashboard.js'

export function buildHttpApp(node: NodeApi, log: Logger, access: HttpAccessConfig): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: HTTP_LIMITS.bodyBytes,
    serverFactory: expectAwareServer,
    // Long ids get a 400 from the route schema (naming the field), not a bare 414.
    routerOptions: { maxParamLength: HTTP_LIMITS.maxParamLength },
    // Errors raised before routing (a malformed URL) go through the same error shape.
    frameworkErrors: (err, _req, reply) => {
      void (reply as FastifyReply).status(err.statusCode ?? 400).send(errorBody('bad_request', err.message))
    },
    // Malformed HTTP that never becomes a request: answer in our shape, then close.
    clientErrorHandler: (err, socket) => {
      const body = JSON.stringify(errorBody('bad_request', `malformed HTTP request: ${err.message}`))
      if (socket.writable) {
        socket.end(
          `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        )
      }
    },
  })
  // Every route's params, query and body are zod schemas (src/http/schemas.ts), and so are its
  // answers (src/http/responses.ts).
  useZodSchemas(app)
  app.setErrorHandler(makeErrorHandler(log))
  // JSON is the only body the API parses (Fastify would also parse text/plain, which a page of
  // any site can send without asking).
  app.removeContentTypeParser('text/plain')
  const boundPort = (): number => {
    const address = app.server.address()
    return address !== null && typeof address === 'object' ? address.port : access.port
  }
  if (node.metrics !== undefined) countRequests(app, node.metrics)
  app.addHook('onRequest', accessRules(access, boundPort, log))
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0]}`))
  })
  // In a plugin, so the routes are added when the app gets ready: after any hook its caller adds
  // (the OpenAPI test observes every route with onRoute).
  void app.register(async scope => {
    apiRoutes(scope.withTypeProvider<ZodTypeProvider>(), node)
    // The page and its files are not part of the API (HTML and static files, not /v1 JSON), so
    // they stay out of the API document; the OpenAPI test excludes exactly DASHBOARD_ROUTES.
    dashboardRoutes(scope.withTypeProvider<ZodTypeProvider>())
  })
  return app
}
