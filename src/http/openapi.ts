// GET /v1/openapi.json: the API described as OpenAPI 3.1 (openapi-document.ts), generated on the
// first request and kept: most nodes are never asked, and need not load the generator.
import type { FastifySchema } from 'fastify'
import type { HttpApp } from './schemas.js'

export const OPENAPI_PATH = '/v1/openapi.json'

/** The route serving the document of the routes `addRoutes` adds (this one among them). */
export function openApiRoute(
  app: HttpApp,
  version: () => string,
  addRoutes: (app: HttpApp) => void,
  response: FastifySchema['response'],
): void {
  let text: Promise<string> | undefined
  app.get(OPENAPI_PATH, { schema: { summary: 'This document', response } }, async (_req, reply) => {
    text ??= import('./openapi-document.js')
      .then(async ({ openApiDocument }) => JSON.stringify(await openApiDocument(addRoutes, version())))
      .catch((err: unknown) => {
        text = undefined // the next request tries again
        throw err
      })
    return await reply.type('application/json; charset=utf-8').send(await text)
  })
}
