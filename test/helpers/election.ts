// Helpers for leader-election tests against the node-local HTTP API: start a cluster, wait until
// it has its voters and exactly one leader, find the leader, write and read the replicated KV.
// They work on anything with a `client` and a `peerId` (AgentProcess, NetnsAgent).
import { AgentProcess } from '../../harness/agent-process.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import {
  MeshosApiError,
  MeshClient,
  MeshosUnreachableError,
  type ClusterView,
  type KvPut,
  type StatusView,
} from '../../src/client/client.js'
import { DEFAULT_ELECTION as E } from '../../src/election/config.js'

// The API's own types: what /v1/status and /v1/cluster answer.
export type ElectionStatus = StatusView

export interface PutOk {
  ok: true
  status: 200
  key: string
  value: string
  index: number
  term: number
  ms: number
}
/** `status` 0 and code 'unreachable' when the request failed or timed out (no answer). */
export interface PutFailed {
  ok: false
  status: number
  code: string
  message: string
  ms: number
}
export type PutResult = PutOk | PutFailed

export interface ElectionNode {
  client: MeshClient
  peerId: string
  opts: { name: string }
}

/** Raft timing the node is configured with: the election timeout is randomized in
 * [electionTicks, 2 * electionTicks) ticks (300-600 ms with the defaults). */
export const ELECTION_TIMEOUT_MAX_MS = 2 * E.electionTicks * E.tickMs
/** A write waits this long for a leader and a commit before the node answers 503. */
export const WRITE_TIMEOUT_MS = E.writeTimeoutMs
/** Client-side timeout for a PUT: longer than the node's own write timeout, so a 503 the node
 * sends after waiting is seen as a 503, not as "no answer". */
export const PUT_CLIENT_TIMEOUT_MS = WRITE_TIMEOUT_MS + 3000
/** Bound for "a new leader is elected" / "the old leader steps down": a whole election timeout
 * plus a pre-vote and a vote round, several times over, plus scheduling slack on a loaded 2-core
 * machine. The target is well under a second; this bound only keeps failures from hanging. */
export const FAILOVER_BOUND_MS = 5000
/** Bound for a fresh cluster to join, elect and promote its voters one config change at a time. */
export const FORM_BOUND_MS = 30_000

export function nameOf(n: ElectionNode): string {
  return n.opts.name
}

export async function statusOf(n: ElectionNode): Promise<ElectionStatus> {
  return await n.client.status()
}

export async function clusterOf(n: ElectionNode): Promise<ClusterView> {
  return await n.client.cluster()
}

/** Statuses of all nodes; an unreachable node makes the whole probe throw (waitFor reports it). */
export async function statuses(nodes: ElectionNode[]): Promise<ElectionStatus[]> {
  return await Promise.all(nodes.map(statusOf))
}

export function describeStatuses(ss: ElectionStatus[]): string {
  return ss.map(s => `${s.name}:${s.role ?? '-'}@${s.term ?? '-'}→${s.leader?.slice(-6) ?? 'null'}`).join(' ')
}

export interface Agreement<T extends ElectionNode = ElectionNode> {
  leader: T
  term: number
  statuses: ElectionStatus[]
}

/** If every node reports the same non-null leader and term, that leader is one of `nodes` and it
 * is the only one reporting role 'leader', returns it; otherwise undefined. */
export function agreement<T extends ElectionNode>(nodes: T[], ss: ElectionStatus[]): Agreement<T> | undefined {
  const leaderId = ss[0]?.leader
  const term = ss[0]?.term
  if (leaderId == null || term == null) return undefined
  if (!ss.every(s => s.leader === leaderId && s.term === term)) return undefined
  const leaders = ss.filter(s => s.role === 'leader')
  if (leaders.length !== 1 || leaders[0]!.nodeId !== leaderId) return undefined
  const leader = nodes.find(n => n.peerId === leaderId)
  if (leader == null) return undefined
  return { leader, term, statuses: ss }
}

