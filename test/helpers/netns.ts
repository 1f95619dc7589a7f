// Separate "hosts" for partition tests: one network namespace per node, each with a veth into a
// bridge that lives in a hub namespace, addresses 10.77.0.X/24 that exist only inside namespaces
// this helper created (never in the root namespace), and iptables rules inside a node's own
// namespace to cut it off. Needs root, `ip` (iproute2) and `iptables`; see netnsUnavailable().
//
// How the test process reaches a node's HTTP API: each agent serves HTTP on 127.0.0.1:7070 of its
// own namespace (every namespace has its own loopback, so all agents use the same port and the
// partition rules, which only name 10.77.0.X addresses, never touch the API path). A tiny
// forwarder process runs in that namespace and listens on a Unix socket in a temp dir; Unix
// sockets bound to a path belong to the filesystem, not to a network namespace, so the test
// process can connect to it from the root namespace. In the test process a loopback TCP listener
// pipes each connection into that socket, so a node is reached through an ordinary MeshClient
// on http://127.0.0.1:<port>, and every helper written for loopback agents works unchanged.
// (The alternatives were worse: `ip netns exec ... curl` per poll costs a process per request, and
// a veth into the root namespace would put 10.x addresses and routes on the host.)
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import { MeshClient } from '../../src/client/client.js'
import { MESHOS_BIN } from '../../harness/agent-process.js'
import { waitFor } from '../../harness/wait-for.js'
import { runClusterKeyFile } from '../../harness/cluster-key.js'

const execFileP = promisify(execFile)

export const NETNS_SUBNET = '10.77.0'
/** Every agent listens on these inside its own namespace. */
const P2P_PORT = 7000
const HTTP_PORT = 7070

function onPath(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error == null
}

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  const uid = process.getuid?.()
  if (uid !== 0)
    return `needs root to create network namespaces and iptables rules (running as uid ${uid ?? 'unknown'}); CI runs it as root`
  if (!onPath('ip')) return '`ip` (iproute2) is not installed'
  if (!onPath('iptables')) return '`iptables` is not installed (apt-get install -y iptables)'
  return undefined
}

