// Where the mesh picture puts each node and which lines it draws. The Raft members (leader first,
// at the top, then voters and standbys) sit on an inner circle, every other member on an outer
// one; lines are the membership overlay (each live node's active view: the peers it keeps
// connections to) and Raft replication (leader to voters and standbys). Past a few hundred
// nodes a picture says less than counts, so it becomes a summary by state and role.
import type { MemberState, NodeView } from './api-types.js'
import { NODE_ROLES, type NodeRole, type RoleMap } from './roles.js'

/** Past this many nodes the page shows counts instead of a picture. */
export const MESH_PICTURE_MAX_NODES = 300
/** Names are written beside the nodes up to this many; beyond, only on hover. */
export const MESH_LABEL_MAX_NODES = 80
/** Up to this many, names are written level; beyond, along the radius so that they do not touch. */
export const MESH_LEVEL_LABEL_MAX_NODES = 16

export const MESH_SIZE = { width: 720, height: 560 } as const

export interface MeshPoint {
  id: string
  name: string
  x: number
  y: number
  /** Radius of the node's dot. */
  r: number
  state: MemberState
  role: NodeRole | null
  self: boolean
  /** Direction from the centre, in degrees (0: right, 90: down); labels go that way. */
  angle: number
}

export interface MeshLine {
  a: string
  b: string
  kind: 'membership' | 'raft'
}

export interface MeshPicture {
  kind: 'picture'
  points: MeshPoint[]
  lines: MeshLine[]
  labels: 'level' | 'radial' | 'none'
}

export interface MeshSummary {
  kind: 'summary'
  total: number
  byState: Record<MemberState, number>
  /** Live nodes (alive or suspect) by role. */
  byRole: Record<NodeRole | 'unknown', number>
}

const isLive = (state: MemberState): boolean => state === 'alive' || state === 'suspect'

export function meshLayout(nodes: readonly NodeView[], roleOf: RoleMap, selfId: string): MeshPicture | MeshSummary {
  if (nodes.length > MESH_PICTURE_MAX_NODES) return summary(nodes, roleOf)
  const { width, height } = MESH_SIZE
  const cx = width / 2
  const cy = height / 2
  const n = nodes.length
  const r = n <= 12 ? 13 : n <= 60 ? 8 : n <= 150 ? 5 : 3.5
  const labels = n > MESH_LABEL_MAX_NODES ? 'none' : n > MESH_LEVEL_LABEL_MAX_NODES ? 'radial' : 'level'
  const rank = (node: NodeView): number => {
    const role = roleOf(node.id)
    return role === 'leader' ? 0 : role === 'voter' ? 1 : role === 'standby' ? 2 : 3
  }
  const byName = (a: NodeView, b: NodeView): number => a.name.localeCompare(b.name) || (a.id < b.id ? -1 : 1)
  const inner = nodes.filter(node => rank(node) < 3).sort((a, b) => rank(a) - rank(b) || byName(a, b))
  const outer = nodes.filter(node => rank(node) === 3).sort(byName)
  // Room is kept for the labels around the outer circle; the inner one sits well inside it.
  const outerRadius = Math.min(width, height) / 2 - (labels === 'radial' ? 78 : labels === 'level' ? 40 : 16)
  const innerRadius = outer.length === 0 ? outerRadius : Math.min(outerRadius * 0.45, 30 + inner.length * 16)
  const circle = (members: NodeView[], radius: number, phase: number): MeshPoint[] =>
    members.map((node, i) => {
      const angle = phase + (2 * Math.PI * i) / members.length - Math.PI / 2
      const one = members === inner && members.length === 1
      return {
        id: node.id,
        name: node.name,
        // A lone Raft member (a cluster of one voter) sits in the middle.
        x: round(one ? cx : cx + radius * Math.cos(angle)),
        y: round(one ? cy : cy + radius * Math.sin(angle)),
        r,
        state: node.state,
        role: roleOf(node.id),
        self: node.id === selfId,
        angle: round((angle * 180) / Math.PI),
      }
    })
  const points = [
    ...circle(inner, innerRadius, 0),
    // Half a step out of phase, so that a worker is not drawn right behind a voter.
    ...circle(outer, outerRadius, outer.length > 0 ? Math.PI / outer.length : 0),
  ]
  const leader = inner.find(node => roleOf(node.id) === 'leader')
  return { kind: 'picture', points, lines: lines(nodes, roleOf, leader), labels }
}

/** Each undirected pair once: membership lines between live nodes, Raft lines from the leader. */
function lines(nodes: readonly NodeView[], roleOf: RoleMap, leader: NodeView | undefined): MeshLine[] {
  const live = new Set(nodes.filter(node => isLive(node.state)).map(node => node.id))
  const out: MeshLine[] = []
  const seen = new Set<string>()
  const add = (a: string, b: string, kind: MeshLine['kind']): void => {
    const key = a < b ? `${a} ${b}` : `${b} ${a}`
    if (a === b || seen.has(key)) return
    seen.add(key)
    out.push({ a, b, kind })
  }
  if (leader !== undefined)
    for (const node of nodes) {
      const role = roleOf(node.id)
      if (role === 'voter' || role === 'standby') add(leader.id, node.id, 'raft')
    }
  for (const node of nodes) {
    if (!live.has(node.id)) continue
    for (const peer of node.activeView) if (live.has(peer)) add(node.id, peer, 'membership')
  }
  return out
}

function summary(nodes: readonly NodeView[], roleOf: RoleMap): MeshSummary {
  const byState: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 }
  const byRole = Object.fromEntries([...NODE_ROLES, 'unknown'].map(role => [role, 0])) as MeshSummary['byRole']
  for (const node of nodes) {
    byState[node.state]++
    if (isLive(node.state)) byRole[roleOf(node.id) ?? 'unknown']++
  }
  return { kind: 'summary', total: nodes.length, byState, byRole }
}

const round = (v: number): number => Math.round(v * 10) / 10
