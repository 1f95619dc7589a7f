// The cluster's health at a glance, for `meshos status`: whether it can take writes (a leader
// backed by a quorum of live voters) and whether anything is missing. From one node's view.
import type { ClusterView, NodeView } from '../client/client.js'
import { MEMBER_STATES } from '../gossip/member-state.js'

export type HealthState = 'ok' | 'degraded' | 'down'

export interface ClusterHealth {
  state: HealthState
  /** Why, e.g. "2 of 3 voters alive; 4 nodes: 3 alive, 1 dead". */
  summary: string
}

export function clusterHealth(cluster: ClusterView, nodes: NodeView[]): ClusterHealth {
  const stateOf = new Map(nodes.map(n => [n.id, n.state]))
  const voters = cluster.voters.length
  const votersAlive = cluster.voters.filter(v => stateOf.get(v.id) === 'alive').length
  const quorum = Math.floor(voters / 2) + 1
  const counts = MEMBER_STATES.filter(s => s !== 'left')
    .map(s => [s, nodes.filter(n => n.state === s).length] as const)
    .filter(([, n]) => n > 0)
  const members = counts.reduce((sum, [, n]) => sum + n, 0)
  const summary = [
    `${votersAlive} of ${voters} voter${voters === 1 ? '' : 's'} alive`,
    `${members} node${members === 1 ? '' : 's'}: ${counts.map(([s, n]) => `${n} ${s}`).join(', ')}`,
  ].join('; ')
  if (cluster.leader === null) return { state: 'down', summary: `no leader; ${summary}` }
  if (votersAlive < quorum) return { state: 'down', summary: `no quorum; ${summary}` }
  const missing = votersAlive < voters || counts.some(([s]) => s !== 'alive')
  return { state: missing ? 'degraded' : 'ok', summary }
}
