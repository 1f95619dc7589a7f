// The shape of GET /v1/cluster's answer (cluster-view.ts fills it in) and of the roles nodes
// show: zod schemas the API documents its answers with, and the types derived from them. Only zod
// here, so the client's types do not reach the node's internals.
import { z } from 'zod'
import type { RaftRole } from '../election/core/types.js'

/** The role as users see it: a pre-candidate is campaigning, so it shows as a candidate; a node
 * outside the Raft configuration is a worker (it holds no log). */
export const RAFT_ROLE_VIEWS = [
  'leader',
  'follower',
  'candidate',
  'learner',
  'worker',
] as const satisfies ReadonlyArray<Exclude<RaftRole, 'precandidate'> | 'worker'>
export type RaftRoleView = (typeof RAFT_ROLE_VIEWS)[number]

export const peerViewSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  lastContactMs: z.number().nullable().describe('Known on the leader only.'),
  matchIndex: z.number().int().nullable(),
})
export type PeerView = z.infer<typeof peerViewSchema>

export const clusterViewSchema = z
  .object({
    leader: z.string().nullable(),
    term: z.number().int(),
    commitIndex: z.number().int(),
    voters: z.array(peerViewSchema),
    learners: z.array(peerViewSchema),
  })
  .describe('The leader, the term, and every voter and learner with its replication state')
export type ClusterView = z.infer<typeof clusterViewSchema>
