// A node's whole configuration: what the CLI (src/cli/agent-config.ts) fills in from flags and
// MESHOS_* env vars. Each layer owns its defaults (gossip/config.ts, election/config.ts,
// tasks/config.ts, executor/config.ts, http/config.ts); this file only assembles them.
import os from 'node:os'
import { DEFAULT_MEMBERSHIP, MEMBERSHIP_LIMITS, type MembershipConfig } from '../gossip/config.js'
import { DEFAULT_ELECTION, type ElectionConfig } from '../election/config.js'
import { DEFAULT_TASKS, type TasksConfig } from '../tasks/config.js'
import { DEFAULT_EXECUTOR, type ExecutorConfig } from '../executor/config.js'
import { DEFAULT_HTTP_PORT, type HttpTokenFile } from '../http/config.js'
import type { ClusterKey } from '../p2p/cluster-key.js'

/** How the agent writes its log: JSON lines, human-readable lines, or (auto) human-readable only
 * when stderr is a terminal. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

export interface NodeConfig {
  listen: string[]
  bootstrap: string[]
  httpHost: string
  httpPort: number
  /** Required of every API client when set; required to serve the API on a non-loopback address. */
  httpToken: HttpTokenFile | null
  dataDir: string
  name: string
  cpus: number
  memoryMb: number
  labels: Record<string, string>
  logLevel: string
  logFormat: LogFormat
  membership: MembershipConfig
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
    // Node-local API: another address needs a token (src/cli/agent-config.ts).
    httpHost: '127.0.0.1',
    httpPort: DEFAULT_HTTP_PORT,
    httpToken: null,
    dataDir: './.meshos',
    name: os.hostname(),
    // A machine beyond what a node may advertise offers the most it may.
    cpus: Math.min(os.cpus().length, MEMBERSHIP_LIMITS.maxCpus),
    memoryMb: Math.min(Math.floor(os.totalmem() / (1024 * 1024)), MEMBERSHIP_LIMITS.maxMemoryMb),
    labels: {},
    logLevel: 'info',
    logFormat: 'auto',
    membership: { ...DEFAULT_MEMBERSHIP },
    election: { ...DEFAULT_ELECTION },
    tasks: { ...DEFAULT_TASKS },
    executor: { ...DEFAULT_EXECUTOR },
    clusterKey: null,
    insecure: false,
  }
}
