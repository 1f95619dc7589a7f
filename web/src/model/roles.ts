// Each node's part in the cluster, composed from GET /v1/cluster (the Raft configuration): the
// leader, the voters, the standbys (learners that hold the log, ready to become voters), and
// every other member a worker (it holds no log and gets its assignments from the leader).
import type { ClusterView } from './api-types.js'

export const NODE_ROLES = ['leader', 'voter', 'standby', 'worker'] as const
export type NodeRole = (typeof NODE_ROLES)[number]

export const ROLE_LABELS: Readonly<Record<NodeRole, string>> = {
  leader: 'leader',
  voter: 'voter',
  standby: 'standby (learner)',
  worker: 'worker',
}

/** Roles by node id; null when the configuration is not known (no answer from /v1/cluster). */
export type RoleMap = (id: string) => NodeRole | null

export function roleMap(cluster: ClusterView | null): RoleMap {
  if (cluster === null) return () => null
  const voters = new Set(cluster.voters.map(v => v.id))
  const learners = new Set(cluster.learners.map(l => l.id))
  return id => (id === cluster.leader ? 'leader' : voters.has(id) ? 'voter' : learners.has(id) ? 'standby' : 'worker')
}
