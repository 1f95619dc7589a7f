// `meshos nodes`, `status` and `cluster`: read the local node's API and print it for people (or as
// raw JSON for scripts).
import { parseArgs } from 'node:util'
import type { ClusterView, MeshClient, NodeView, StatusView } from '../client/client.js'
import { CLIENT_OPTIONS, clientFor, flags } from './args.js'
import { clusterHealth } from './cluster-health.js'
import { formatDuration } from './durations.js'
import { PLAIN, paintState, styleFor, type Style } from './style.js'
import { formatTable } from './table.js'

type Env = Record<string, string | undefined>

function parseQueryArgs(args: string[], env: Env): { client: MeshClient; json: boolean; style: Style } {
  const { values } = flags(undefined, () =>
    parseArgs({ args, options: { ...CLIENT_OPTIONS, json: { type: 'boolean' } }, strict: true }),
  )
  return {
    client: clientFor({ addr: values.addr, tokenFile: values['token-file'] }, env),
    json: values.json === true,
    style: styleFor(process.stdout, env),
  }
}

const shortId = (id: string): string => (id.length > 16 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id)

/** `meshos status` labels, padded to one column (the longest is "learners:"). */
const LABEL_WIDTH = 10

export async function nodesCommand(args: string[], env: Env): Promise<string> {
  const { client, json, style } = parseQueryArgs(args, env)
  const nodes = await client.nodes()
  if (json) return JSON.stringify({ nodes }, null, 2)
  return formatNodes(nodes, style)
}

export function formatNodes(nodes: NodeView[], style: Style = PLAIN): string {
  return formatTable(
    ['NAME', 'ID', 'STATE', 'CPUS', 'MEMORY MB', 'RUNNING', 'LOAD', 'LAST SEEN', 'LABELS'],
    nodes.map(n => [
      n.name,
      shortId(n.id),
      paintState(style, n.state),
      `${n.allocated.cpus}/${n.capacity.cpus}`,
      `${n.allocated.memoryMb}/${n.capacity.memoryMb}`,
      String(n.running),
      n.load === null ? '-' : n.load.toFixed(2),
      n.lastSeenMs === 0 ? '-' : `${(n.lastSeenMs / 1000).toFixed(1)}s ago`,
      Object.entries(n.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    ]),
    { align: ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right'], style },
  )
}

export async function statusCommand(args: string[], env: Env): Promise<string> {
  const { client, json, style } = parseQueryArgs(args, env)
  if (json) return JSON.stringify(await client.status(), null, 2)
  // The leader and voters come from the node's replica, their states from its membership view.
  const [status, cluster, nodes] = await Promise.all([
    client.status(),
    client.cluster().catch((err: unknown) => err as Error),
    client.nodes().catch((err: unknown) => err as Error),
  ])
  return formatStatus(status, cluster, nodes, style)
}

/** This node, the leader and term, the voters and the cluster's health, one fact a line. */
export function formatStatus(
  s: StatusView,
  cluster: ClusterView | Error,
  nodes: NodeView[] | Error,
  style: Style = PLAIN,
): string {
  const known = Array.isArray(nodes) ? nodes : []
  const nameOf = (id: string): string => known.find(n => n.id === id)?.name ?? shortId(id)
  const lines: Array<[string, string]> = [
    ['node', `${style.bold(s.name)} (${s.nodeId})`],
    ['role', s.role === null ? '-' : paintState(style, s.role)],
  ]
  if (cluster instanceof Error) {
    lines.push(['leader', s.leader === null ? '-' : `${nameOf(s.leader)} (${s.leader})`])
    lines.push(['term', s.term === null ? '-' : String(s.term)])
    lines.push(['health', `unknown (${cluster.message})`])
  } else {
    const voter = (id: string): string => {
      const state = known.find(n => n.id === id)?.state
      const tags = [id === cluster.leader ? 'leader' : null, state !== undefined && state !== 'alive' ? state : null]
      const tagged = tags.filter(t => t !== null).map(t => paintState(style, t))
      return `${nameOf(id)}${tagged.length === 0 ? '' : ` (${tagged.join(', ')})`}`
    }
    lines.push([
      'leader',
      cluster.leader === null ? style.red('none') : `${nameOf(cluster.leader)} (${cluster.leader})`,
    ])
    lines.push(['term', `${cluster.term} (commit index ${cluster.commitIndex})`])
    lines.push(['voters', cluster.voters.map(v => voter(v.id)).join(', ') || '-'])
    if (cluster.learners.length > 0) lines.push(['learners', cluster.learners.map(l => voter(l.id)).join(', ')])
    if (nodes instanceof Error) lines.push(['health', `unknown (${nodes.message})`])
    else {
      const health = clusterHealth(cluster, nodes)
      lines.push(['health', `${paintState(style, health.state)}: ${health.summary}`])
    }
  }
  lines.push(['version', `${s.version}, up ${formatDuration(s.uptimeMs)}`])
  if (s.insecure) lines.push(['insecure', style.yellow('yes (no cluster key, reachable beyond loopback)')])
  lines.push([
    'tasks',
    `as ${s.isolation.taskUser ?? "the agent's user"} (uid ${s.isolation.taskUid}), cgroups ${s.isolation.cgroups ?? 'none'}, memory limit by ${s.isolation.memoryLimit}`,
  ])
  return [...lines.map(([k, v]) => `${`${k}:`.padEnd(LABEL_WIDTH)}${v}`), 'addrs:', ...s.addrs.map(a => `  ${a}`)].join(
    '\n',
  )
}

export async function clusterCommand(args: string[], env: Env): Promise<string> {
  const { client, json, style } = parseQueryArgs(args, env)
  const c = await client.cluster()
  if (json) return JSON.stringify(c, null, 2)
  return formatCluster(c, style)
}

export function formatCluster(c: ClusterView, style: Style = PLAIN): string {
  const rows = [
    ...c.voters.map(p => ({ ...p, kind: 'voter' })),
    ...c.learners.map(p => ({ ...p, kind: 'learner' })),
  ].map(p => [
    p.name ?? '?',
    shortId(p.id),
    paintState(style, p.id === c.leader ? 'leader' : p.kind),
    p.matchIndex == null ? '-' : String(p.matchIndex),
    p.lastContactMs == null ? '-' : `${p.lastContactMs}ms`,
  ])
  return [
    `leader: ${c.leader ?? '(none)'}   term: ${c.term}   commit index: ${c.commitIndex}`,
    formatTable(['NAME', 'ID', 'ROLE', 'MATCH INDEX', 'LAST CONTACT'], rows, {
      align: ['left', 'left', 'left', 'right', 'right'],
      style,
    }),
  ].join('\n')
}
