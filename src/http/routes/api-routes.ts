// Every route of the API, in one place: the app serves them, and the OpenAPI document is
// generated from them (src/http/openapi.ts), so a route added here is documented.
import type { NodeApi } from '../node-api.js'
import type { HttpApp } from '../schemas.js'
import { openApiDocumentSchema, replies } from '../responses.js'
import { openApiRoute } from '../openapi.js'
import { statusRoutes } from './status.js'
import { nodeRoutes } from './nodes.js'
import { clusterRoutes } from './cluster.js'
import { taskRoutes } from './tasks.js'
import { eventRoutes } from './events.js'

export function apiRoutes(app: HttpApp, node: NodeApi): void {
  statusRoutes(app, node)
  nodeRoutes(app, node)
  clusterRoutes(app, node)
  taskRoutes(app, node.tasks)
  eventRoutes(app, node.events)
  openApiRoute(
    app,
    () => node.status().version,
    documented => {
      apiRoutes(documented, node)
    },
    replies({ 200: openApiDocumentSchema }),
  )
}
