// The replicated cluster: who leads, the voters (and an operator's hand-over of leadership and
// removal of a dead voter), and a small replicated key-value store that exercises the write path
// (forwarded to the leader, answered after commit).
import type { NodeApi } from '../node-api.js'
import { NotFoundError } from '../errors.js'
import { kvKeyParams, kvPutBody, leaderTransferBody, nodeIdParams, type HttpApp } from '../schemas.js'

export function clusterRoutes(app: HttpApp, node: NodeApi): void {
  app.get('/v1/cluster', async () => await node.clusterView())
  app.post(
    '/v1/cluster/leader/transfer',
    { schema: { body: leaderTransferBody } },
    async req => await node.transferLeader(req.body?.to),
  )
  app.delete(
    '/v1/cluster/voters/:id',
    { schema: { params: nodeIdParams } },
    async req => await node.removeVoter(req.params.id),
  )

  app.get('/v1/kv', async () => ({ items: await node.kvList() }))
  app.get('/v1/kv/:key', { schema: { params: kvKeyParams } }, async req => {
    const value = await node.kvGet(req.params.key)
    if (value === undefined)
      throw new NotFoundError(`no key ${req.params.key} (reads are local: a follower may lag the leader)`)
    return { key: req.params.key, value }
  })
  app.put('/v1/kv/:key', { schema: { params: kvKeyParams, body: kvPutBody } }, async req => {
    return await node.kvPut(req.params.key, req.body.value)
  })
  app.delete('/v1/kv/:key', { schema: { params: kvKeyParams } }, async req => {
    return await node.kvDelete(req.params.key)
  })
}
