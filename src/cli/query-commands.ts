// `meshos nodes` and `meshos status`: read the local node's API and print it for people (or as
// raw JSON for scripts).
import { parseArgs } from 'node:util'
import type { MeshosClient } from '../client/client.js'
import { CLIENT_OPTIONS, clientFor, flags } from './args.js'
import { formatTable } from './table.js'
import { drainLine, drainMarker } from './drain-format.js'

function parseQueryArgs(
  args: string[],
  env: Record<string, string | undefined>,
): { client: MeshosClient; json: boolean } {
  const { values } = flags(undefined, () =>
    parseArgs({ args, options: { ...CLIENT_OPTIONS, json: { type: 'boolean' } }, strict: true }),
  )
  return { client: clientFor({ addr: values.addr, tokenFile: values['token-file'] }, env), json: values.json === true }
}

const shortId = (id: string): string => (id.length > 16 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id)

export async function nodesCommand(args: string[], env: Record<string, string | undefined>): Promise<string> {
  const { client, json } = parseQueryArgs(args, env)
  const nodes = await client.nodes()
  if (json) return JSON.stringify({ nodes }, null, 2)
  return formatTable(
    ['NAME', 'ID', 'STATE', 'CPUS', 'MEMORY MB', 'RUNNING', 'LOAD', 'LAST SEEN', 'LABELS'],
    nodes.map(n => [
      n.name,
      shortId(n.id),
      n.state + drainMarker(n.drain),
      `${n.allocated.cpus}/${n.capacity.cpus}`,
      `${n.allocated.memoryMb}/${n.capacity.memoryMb}`,
      String(n.running),
      n.load === null ? '-' : n.load.toFixed(2),
      n.lastSeenMs === 0 ? '-' : `${(n.lastSeenMs / 1000).toFixed(1)}s ago`,
      Object.entries(n.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    ]),
  )
}

export async function statusCommand(args: string[], env: Record<string, string | undefined>): Promise<string> {
  const { client, json } = parseQueryArgs(args, env)
  const s = await client.status()
  if (json) return JSON.stringify(s, null, 2)
  const drain = drainLine((await client.node(s.nodeId).catch(() => null))?.drain, Date.now())
  return [
    `node:     ${s.name} (${s.nodeId})`,
    `version:  ${s.version}`,
    `uptime:   ${(s.uptimeMs / 1000).toFixed(1)}s`,
    `role:     ${s.role ?? '-'}`,
    ...(drain === null ? [] : [`drain:    ${drain}`]),
    `leader:   ${s.leader ?? '-'}`,
    `term:     ${s.term ?? '-'}`,
    ...(s.insecure ? ['insecure: yes (no cluster key, reachable beyond loopback)'] : []),
    `tasks:    as ${s.isolation.taskUser ?? "the agent's user"} (uid ${s.isolation.taskUid}), cgroups ${s.isolation.cgroups ?? 'none'}, memory limit by ${s.isolation.memoryLimit}`,
    'addrs:',
    ...s.addrs.map(a => `  ${a}`),
  ].join('\n')
}

export async function clusterCommand(args: string[], env: Record<string, string | undefined>): Promise<string> {
  const { client, json } = parseQueryArgs(args, env)
  const c = await client.cluster()
  if (json) return JSON.stringify(c, null, 2)
  const rows = [
    ...c.voters.map(p => ({ ...p, kind: 'voter' })),
    ...c.learners.map(p => ({ ...p, kind: 'learner' })),
  ].map(p => [
    p.name ?? '?',
    shortId(p.id),
    p.id === c.leader ? 'leader' : p.kind,
    p.matchIndex == null ? '-' : String(p.matchIndex),
    p.lastContactMs == null ? '-' : `${p.lastContactMs}ms`,
  ])
  return [
    `leader: ${c.leader ?? '(none)'}   term: ${c.term}   commit index: ${c.commitIndex}`,
    formatTable(['NAME', 'ID', 'ROLE', 'MATCH INDEX', 'LAST CONTACT'], rows),
  ].join('\n')
}
