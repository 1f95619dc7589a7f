// Turns `meshos agent` flags and MESHOS_* environment variables into a NodeConfig. Flags win over
// the environment, the environment over the defaults in node/config.ts. Every mistake becomes a
// UsageError naming the flag and what is wrong.
import { parseArgs } from 'node:util'
import { defaultNodeConfig, LOG_FORMATS, type LogFormat, type NodeConfig } from '../node/config.js'
import { MEMBERSHIP_LIMITS } from '../gossip/config.js'
import { AddressError, isLoopbackMultiaddr, parseBootstrapAddr, parseMultiaddr } from '../p2p/addresses.js'
import { ClusterKeyError, readClusterKeyFile } from '../p2p/cluster-key.js'
import { StartupError } from '../node/startup-error.js'
import { UsageError } from './usage.js'
import { SCHEDULER_POLICIES, type SchedulerPolicy } from '../scheduler/types.js'
import { HTTP_TOKEN_MIN_CHARS } from '../http/config.js'
import { canonicalHost, isLoopbackHost } from '../http/served-hosts.js'
import { readTokenFile } from './token-file.js'
import { LAUNCHER_PATH, launcherAvailable, SPAWNER_CHOICES, type SpawnerChoice } from '../executor/spawn/spawner.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export const AGENT_OPTIONS = {
  listen: { type: 'string', multiple: true },
  bootstrap: { type: 'string', multiple: true },
  http: { type: 'string' },
  'http-token-file': { type: 'string' },
  'data-dir': { type: 'string' },
  name: { type: 'string' },
  cpus: { type: 'string' },
  memory: { type: 'string' },
  label: { type: 'string', multiple: true },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  voters: { type: 'string' },
  standbys: { type: 'string' },
  scheduler: { type: 'string' },
  spawner: { type: 'string' },
  'cluster-key': { type: 'string' },
  insecure: { type: 'boolean' },
  'task-user': { type: 'string' },
  'task-pids-max': { type: 'string' },
  'task-disk-mb': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

type Env = Record<string, string | undefined>

/** MESHOS_DATA_DIR for --data-dir; repeatable flags take a comma-separated list. */
function fromEnv(env: Env, flag: string): string | undefined {
  const value = env[`MESHOS_${flag.toUpperCase().replace(/-/g, '_')}`]
  return value === undefined || value === '' ? undefined : value
}

function list(flagValues: string[] | undefined, env: Env, flag: string): string[] | undefined {
  if (flagValues != null && flagValues.length > 0) return flagValues
  const raw = fromEnv(env, flag)
  return raw
    ?.split(',')
    .map(s => s.trim())
    .filter(Boolean)
}

/** MESHOS_INSECURE=1 (or true/yes) for --insecure. */
function boolFromEnv(env: Env, flag: string): boolean | undefined {
  const raw = fromEnv(env, flag)
  if (raw === undefined) return undefined
  if (/^(1|true|yes)$/i.test(raw)) return true
  if (/^(0|false|no)$/i.test(raw)) return false
  throw new UsageError(`MESHOS_${flag.toUpperCase()} "${raw}": expected 1 or 0 (true or false)`)
}

/** --cluster-key FILE (or MESHOS_CLUSTER_KEY_FILE) and --insecure. Without a key the node would
 * let anyone who reaches its p2p port join and run commands, so it keeps to loopback unless the
 * operator says --insecure. */
function parseNetworkTrust(values: { 'cluster-key'?: string; insecure?: boolean }, env: Env, cfg: NodeConfig): void {
  const keyFile = values['cluster-key'] ?? fromEnv(env, 'cluster-key-file')
  if (keyFile != null) {
    try {
      cfg.clusterKey = readClusterKeyFile(keyFile)
    } catch (err) {
      if (err instanceof ClusterKeyError) throw new StartupError(err.message)
      throw err
    }
  }
  cfg.insecure = values.insecure ?? boolFromEnv(env, 'insecure') ?? false
  if (cfg.clusterKey != null && cfg.insecure)
    throw new UsageError('--insecure contradicts --cluster-key: a node with a cluster key only accepts key holders')
  if (cfg.clusterKey != null || cfg.insecure) return
  const exposed = cfg.listen.find(a => !isLoopbackMultiaddr(a)) ?? cfg.bootstrap.find(a => !isLoopbackMultiaddr(a))
  if (exposed === undefined) return
  const flag = cfg.listen.includes(exposed) ? '--listen' : '--bootstrap'
  throw new UsageError(
    `${flag} ${exposed} is not a loopback address, and without a cluster key any host that reaches this node ` +
      'could join the cluster and run commands on it: give every node the same --cluster-key FILE ' +
      '(make one with `meshos keygen > cluster.key`), or --insecure to run without one',
  )
}

