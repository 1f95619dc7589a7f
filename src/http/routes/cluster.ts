// The replicated cluster: who leads, the voters, and a small replicated key-value store that
// exercises the write path (forwarded to the leader, answered after commit).
import { clusterViewSchema } from '../../cluster/cluster-view-schema.js'
import type { NodeApi } from '../node-api.js'
import { kvDeleteAnswerSchema, kvPutAnswerSchema } from '../views.js'
import { NotFoundError } from '../errors.js'
import { kvKeyParams, kvPutBody, type HttpApp } from '../schemas.js'
import { kvListSchema, kvValueSchema, replies } from '../responses.js'

export function clusterRoutes(app: HttpApp, node: NodeApi): void {
  app.get(
    '/v1/cluster',
    { schema: { summary: 'The leader, the term, voters and learners', response: replies({ 200: clusterViewSchema }) } },
    async () => await node.clusterView(),
  )

  app.get(
    '/v1/kv',
    { schema: { summary: 'Every key and value, from this replica', response: replies({ 200: kvListSchema }, [503]) } },
    async () => ({ items: await node.kvList() }),
  )
  app.get(
    '/v1/kv/:key',
    {
      schema: {
        summary: 'One value, from this replica',
        params: kvKeyParams,
        response: replies({ 200: kvValueSchema }, [400, 404, 503]),
      },
    },
    async req => {
      const value = await node.kvGet(req.params.key)
      if (value === undefined)
        throw new NotFoundError(`no key ${req.params.key} (reads are local: a follower may lag the leader)`)
      return { key: req.params.key, value }
    },
  )
  app.put(
    '/v1/kv/:key',
    {
      schema: {
        summary: 'Sets a value; answered once committed',
        params: kvKeyParams,
        body: kvPutBody,
        response: replies({ 200: kvPutAnswerSchema }, [400, 503]),
      },
    },
    async req => {
      return await node.kvPut(req.params.key, req.body.value)
    },
  )
  app.delete(
    '/v1/kv/:key',
    {
      schema: {
        summary: 'Removes a key; answered once committed',
        params: kvKeyParams,
        response: replies({ 200: kvDeleteAnswerSchema }, [400, 503]),
      },
    },
    async req => {
      return await node.kvDelete(req.params.key)
    },
  )
}