/** Waits until all `nodes` agree on one leader (see agreement()) and `check` accepts it. */
export async function waitAgreement<T extends ElectionNode>(
  nodes: T[],
  timeoutMs: number,
  what = 'one leader',
  check: (a: Agreement<T>) => boolean | Promise<boolean> = () => true,
): Promise<Agreement<T> & { ms: number }> {
  const start = Date.now()
  let last = ''
  const found = await waitFor(
    `${nodes.map(nameOf).join(',')} to agree on ${what}`,
    async () => {
      const ss = await statuses(nodes)
      last = describeStatuses(ss)
      const a = agreement(nodes, ss)
      if (a == null || !(await check(a))) return undefined
      return a
    },
    timeoutMs,
    50,
  ).catch((err: Error) => {
    throw new Error(`${err.message} (statuses: ${last})`)
  })
  return { ...found, ms: Date.now() - start }
}

/** Waits until all `nodes` agree on a leader whose /v1/cluster lists exactly `voters` voters, all
 * of them among `nodes` (and, when `voters` equals the node count, every node). */
export async function waitClusterReady<T extends ElectionNode>(
  nodes: T[],
  voters: number,
  timeoutMs = FORM_BOUND_MS,
): Promise<Agreement<T> & { cluster: ClusterView; ms: number }> {
  let cluster: ClusterView | undefined
  const ids = new Set(nodes.map(n => n.peerId))
  const a = await waitAgreement(nodes, timeoutMs, `one leader with ${voters} voters`, async ag => {
    const c = await clusterOf(ag.leader)
    cluster = c
    return c.leader === ag.leader.peerId && c.voters.length === voters && c.voters.every(v => ids.has(v.id))
  }).catch((err: Error) => {
    throw new Error(`${err.message}; leader's /v1/cluster: ${JSON.stringify(cluster)}`)
  })
  return { ...a, cluster: cluster! }
}

/** The node that currently reports role 'leader' (only if exactly one does), else undefined. */
export async function leaderOf<T extends ElectionNode>(nodes: T[]): Promise<T | undefined> {
  const ss = await Promise.all(nodes.map(async n => await statusOf(n).catch(() => undefined)))
  const leaders = nodes.filter((_, i) => ss[i]?.role === 'leader')
  return leaders.length === 1 ? leaders[0] : undefined
}

/** PUT /v1/kv/:key through `n`; never throws: an error answer or no answer becomes a PutFailed. */
export async function put(n: ElectionNode, key: string, value: unknown): Promise<PutResult> {
  const start = Date.now()
  try {
    const client = new MeshClient(n.client.baseUrl, { timeoutMs: PUT_CLIENT_TIMEOUT_MS })
    const body = await client.request<KvPut>('PUT', `/v1/kv/${encodeURIComponent(key)}`, { value })
    return { ok: true, status: 200, ...body, ms: Date.now() - start }
  } catch (err) {
    const ms = Date.now() - start
    if (err instanceof MeshosApiError)
      return { ok: false, status: err.status, code: err.code, message: err.message, ms }
    if (err instanceof MeshosUnreachableError)
      return { ok: false, status: 0, code: 'unreachable', message: err.message, ms }
    throw err
  }
}

/** Retries a PUT through `n` until it commits (200) or `timeoutMs` passes; returns the 200. Used
 * right after a failover, when a follower may not know the new leader yet (503) or a forwarded
 * write may hang on the dead one. Every failed attempt is kept for the error message. */