export function parseHostPort(value: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value) ?? /^(\d+)$/.exec(value)
  if (m == null) throw new UsageError(`--${flag} "${value}": expected HOST:PORT, e.g. 127.0.0.1:7070`)
  const portText = m.length === 2 ? m[1] : m[3]
  const host = m.length === 2 ? '127.0.0.1' : (m[1] ?? m[2] ?? '')
  const port = Number(portText)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--${flag} "${value}": port must be 0-65535`)
  if (host === '') throw new UsageError(`--${flag} "${value}": host is empty`)
  return { host, port }
}

function positiveNumber(value: string, flag: string, integer: boolean, max = Infinity): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${flag} "${value}": expected a positive ${integer ? 'integer' : 'number'}`)
  }
  if (n > max) throw new UsageError(`--${flag} "${value}": at most ${max} (peers refuse a node that offers more)`)
  return n
}

function parseLabels(values: string[]): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const v of values) {
    const eq = v.indexOf('=')
    if (eq <= 0) throw new UsageError(`--label "${v}": expected KEY=VALUE, e.g. --label zone=edge`)
    const key = v.slice(0, eq)
    if (!/^[A-Za-z0-9_.\-/]{1,63}$/.test(key))
      throw new UsageError(`--label "${v}": key may hold letters, digits, _ . - / (at most 63)`)
    const value = v.slice(eq + 1)
    if (value.length > 255) throw new UsageError(`--label "${key}=…": value is longer than 255 characters`)
    labels[key] = value
  }
  if (Object.keys(labels).length > MEMBERSHIP_LIMITS.maxLabels)
    throw new UsageError(`--label: at most ${MEMBERSHIP_LIMITS.maxLabels} labels`)
  return labels
}

