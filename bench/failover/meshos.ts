// meshos in the failover benchmark: 3 agent processes on 127.0.0.1, written to over HTTP.
import { AgentProcess } from '../../harness/agent-process.js'
import type { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import { httpTo } from '../lib/http.js'
import type { Cluster } from './measure.js'
import { DEFAULT_ELECTION as E } from '../../src/election/config.js'

/** A voter the leader heard from within two heartbeats is in contact. */
const IN_CONTACT_MS = 2 * E.heartbeatTicks * E.tickMs

function meshosCluster(dirs: TempDirs, agents: AgentProcess[]): Cluster {
  const leaderIndex = async (): Promise<number> => {
    for (let i = 0; i < agents.length; i++) {
      const s = await agents[i]!.client.status().catch(() => null)
      if (s?.role === 'leader') return i
    }
    throw new Error('no leader')
  }
  return {
    leader: async () =>
      await waitFor('a meshos leader', async () => await leaderIndex().catch(() => undefined), 10_000, 20),
    put: async (i, key, value, attemptTimeoutMs) => {
      const res = await httpTo(agents[i]!.client.baseUrl).request(
        'PUT',
        `/v1/kv/${encodeURIComponent(key)}`,
        { value },
        attemptTimeoutMs,
      )
      if (res.status < 200 || res.status >= 300)
        throw new Error(`meshos PUT: ${res.status} ${JSON.stringify(res.body)}`)
    },
    kill: async i => {
      await agents[i]!.kill()
    },
    restart: async i => {
      agents[i] = await agents[i]!.restart()
    },
    healthy: async () => {
      await waitFor(
        '3 meshos voters in contact',
        async () => {
          const statuses = await Promise.all(agents.map(async a => await a.client.status()))
          const leaders = new Set(statuses.map(s => s.leader))
          if (leaders.size !== 1 || statuses.some(s => s.leader == null)) return false
          const c = await agents[statuses.findIndex(s => s.role === 'leader')]!.client.cluster()
          return (
            c.voters.length === 3 && c.voters.every(v => v.lastContactMs != null && v.lastContactMs < IN_CONTACT_MS)
          )
        },
        30_000,
        50,
      )
    },
    pids: () => agents.map(a => a.pid),
    stop: async () => {
      await Promise.all(
        agents.map(async a => {
          await a.kill()
        }),
      )
      await dirs.cleanup()
    },
  }
}

export async function startMeshos(dirs: TempDirs): Promise<Cluster> {
  const agents: AgentProcess[] = []
  agents.push(await AgentProcess.start({ name: 'f1', dataDir: await dirs.make('meshos-failover-') }))
  for (const name of ['f2', 'f3']) {
    agents.push(
      await AgentProcess.start({ name, dataDir: await dirs.make('meshos-failover-'), bootstrap: [agents[0]!.addr] }),
    )
  }
  return meshosCluster(dirs, agents)
}
