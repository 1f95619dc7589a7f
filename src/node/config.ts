// A node's whole configuration: what the CLI (src/cli/agent-config.ts) fills in from flags and
// MESHOS_* env vars. Each layer owns its defaults (gossip/config.ts, election/config.ts,
// tasks/config.ts, executor/config.ts, http/config.ts); this file only assembles them.
import os from 'node:os'
import { DEFAULT_JOIN, DEFAULT_MEMBERSHIP, type JoinConfig, type MembershipConfig } from '../gossip/config.js'
import { DEFAULT_ELECTION, type ElectionConfig } from '../election/config.js'
import { DEFAULT_TASKS, type TasksConfig } from '../tasks/config.js'
import { DEFAULT_EXECUTOR, type ExecutorConfig } from '../executor/config.js'
import { DEFAULT_HTTP_PORT } from '../http/config.js'
import type { ClusterKey } from '../p2p/cluster-key.js'

export interface NodeConfig {
  listen: string[]
  bootstrap: string[]
  httpHost: string
  httpPort: number
  dataDir: string
  name: string
  cpus: number
  memoryMb: number
  labels: Record<string, string>
  logLevel: string
  membership: MembershipConfig
  join: JoinConfig
  election: ElectionConfig
  tasks: TasksConfig
  executor: ExecutorConfig
  /** The private network this node is in (--cluster-key); null: none, loopback peers only
   * unless `insecure`. */
  clusterKey: ClusterKey | null
  /** --insecure: no cluster key, yet reachable beyond loopback; reported in status. */
  insecure: boolean
}

export const DEFAULT_P2P_PORT = 7000

export function defaultNodeConfig(): NodeConfig {
  return {
    listen: [`/ip4/127.0.0.1/tcp/${DEFAULT_P2P_PORT}`],
    bootstrap: [],
    // Node-local API: loopback only until authentication exists.
    httpHost: '127.0.0.1',
    httpPort: DEFAULT_HTTP_PORT,
    dataDir: './.meshos',
    name: os.hostname(),
    cpus: os.cpus().length,
    memoryMb: Math.floor(os.totalmem() / (1024 * 1024)),
    labels: {},
    logLevel: 'info',
    membership: { ...DEFAULT_MEMBERSHIP },
    join: { ...DEFAULT_JOIN },
    election: { ...DEFAULT_ELECTION },
    tasks: { ...DEFAULT_TASKS },
    executor: { ...DEFAULT_EXECUTOR },
    clusterKey: null,
    insecure: false,
  }
}