export async function putUntilCommitted(
  n: ElectionNode,
  key: string,
  value: string,
  timeoutMs: number,
): Promise<PutOk> {
  const attempts: string[] = []
  return await waitFor(
    `PUT ${key} through ${nameOf(n)} to commit`,
    async () => {
      const r = await put(n, key, value)
      if (r.ok) return r
      attempts.push(`${r.status} ${r.code} after ${r.ms} ms`)
      return undefined
    },
    timeoutMs,
    100,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; attempts: ${attempts.join(' | ')}`)
  })
}

/** GET /v1/kv/:key through `n`: the value, or undefined on 404. */
export async function getKey(n: ElectionNode, key: string): Promise<string | undefined> {
  try {
    return await n.client.kvGet(key)
  } catch (err) {
    if (err instanceof MeshosApiError && err.status === 404) return undefined
    throw err
  }
}

export async function listKv(n: ElectionNode): Promise<Record<string, string>> {
  return await n.client.kvList()
}

/** Waits until `key` reads `value` on every node in `nodes` (followers apply with some lag). */
export async function waitReadable(
  nodes: ElectionNode[],
  key: string,
  value: string,
  timeoutMs: number,
): Promise<void> {
  let seen: Array<string | undefined> = []
  await waitFor(
    `${key}=${value} readable on ${nodes.map(nameOf).join(',')}`,
    async () => {
      seen = await Promise.all(nodes.map(async n => await getKey(n, key)))
      return seen.every(v => v === value) ? true : undefined
    },
    timeoutMs,
    50,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; seen: ${JSON.stringify(seen)}`)
  })
}

/** Waits until every node's GET /v1/kv is identical and `accept` likes it; returns the items. */
export async function waitSameKv(
  nodes: ElectionNode[],
  timeoutMs: number,
  accept: (items: Record<string, string>) => boolean = () => true,
): Promise<Record<string, string>> {
  let last: unknown
  return await waitFor(
    `identical /v1/kv on ${nodes.map(nameOf).join(',')}`,
    async () => {
      const all = await Promise.all(nodes.map(listKv))
      last = all
      const first = JSON.stringify(sorted(all[0]!))
      return all.every(items => JSON.stringify(sorted(items)) === first) && accept(all[0]!) ? all[0] : undefined
    },
    timeoutMs,
    100,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; views: ${JSON.stringify(last)}`)
  })
}

function sorted(items: Record<string, string>): Array<[string, string]> {
  return Object.entries(items).sort(([a], [b]) => a.localeCompare(b))
}

/** Loopback agents for one test: started, recorded at once, and all killed by cleanup(). */
export class ElectionCluster {
  agents: AgentProcess[] = []
  readonly dirs = new TempDirs()

  /** Starts n agents: n1 without a bootstrap (it bootstraps the one-voter cluster), the others
   * bootstrapping from n1. Each is recorded as soon as it runs, so a failed start leaks nothing. */
  async start(n: number, extraArgs: string[] = []): Promise<AgentProcess[]> {
    const first = await AgentProcess.start({ name: 'n1', dataDir: await this.dirs.make('meshos-election-'), extraArgs })
    this.agents.push(first)
    const rest = await Promise.allSettled(
      Array.from({ length: n - 1 }, async (_, i) => {
        const a = await AgentProcess.start({
          name: `n${i + 2}`,
          dataDir: await this.dirs.make('meshos-election-'),
          bootstrap: [first.addr],
          extraArgs,
        })
        this.agents.push(a)
      }),
    )
    const failed = rest.find(r => r.status === 'rejected')
    if (failed != null) throw (failed as PromiseRejectedResult).reason
    this.agents.sort((a, b) => Number(a.opts.name.slice(1)) - Number(b.opts.name.slice(1)))
    return [...this.agents]
  }

  /** Restarts `a` (same data dir, ports and identity) and records the new process in its place. */
  async restart(a: AgentProcess): Promise<AgentProcess> {
    const back = await a.restart()
    const i = this.agents.indexOf(a)
    if (i >= 0) this.agents[i] = back
    else this.agents.push(back)
    return back
  }

  /** Logs of every agent, for a failure message. */
  logs(): string {
    return this.agents.map(a => `--- ${a.opts.name} (${a.peerId}) ---\n${a.logs.slice(-4000)}`).join('\n')
  }

  async cleanup(): Promise<void> {
    await Promise.all(
      this.agents.map(async a => {
        a.signal('SIGCONT')
        await a.kill()
      }),
    )
    this.agents = []
    await this.dirs.cleanup()
  }
}