async function run(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { timeout: 10_000 })
    return stdout
  } catch (err) {
    const e = err as { stderr?: string; message: string }
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() ?? e.message}`)
  }
}

/** A hub namespace with a bridge, and node namespaces attached to it. Everything it creates is
 * recorded before it is created, so destroy() removes a half-built lab too. */
export class NetnsLab {
  readonly prefix: string
  readonly hub: string
  private readonly namespaces: string[] = []
  /** Partition rules currently installed, per namespace, as iptables argument lists. */
  private readonly rules = new Map<string, string[][]>()
  private readonly exitHook = (): void => {
    this.destroySync()
  }

  constructor(prefix = `msh${process.pid}`) {
    this.prefix = prefix
    this.hub = `${prefix}h`
    // Last resort if mocha is interrupted: namespaces outlive the process otherwise.
    process.once('exit', this.exitHook)
  }

  nsName(i: number): string {
    return `${this.prefix}n${i}`
  }

  ipOf(i: number): string {
    return `${NETNS_SUBNET}.${i}`
  }

  /** `ip netns exec ns cmd args...` */
  async exec(ns: string, cmd: string, args: string[]): Promise<string> {
    return await run('ip', ['netns', 'exec', ns, cmd, ...args])
  }

  private async addNs(name: string): Promise<void> {
    this.namespaces.push(name)
    await run('ip', ['netns', 'add', name])
    await this.exec(name, 'ip', ['link', 'set', 'lo', 'up'])
  }

  /** Creates the hub and node namespaces 1..n (addresses 10.77.0.1..n). */
  async create(n: number): Promise<void> {
    await this.addNs(this.hub)
    await this.exec(this.hub, 'ip', ['link', 'add', 'br0', 'type', 'bridge'])
    await this.exec(this.hub, 'ip', ['link', 'set', 'br0', 'up'])
    for (let i = 1; i <= n; i++) {
      const ns = this.nsName(i)
      await this.addNs(ns)
      // Both ends are created directly inside their namespaces: nothing ever appears in the root
      // namespace, and deleting the node namespace deletes the pair.
      await run('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', `v${i}`, 'netns', this.hub])
      await this.exec(this.hub, 'ip', ['link', 'set', `v${i}`, 'master', 'br0'])
      await this.exec(this.hub, 'ip', ['link', 'set', `v${i}`, 'up'])
      await this.exec(ns, 'ip', ['addr', 'add', `${this.ipOf(i)}/24`, 'dev', 'eth0'])
      await this.exec(ns, 'ip', ['link', 'set', 'eth0', 'up'])
    }
  }

  /** Drops every packet between `ns` and `peers`, both directions, with rules inside `ns` only. */
  async isolate(ns: string, peers: string[]): Promise<void> {
    const list = this.rules.get(ns) ?? []
    this.rules.set(ns, list)
    for (const peer of peers) {
      for (const rule of [
        ['INPUT', '-s', peer, '-j', 'DROP'],
        ['OUTPUT', '-d', peer, '-j', 'DROP'],
      ]) {
        await this.exec(ns, 'iptables', ['-A', ...rule])
        list.push(rule)
      }
    }
  }

  /** Removes the rules isolate() installed in `ns`. */
  async heal(ns: string): Promise<void> {
    const list = this.rules.get(ns) ?? []
    while (list.length > 0) {
      const rule = list[list.length - 1]!
      await this.exec(ns, 'iptables', ['-D', ...rule])
      list.pop()
    }
  }

  /** iptables rules currently in `ns`, as `iptables -S` prints them. */
  async listRules(ns: string): Promise<string> {
    return await this.exec(ns, 'iptables', ['-S'])
  }

  /** Deletes every namespace this lab created (which takes their veths and rules with them). */
  async destroy(): Promise<void> {
    const failures: string[] = []
    for (const ns of this.namespaces.splice(0).reverse()) {
      try {
        await run('ip', ['netns', 'del', ns])
      } catch (err) {
        failures.push((err as Error).message)
      }
    }
    this.rules.clear()
    process.removeListener('exit', this.exitHook)
    if (failures.length > 0) throw new Error(`netns cleanup: ${failures.join('; ')}`)
  }

  private destroySync(): void {
    for (const ns of this.namespaces.splice(0).reverse()) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
  }

  /** Namespaces of this lab that still exist (for asserting the cleanup). */
  async leftovers(): Promise<string[]> {
    const out = await run('ip', ['netns', 'list'])
    return out
      .split('\n')
      .map(l => l.split(' ')[0] ?? '')
      .filter(n => n.startsWith(this.prefix))
  }
}

/** Runs inside a node's namespace: accepts on a Unix socket, connects to the agent's loopback
 * HTTP port, and pipes both ways. argv: socket path, port. */
const FORWARDER_SRC = `
const net = require('node:net');
const [sock, port] = process.argv.slice(1);
net.createServer(c => {
  const u = net.connect(Number(port), '127.0.0.1');
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
}).listen(sock, () => console.log('forwarding ' + sock));
`

export interface NetnsAgentOptions {
  lab: NetnsLab
  /** Node number: namespace lab.nsName(i), address lab.ipOf(i). */
  index: number
  name: string
  dataDir: string
  /** Directory for the forwarder's Unix socket (short path: sun_path is ~108 bytes). */
  sockDir: string
  bootstrap?: string[]
  extraArgs?: string[]
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (child == null || exited(child)) return
  const gone = new Promise<void>(resolve =>
    child.once('exit', () => {
      resolve()
    }),
  )
  child.kill('SIGKILL')
  await gone
}

/** A `meshos agent` running in its own namespace, reachable through `client` like AgentProcess. */
export class NetnsAgent {
  client = new MeshClient('http://127.0.0.1:0')
  peerId = ''
  /** Full multiaddr on 10.77.0.X (with /p2p/) that others bootstrap from. */
  addr = ''
  readonly ns: string
  readonly ip: string
  readonly opts: { name: string }
  private output = ''
  private agent: ChildProcess | undefined
  private forwarder: ChildProcess | undefined
  private bridge: net.Server | undefined
  private readonly sockets = new Set<net.Socket>()
  /** If the test process exits without stop() (interrupted), its children must not outlive it. */
  private readonly exitHook = (): void => {
    for (const c of [this.agent, this.forwarder]) if (c != null && !exited(c)) c.kill('SIGKILL')
  }

  private constructor(readonly options: NetnsAgentOptions) {
    this.ns = options.lab.nsName(options.index)
    this.ip = options.lab.ipOf(options.index)
    this.opts = { name: options.name }
    process.once('exit', this.exitHook)
  }

  /** Starts the agent, its forwarder and the local bridge. Whatever started is recorded on the
   * returned object; on failure everything is stopped before the error is thrown. */
  static async start(options: NetnsAgentOptions, record: (a: NetnsAgent) => void): Promise<NetnsAgent> {
    const a = new NetnsAgent(options)
    record(a)
    try {
      await a.launch()
    } catch (err) {
      await a.stop()
      throw new Error(`${options.name} in ${a.ns}: ${(err as Error).message}\n--- log ---\n${a.output.slice(-3000)}`)
    }
    return a
  }

  private async launch(): Promise<void> {
    const o = this.options
    const args = [
      'netns',
      'exec',
      this.ns,
      process.execPath,
      MESHOS_BIN,
      'agent',
      '--name',
      o.name,
      '--data-dir',
      o.dataDir,
      '--listen',
      `/ip4/${this.ip}/tcp/${P2P_PORT}`,
      '--http',
      `127.0.0.1:${HTTP_PORT}`,
      '--log-level',
      process.env.MESHOS_TEST_LOG_LEVEL ?? 'info',
      ...(o.bootstrap ?? []).flatMap(b => ['--bootstrap', b]),
      // Not loopback: an agent without a key would refuse this address.
      '--cluster-key',
      runClusterKeyFile(),
      ...(o.extraArgs ?? []),
    ]
    // `ip netns exec` execs the command, so this pid is the node process itself.
    const agent = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.agent = agent
    agent.stdout?.on('data', (d: Buffer) => {
      this.output += d.toString()
    })
    agent.stderr?.on('data', (d: Buffer) => {
      this.output += d.toString()
    })

    const sock = path.join(o.sockDir, `${o.index}.sock`)
    const forwarder = spawn(
      'ip',
      ['netns', 'exec', this.ns, process.execPath, '-e', FORWARDER_SRC, sock, String(HTTP_PORT)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    this.forwarder = forwarder
    let fwdOut = ''
    forwarder.stdout?.on('data', (d: Buffer) => {
      fwdOut += d.toString()
    })
    forwarder.stderr?.on('data', (d: Buffer) => {
      fwdOut += d.toString()
    })

    await waitFor(
      `${o.name} to print its HTTP address`,
      async () => {
        if (exited(agent)) throw new Error(`agent exited (${agent.signalCode ?? agent.exitCode})`)
        return /http api: (http:\/\/\S+)/.test(this.output)
      },
      30_000,
    )
    await waitFor(
      `${o.name}'s forwarder to listen`,
      async () => {
        if (exited(forwarder))
          throw new Error(`forwarder exited (${forwarder.signalCode ?? forwarder.exitCode}): ${fwdOut}`)
        return fwdOut.includes('forwarding')
      },
      10_000,
    )

    const bridge = net.createServer(c => {
      const u = net.connect(sock)
      this.sockets.add(c).add(u)
      c.pipe(u)
      u.pipe(c)
      const drop = (): void => {
        c.destroy()
        u.destroy()
        this.sockets.delete(c)
        this.sockets.delete(u)
      }
      c.on('error', drop).on('close', drop)
      u.on('error', drop).on('close', drop)
    })
    this.bridge = bridge
    const port = await new Promise<number>((resolve, reject) => {
      bridge.once('error', reject)
      bridge.listen(0, '127.0.0.1', () => {
        resolve((bridge.address() as net.AddressInfo).port)
      })
    })
    this.client = new MeshClient(`http://127.0.0.1:${port}`, { timeoutMs: 2000 })
    const status = await waitFor(
      `${o.name} to answer /v1/status through the forwarder`,
      async () => await this.client.status(),
      10_000,
    )
    this.peerId = status.nodeId
    this.addr = status.addrs.find(a => a.includes(`/ip4/${this.ip}/`)) ?? status.addrs[0] ?? ''
    if (this.addr === '') throw new Error('agent reports no address')
  }

  get logs(): string {
    return this.output
  }

  get pid(): number {
    return this.agent?.pid ?? -1
  }

  /** SIGKILLs the agent and the forwarder and closes the bridge. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all([killChild(this.agent), killChild(this.forwarder)])
    process.removeListener('exit', this.exitHook)
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
    const bridge = this.bridge
    this.bridge = undefined
    if (bridge != null)
      await new Promise<void>(resolve => {
        bridge.close(() => {
          resolve()
        })
      })
  }
}
