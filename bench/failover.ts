// Failover and commit benchmark on 3 local nodes, next to a stock etcd 3.4 cluster in the same run:
//  - failover: SIGKILL the leader, then time until a write sent to a survivor commits;
//  - commit latency of small writes through a follower, one at a time;
//  - throughput of small writes through a follower with 16 in flight.
// Both systems get their writes through the same client (node:http with keep-alive, bench/lib/
// http.ts): fetch costs ~1 ms of client CPU per request here, on the same 2 cores as the nodes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { AgentProcess } from '../harness/agent-process.js'
import { freePort } from '../harness/free-port.js'
import { TempDirs } from '../harness/temp-dirs.js'
import { waitFor } from '../harness/wait-for.js'
import { summarize, type Summary } from './lib/stats.js'
import { JsonHttp } from './lib/http.js'

export interface FailoverResult {
  system: 'meshos' | 'etcd 3.4'
  failoverMs: Summary
  commitLatencyMs: Summary
  writesPerSecond: number
}

/** What a 3-member cluster must offer the benchmark, whatever runs it. */
interface Cluster {
  /** Index of the current leader among the members. */
  leader: () => Promise<number>
  /** Writes through member i; resolves when committed. `attemptTimeoutMs` bounds one try, as a
   * client retrying through a failover would (meshos nodes retry internally as well). */
  put: (i: number, key: string, value: string, attemptTimeoutMs?: number) => Promise<void>
  kill: (i: number) => Promise<void>
  restart: (i: number) => Promise<void>
  /** Resolves when all members are back and healthy. */
  healthy: () => Promise<void>
  stop: () => Promise<void>
}

/** A client retrying a write during failover gives each attempt this long: short enough not to
 * hide a fast election behind a long timeout, long enough for a commit on a loaded machine. */
const FAILOVER_ATTEMPT_TIMEOUT_MS = 250
const WARMUP_WRITES = 500

async function measure (c: Cluster, trials: number, writes: number, log: (l: string) => void): Promise<Omit<FailoverResult, 'system'>> {
  const failover: number[] = []
  for (let t = 0; t < trials; t++) {
    await c.healthy()
    const leader = await c.leader()
    const survivor = (leader + 1) % 3
    const killedAt = performance.now()
    await c.kill(leader)
    // The survivor's write path retries through the election; one call measures the outage.
    for (;;) {
      try {
        await c.put(survivor, `failover-${t}`, 'x', FAILOVER_ATTEMPT_TIMEOUT_MS)
        break
      } catch {
        if (performance.now() - killedAt > 30_000) throw new Error('no write committed within 30 s of killing the leader')
      }
    }
    failover.push(performance.now() - killedAt)
    await c.restart(leader)
  }
  await c.healthy()
  const follower = ((await c.leader()) + 1) % 3
  // Untimed warm-up: the nodes restarted by the failover trials run cold code (V8 compiles the
  // write path as it gets hot; the first ~500 writes through a fresh meshos cluster measured
  // 6.4 ms p50, the next 4.3 ms). Every system gets the same warm-up.
  for (let i = 0; i < WARMUP_WRITES; i++) await c.put(follower, `warm-${i % 100}`, String(i))
  const latency: number[] = []
  for (let i = 0; i < writes; i++) {
    const start = performance.now()
    await c.put(follower, `lat-${i % 100}`, String(i))
    latency.push(performance.now() - start)
  }
  const inFlight = 16
  let next = 0
  const start = performance.now()
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < writes) {
      const i = next++
      await c.put(follower, `tp-${i % 100}`, String(i))
    }
  }))
  const writesPerSecond = writes / ((performance.now() - start) / 1000)
  log(`    ${trials} failovers, ${WARMUP_WRITES} warm-up, ${writes} sequential and ${writes} concurrent writes done`)
  return { failoverMs: summarize(failover), commitLatencyMs: summarize(latency), writesPerSecond }
}

function meshosCluster (dirs: TempDirs, agents: AgentProcess[]): Cluster {
  const leaderIndex = async (): Promise<number> => {
    for (let i = 0; i < agents.length; i++) {
      const s = await agents[i]!.client.status().catch(() => null)
      if (s?.role === 'leader') return i
    }
    throw new Error('no leader')
  }
  return {
    leader: async () => await waitFor('a meshos leader', async () => await leaderIndex().catch(() => undefined), 10_000, 20),
    put: async (i, key, value, attemptTimeoutMs) => {
      const res = await httpTo(agents[i]!.client.baseUrl).request('PUT', `/v1/kv/${encodeURIComponent(key)}`, { value }, attemptTimeoutMs)
      if (res.status < 200 || res.status >= 300) throw new Error(`meshos PUT: ${res.status} ${JSON.stringify(res.body)}`)
    },
    kill: async i => { await agents[i]!.kill() },
    restart: async i => { agents[i] = await agents[i]!.restart() },
    healthy: async () => {
      await waitFor('3 meshos voters in contact', async () => {
        const statuses = await Promise.all(agents.map(async a => await a.client.status()))
        const leaders = new Set(statuses.map(s => s.leader))
        if (leaders.size !== 1 || statuses.some(s => s.leader == null)) return false
        const c = await agents[statuses.findIndex(s => s.role === 'leader')]!.client.cluster()
        return c.voters.length === 3 && c.voters.every(v => v.lastContactMs != null && v.lastContactMs < 500)
      }, 30_000, 50)
    },
    stop: async () => {
      await Promise.all(agents.map(async a => { await a.kill() }))
      await dirs.cleanup()
    }
  }
}

