// `meshos agent`: runs one node in the foreground until SIGINT/SIGTERM, then leaves the cluster
// gracefully. Start-up order: p2p (identity, listen), HTTP API, then joining — so a port in use
// fails before any peer has heard of the node, and a node whose bootstrap peer is unreachable
// still answers its API while it retries.
import path from 'node:path'
import { MeshosNode } from '../node/meshos-node.js'
import { StartupError } from '../node/startup-error.js'
import { buildHttpApp } from '../http/app.js'
import { parseAgentArgs } from './agent-config.js'
import { USAGE } from './usage.js'
import { DEFAULT_HTTP_PORT } from '../http/config.js'
import { DEFAULT_P2P_PORT } from '../node/config.js'
import { clusterKeyFileIsShared } from '../p2p/cluster-key.js'
import { agentLogger } from './agent-log.js'

const INSECURE_WARNING =
  '--insecure: no cluster key, so any host that reaches this node can join the cluster and run commands on it'

/** How another machine joins: with this node's key, or, without one, how to make a key first
 * (a node without a key accepts no peer beyond loopback unless --insecure). */
function joinHints(joinAddr: string, loopbackOnly: boolean, keyArg: string, insecure: boolean): string[] {
  if (keyArg === '')
    return [
      insecure
        ? 'this node has no cluster key. To let other machines join safely:'
        : 'this node has no cluster key, so only nodes on this machine can join it. To let other machines join:',
      '  (umask 077; npx meshos keygen > cluster.key)   and copy cluster.key to each machine',
      `  restart every node with --cluster-key cluster.key (this one also with --listen /ip4/0.0.0.0/tcp/${DEFAULT_P2P_PORT})`,
    ]
  return [
    'to join this node from another machine (copy the key file there first, readable by its owner only):',
    `  npx meshos agent${keyArg} --bootstrap ${joinAddr} --listen /ip4/0.0.0.0/tcp/${DEFAULT_P2P_PORT}`,
    ...(loopbackOnly
      ? ['  (this node listens on loopback only: start it with --listen /ip4/0.0.0.0/tcp/PORT to be reachable)']
      : []),
  ]
}

export async function agentCommand(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const cfg = parseAgentArgs(args, env)
  if (cfg === 'help') {
    process.stdout.write(USAGE)
    return 0
  }
  // Logs go to stderr (agent-log.ts); stdout carries only the start-up banner.
  let log = agentLogger({ level: cfg.logLevel, format: cfg.logFormat, name: cfg.name })
  if (cfg.insecure) log.warn({ listen: cfg.listen }, INSECURE_WARNING)
  if (cfg.clusterKey != null && clusterKeyFileIsShared(cfg.clusterKey))
    log.warn(
      { file: cfg.clusterKey.file, mode: cfg.clusterKey.mode.toString(8) },
      'the cluster key file is readable by group or others: anyone who reads it can join the cluster (chmod 600 it)',
    )
  const node = await MeshosNode.create(cfg, log, {
    // Fail-stop: a node that can neither run nor report tasks must not look healthy.
    onFatal: reason => {
      log.fatal({ reason }, 'stopping the agent')
      process.exit(1)
    },
  })
  log = log.child({ nodeId: node.host.peerId })
  if (cfg.httpToken !== null && (cfg.httpToken.mode & 0o044) !== 0)
    log.warn(
      { file: cfg.httpToken.path, mode: `0${cfg.httpToken.mode.toString(8)}` },
      `other users can read the API token file: chmod 600 ${cfg.httpToken.path}`,
    )
  const { taskUid } = node.status().isolation
  const app = buildHttpApp(node, log, {
    host: cfg.httpHost,
    port: cfg.httpPort,
    token: cfg.httpToken?.token ?? null,
    // Tasks running as another user must not drive the node through its API.
    refusedUids: taskUid !== (process.geteuid?.() ?? -1) ? [taskUid] : [],
  })
  try {
    await app.listen({ host: cfg.httpHost, port: cfg.httpPort })
  } catch (err) {
    await node.stop(false)
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'EADDRINUSE' ? 'address already in use (pick another with --http)' : (err as Error).message
    throw new StartupError(`cannot serve HTTP on ${cfg.httpHost}:${cfg.httpPort}: ${why}`)
  }
  const httpAddr = app.server.address()
  // A wildcard is no Host the API answers (src/http/served-hosts.ts); from here it is loopback.
  const shownHost = (address: string): string =>
    address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '[::1]' : address.includes(':') ? `[${address}]` : address
  const httpUrl =
    httpAddr != null && typeof httpAddr === 'object'
      ? `http://${shownHost(httpAddr.address)}:${httpAddr.port}`
      : `http://${cfg.httpHost}:${cfg.httpPort}`
  await node.start()
  const addrs = node.host.multiaddrs()
  // Prefer an address another machine can reach; a loopback one only works on this host.
  const joinAddr = addrs.find(a => !/^\/ip[46]\/(127\.|::1\/)/.test(a)) ?? addrs[0] ?? '<multiaddr>'
  const loopbackOnly = joinAddr.startsWith('/ip4/127.') || joinAddr.startsWith('/ip6/::1/')
  const keyArg = cfg.clusterKey != null ? ` --cluster-key ${path.resolve(cfg.clusterKey.file)}` : ''
  process.stdout.write(
    [
      `meshos node "${cfg.name}" started`,
      `  peer id:  ${node.host.peerId}`,
      ...addrs.map(a => `  listen:   ${a}`),
      `  http api: ${httpUrl}`,
      `  dashboard: ${httpUrl}/`,
      ...(cfg.httpToken === null ? [] : [`  api token: required (--http-token-file ${cfg.httpToken.path})`]),
      `  data dir: ${cfg.dataDir}`,
      ...(cfg.insecure ? [`WARNING: ${INSECURE_WARNING}`] : []),
      ...joinHints(joinAddr, loopbackOnly, keyArg, cfg.insecure),
      ...(loopbackOnly
        ? [
            'a second node on this machine:',
            `  npx meshos agent${keyArg} --bootstrap ${joinAddr} --listen /ip4/127.0.0.1/tcp/${DEFAULT_P2P_PORT + 1} --http 127.0.0.1:${DEFAULT_HTTP_PORT + 1} --data-dir ./.meshos-2`,
          ]
        : []),
      '',
    ].join('\n'),
  )

  return await new Promise<number>(resolve => {
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without a clean stop')
        resolve(130)
        return
      }
      stopping = true
      log.info({ signal }, 'stopping: announcing leave')
      void (async () => {
        await node.stop(true).catch(err => {
          log.error({ err }, 'error while stopping the node')
        })
        await app.close().catch(() => {})
        resolve(0)
      })()
    }
    process.on('SIGINT', () => {
      stop('SIGINT')
    })
    process.on('SIGTERM', () => {
      stop('SIGTERM')
    })
  })
}