export function parseAgentArgs(args: string[], env: Env): NodeConfig | 'help' {
  let values
  try {
    ;({ values } = parseArgs({ args, options: AGENT_OPTIONS, strict: true, allowPositionals: false }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.help === true) return 'help'
  const cfg = defaultNodeConfig()
  try {
    const listen = list(values.listen, env, 'listen')
    if (listen != null) cfg.listen = listen.map(a => parseMultiaddr(a, '--listen').toString())
    const bootstrap = list(values.bootstrap, env, 'bootstrap')
    if (bootstrap != null) cfg.bootstrap = bootstrap.map(a => parseBootstrapAddr(a).toString())
  } catch (err) {
    if (err instanceof AddressError) throw new UsageError(err.message)
    throw err
  }
  const http = values.http ?? fromEnv(env, 'http')
  if (http != null) ({ host: cfg.httpHost, port: cfg.httpPort } = parseHostPort(http, 'http'))
  const tokenFile = values['http-token-file'] ?? fromEnv(env, 'http-token-file')
  if (tokenFile != null) {
    const { token, mode } = readTokenFile(tokenFile, '--http-token-file')
    if (token.length < HTTP_TOKEN_MIN_CHARS)
      throw new UsageError(
        `--http-token-file "${tokenFile}": the token has ${token.length} characters, at least ${HTTP_TOKEN_MIN_CHARS} are needed (make one with \`meshos http-token FILE\`)`,
      )
    cfg.httpToken = { token, path: tokenFile, mode }
  }
  // Anyone who reaches a non-loopback address could run commands as this agent's user.
  if (cfg.httpToken === null && !isLoopbackHost(canonicalHost(cfg.httpHost) ?? cfg.httpHost))
    throw new UsageError(
      `--http "${http ?? cfg.httpHost}": serving the API on a non-loopback address needs --http-token-file FILE (make one with \`meshos http-token FILE\`)`,
    )
  cfg.dataDir = values['data-dir'] ?? fromEnv(env, 'data-dir') ?? cfg.dataDir
  const name = values.name ?? fromEnv(env, 'name')
  if (name != null) {
    if (name.length === 0 || name.length > 255) throw new UsageError('--name: must be 1-255 characters')
    cfg.name = name
  }
  const cpus = values.cpus ?? fromEnv(env, 'cpus')
  if (cpus != null) cfg.cpus = positiveNumber(cpus, 'cpus', false, MEMBERSHIP_LIMITS.maxCpus)
  const memory = values.memory ?? fromEnv(env, 'memory')
  if (memory != null) cfg.memoryMb = positiveNumber(memory, 'memory', true, MEMBERSHIP_LIMITS.maxMemoryMb)
  const labels = list(values.label, env, 'label')
  if (labels != null) cfg.labels = parseLabels(labels)
  const voters = values.voters ?? fromEnv(env, 'voters')
  if (voters != null) {
    const n = positiveNumber(voters, 'voters', true)
    if (n > 9) throw new UsageError(`--voters "${voters}": at most 9 (every voter slows every commit)`)
    cfg.election.maxVoters = n
  }
  const standbys = values.standbys ?? fromEnv(env, 'standbys')
  if (standbys != null) {
    const n = Number(standbys)
    if (standbys.trim() === '' || !Number.isInteger(n) || n < 0 || n > 9)
      throw new UsageError(`--standbys "${standbys}": expected an integer 0-9`)
    cfg.election.maxStandbys = n
  }
  const scheduler = values.scheduler ?? fromEnv(env, 'scheduler')
  if (scheduler != null) {
    if (!(SCHEDULER_POLICIES as readonly string[]).includes(scheduler))
      throw new UsageError(`--scheduler "${scheduler}": expected one of ${SCHEDULER_POLICIES.join(', ')}`)
    cfg.tasks.policy = scheduler as SchedulerPolicy
  }
  const spawner = values.spawner ?? fromEnv(env, 'spawner')
  if (spawner != null) {
    if (!(SPAWNER_CHOICES as readonly string[]).includes(spawner))
      throw new UsageError(`--spawner "${spawner}": expected one of ${SPAWNER_CHOICES.join(', ')}`)
    if (spawner === 'launcher' && !launcherAvailable())
      throw new UsageError(
        `--spawner launcher: meshos-launcher is not built at ${LAUNCHER_PATH} (npm run build needs a C compiler)`,
      )
    cfg.executor.spawner = spawner as SpawnerChoice
  }
  const taskUser = values['task-user'] ?? fromEnv(env, 'task-user')
  if (taskUser != null) {
    if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,31}$/.test(taskUser))
      throw new UsageError(`--task-user "${taskUser}": expected a user name or a numeric uid`)
    cfg.executor.taskUser = taskUser
  }
  const pidsMax = values['task-pids-max'] ?? fromEnv(env, 'task-pids-max')
  if (pidsMax != null) cfg.executor.pidsMax = positiveNumber(pidsMax, 'task-pids-max', true)
  const diskMb = values['task-disk-mb'] ?? fromEnv(env, 'task-disk-mb')
  if (diskMb != null) cfg.executor.maxWorkDirBytes = positiveNumber(diskMb, 'task-disk-mb', true) * 1024 * 1024
  const logLevel = values['log-level'] ?? fromEnv(env, 'log-level')
  if (logLevel != null) {
    if (!LOG_LEVELS.includes(logLevel))
      throw new UsageError(`--log-level "${logLevel}": expected one of ${LOG_LEVELS.join(', ')}`)
    cfg.logLevel = logLevel
  }
  const logFormat = values['log-format'] ?? fromEnv(env, 'log-format')
  if (logFormat != null) {
    if (!(LOG_FORMATS as readonly string[]).includes(logFormat))
      throw new UsageError(`--log-format "${logFormat}": expected one of ${LOG_FORMATS.join(', ')}`)
    cfg.logFormat = logFormat as LogFormat
  }
  // Last: it reads the key file, which only makes sense once every flag is known to be right.
  parseNetworkTrust(values, env, cfg)
  return cfg
}