async function startMeshos (dirs: TempDirs): Promise<Cluster> {
  const agents: AgentProcess[] = []
  agents.push(await AgentProcess.start({ name: 'f1', dataDir: await dirs.make('meshos-failover-') }))
  for (const name of ['f2', 'f3']) {
    agents.push(await AgentProcess.start({ name, dataDir: await dirs.make('meshos-failover-'), bootstrap: [agents[0]!.addr] }))
  }
  return meshosCluster(dirs, agents)
}

const clients = new Map<string, JsonHttp>()
/** One keep-alive client per node, kept across restarts (same address). */
function httpTo (baseUrl: string): JsonHttp {
  let client = clients.get(baseUrl)
  if (client == null) {
    client = new JsonHttp(baseUrl)
    clients.set(baseUrl, client)
  }
  return client
}

/** etcd's v3 JSON gateway: keys and values are base64. */
async function etcdPost (port: number, path: string, body: unknown, timeoutMs = 5000): Promise<Record<string, unknown>> {
  const res = await httpTo(`http://127.0.0.1:${port}`).request<Record<string, unknown>>('POST', path, body, timeoutMs)
  if (res.status !== 200 || res.body?.error != null) throw new Error(`etcd ${path}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}

async function startEtcd (dirs: TempDirs): Promise<Cluster | null> {
  if (spawnSync('etcd', ['--version']).status !== 0) return null
  const peers = await Promise.all([0, 1, 2].map(async () => ({ client: await freePort(), peer: await freePort() })))
  const dataDirs = await Promise.all(peers.map(async () => await dirs.make('etcd-')))
  const initialCluster = peers.map((p, i) => `e${i}=http://127.0.0.1:${p.peer}`).join(',')
  const procs: Array<ChildProcess | null> = [null, null, null]
  const run = (i: number, state: 'new' | 'existing'): void => {
    const p = peers[i]!
    procs[i] = spawn('etcd', [
      '--name', `e${i}`, '--data-dir', dataDirs[i]!,
      '--listen-client-urls', `http://127.0.0.1:${p.client}`, '--advertise-client-urls', `http://127.0.0.1:${p.client}`,
      '--listen-peer-urls', `http://127.0.0.1:${p.peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${p.peer}`,
      '--initial-cluster', initialCluster, '--initial-cluster-state', state, '--log-level', 'error'
    ], { stdio: 'ignore' })
  }
  for (let i = 0; i < 3; i++) run(i, 'new')
  const memberIds: string[] = []
  const b64 = (s: string): string => Buffer.from(s).toString('base64')
  const status = async (i: number): Promise<{ member: string, leader: string }> => {
    const s = await etcdPost(peers[i]!.client, '/v3/maintenance/status', {}, 1000)
    return { member: String((s.header as { member_id: string }).member_id), leader: String(s.leader) }
  }
  const cluster: Cluster = {
    leader: async () => await waitFor('an etcd leader', async () => {
      for (let i = 0; i < 3; i++) {
        const s = await status(i).catch(() => null)
        if (s != null && s.leader !== '0') {
          const idx = memberIds.indexOf(s.leader)
          if (idx >= 0) return idx
        }
      }
      return undefined
    }, 10_000, 20),
    put: async (i, key, value, attemptTimeoutMs) => { await etcdPost(peers[i]!.client, '/v3/kv/put', { key: b64(key), value: b64(value) }, attemptTimeoutMs) },
    kill: async i => {
      const p = procs[i]
      if (p == null) return
      const exited = new Promise(resolve => p.once('exit', resolve))
      p.kill('SIGKILL')
      await exited
      procs[i] = null
    },
    restart: async i => { run(i, 'existing') },
    healthy: async () => {
      await waitFor('3 etcd members agreeing on a leader', async () => {
        const all = await Promise.all([0, 1, 2].map(async i => await status(i).catch(() => null)))
        if (all.some(s => s == null)) return false
        if (memberIds.length === 0) memberIds.push(...all.map(s => s!.member))
        const leaders = new Set(all.map(s => s!.leader))
        return leaders.size === 1 && !leaders.has('0')
      }, 30_000, 50)
    },
    stop: async () => {
      for (let i = 0; i < 3; i++) await cluster.kill(i)
      await dirs.cleanup()
    }
  }
  return cluster
}

export async function benchFailover (trials: number, writes: number, log: (l: string) => void): Promise<{ results: FailoverResult[], skipped: string[] }> {
  const results: FailoverResult[] = []
  const skipped: string[] = []
  for (const system of ['meshos', 'etcd 3.4'] as const) {
    const dirs = new TempDirs()
    const cluster = system === 'meshos' ? await startMeshos(dirs) : await startEtcd(dirs)
    if (cluster == null) {
      skipped.push(`${system}: the etcd binary is not installed (apt-get install etcd-server)`)
      continue
    }
    log(`  ${system}: 3 members on 127.0.0.1`)
    try {
      results.push({ system, ...await measure(cluster, trials, writes, log) })
    } finally {
      await cluster.stop()
    }
  }
  return { results, skipped }
}
