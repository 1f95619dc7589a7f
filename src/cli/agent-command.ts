// `meshos agent`: runs one node in the foreground until SIGINT/SIGTERM, then leaves the cluster
// gracefully. Start-up order: p2p (identity, listen), HTTP API, then joining — so a port in use
// fails before any peer has heard of the node, and a node whose bootstrap peer is unreachable
// still answers its API while it retries.
import { pino, destination } from 'pino'
import { MeshosNode } from '../node/meshos-node.js'
import { StartupError } from '../node/startup-error.js'
import { buildHttpApp } from '../http/app.js'
import { parseAgentArgs } from './agent-config.js'
import { USAGE } from './usage.js'
import { DEFAULT_HTTP_PORT } from '../http/config.js'
import { DEFAULT_P2P_PORT } from '../node/config.js'

export async function agentCommand(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const cfg = parseAgentArgs(args, env)
  if (cfg === 'help') {
    process.stdout.write(USAGE)
    return 0
  }
  // Logs are JSON lines on stderr; stdout carries only the start-up banner.
  const log = pino({ level: cfg.logLevel, base: { node: cfg.name } }, destination(2))
  const node = await MeshosNode.create(cfg, log, {
    // Fail-stop: a node that can neither run nor report tasks must not look healthy.
    onFatal: reason => {
      log.fatal({ reason }, 'stopping the agent')
      process.exit(1)
    },
  })
  if (cfg.httpToken !== null && (cfg.httpToken.mode & 0o044) !== 0)
    log.warn(
      { file: cfg.httpToken.path, mode: `0${cfg.httpToken.mode.toString(8)}` },
      `other users can read the API token file: chmod 600 ${cfg.httpToken.path}`,
    )
  const app = buildHttpApp(node, log, { host: cfg.httpHost, port: cfg.httpPort, token: cfg.httpToken?.token ?? null })
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
  process.stdout.write(
    [
      `meshos node "${cfg.name}" started`,
      `  peer id:  ${node.host.peerId}`,
      ...addrs.map(a => `  listen:   ${a}`),
      `  http api: ${httpUrl}`,
      ...(cfg.httpToken === null ? [] : [`  api token: required (--http-token-file ${cfg.httpToken.path})`]),
      `  data dir: ${cfg.dataDir}`,
      'to join this node from another machine:',
      `  npx meshos agent --bootstrap ${joinAddr} --listen /ip4/0.0.0.0/tcp/${DEFAULT_P2P_PORT}`,
      ...(joinAddr.startsWith('/ip4/127.') || joinAddr.startsWith('/ip6/::1/')
        ? [
            '  (this node listens on loopback only: start it with --listen /ip4/0.0.0.0/tcp/PORT to be reachable)',
            'a second node on this machine:',
            `  npx meshos agent --bootstrap ${joinAddr} --listen /ip4/127.0.0.1/tcp/${DEFAULT_P2P_PORT + 1} --http 127.0.0.1:${DEFAULT_HTTP_PORT + 1} --data-dir ./.meshos-2`,
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
