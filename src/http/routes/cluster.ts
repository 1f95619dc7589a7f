// The replicated cluster: who leads, the voters, and a small replicated key-value store that
// exercises the write path (forwarded to the leader, answered after commit).
import type { FastifyInstance } from 'fastify'
import type { NodeApi } from '../node-api.js'
import { NotFoundError } from '../errors.js'
import { KV_KEY_MAX_CHARS, KV_VALUE_MAX_CHARS } from '../../cluster/commands.js'

const keyParams = {
  type: 'object',
  properties: { key: { type: 'string', minLength: 1, maxLength: KV_KEY_MAX_CHARS } },
  required: ['key'],
  additionalProperties: false
} as const

const putBody = {
  type: 'object',
  properties: { value: { type: 'string', maxLength: KV_VALUE_MAX_CHARS } },
  required: ['value'],
  additionalProperties: false
} as const

export function clusterRoutes (app: FastifyInstance, node: NodeApi): void {
  app.get('/v1/cluster', async () => node.clusterView())

  app.get('/v1/kv', async () => ({ items: node.kvList() }))
  app.get<{ Params: { key: string } }>('/v1/kv/:key', { schema: { params: keyParams } }, async req => {
    const value = node.kvGet(req.params.key)
    if (value === undefined) throw new NotFoundError(`no key ${req.params.key} (reads are local: a follower may lag the leader)`)
    return { key: req.params.key, value }
  })
  app.put<{ Params: { key: string }, Body: { value: string } }>('/v1/kv/:key', { schema: { params: keyParams, body: putBody } }, async req => {
    return await node.kvPut(req.params.key, req.body.value)
  })
  app.delete<{ Params: { key: string } }>('/v1/kv/:key', { schema: { params: keyParams } }, async req => {
    return await node.kvDelete(req.params.key)
  })
}
