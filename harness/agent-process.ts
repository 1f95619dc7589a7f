// Real `meshos agent` processes for integration tests and benchmarks: spawned from the built
// binary, talking libp2p over loopback, observed only through their HTTP API.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MeshClient, type NodeView } from '../src/client/client.js'
import { waitFor } from './wait-for.js'
import { runClusterKeyFile } from './cluster-key.js'

/** The built CLI: this file runs as dist/harness/agent-process.js, the CLI as dist/src/cli/main.js. */
export const MESHOS_BIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url))

export interface AgentOptions {
  name: string
  dataDir: string
  bootstrap?: string[]
  p2pPort?: number
  httpPort?: number
  /** Key file for --cluster-key; null: none (the agent then keeps to loopback peers).
   * Default: the run's key (harness/cluster-key.ts), so agents of one run form one cluster. */
  clusterKey?: string | null
  extraArgs?: string[]
  /** The API token the agent's --http-token-file holds (in extraArgs), for its client. */
  token?: string
}

export class AgentProcess {
  client: MeshClient
  peerId = ''
  /** The full multiaddr (with /p2p/) others bootstrap from. */
  addr = ''
  private output = ''
  private exitPromise: Promise<number | null>

  private constructor(
    readonly opts: Required<Omit<AgentOptions, 'extraArgs' | 'token'>> & { extraArgs: string[]; token?: string },
    readonly child: ChildProcess,
  ) {
    this.client = new MeshClient('http://127.0.0.1:0')
    child.stdout?.on('data', (d: Buffer) => {
      this.output += d.toString()
    })
    child.stderr?.on('data', (d: Buffer) => {
      this.output += d.toString()
    })
    this.exitPromise = new Promise(resolve =>
      child.once('exit', code => {
        resolve(code)
      }),
    )
  }

  /** Starts an agent. Ports default to 0 (the OS picks free ones, no race with other tests);
   * the actual ports are read back and kept, so restart() comes back on the same addresses. */
  static async start(opts: AgentOptions): Promise<AgentProcess> {
    const full = {
      name: opts.name,
      dataDir: opts.dataDir,
      bootstrap: opts.bootstrap ?? [],
      p2pPort: opts.p2pPort ?? 0,
      httpPort: opts.httpPort ?? 0,
      clusterKey: opts.clusterKey === undefined ? runClusterKeyFile() : opts.clusterKey,
      extraArgs: opts.extraArgs ?? [],
      token: opts.token,
    }
    const args = [
      MESHOS_BIN,
      'agent',
      '--name',
      full.name,
      '--data-dir',
      full.dataDir,
      '--listen',
      `/ip4/127.0.0.1/tcp/${full.p2pPort}`,
      '--http',
      `127.0.0.1:${full.httpPort}`,
      '--log-level',
      process.env.MESHOS_TEST_LOG_LEVEL ?? 'info',
      ...full.bootstrap.flatMap(b => ['--bootstrap', b]),
      ...(full.clusterKey != null ? ['--cluster-key', full.clusterKey] : []),
      ...full.extraArgs,
    ]
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const agent = new AgentProcess(full, child)
    try {
      const httpUrl = await waitFor(
        `${full.name} to print its HTTP address`,
        async () => {
          if (child.exitCode !== null || child.signalCode !== null)
            throw new Error(`${full.name} exited (${child.signalCode ?? child.exitCode}): ${agent.output.slice(-2000)}`)
          return /http api: (http:\/\/\S+)/.exec(agent.output)?.[1]
        },
        30_000,
      )
      agent.client = new MeshClient(httpUrl, { timeoutMs: 2000, token: full.token })
      const status = await agent.client.status()
      agent.peerId = status.nodeId
      agent.addr = status.addrs[0] ?? ''
      full.httpPort = Number(new URL(httpUrl).port)
      full.p2pPort = Number(/\/tcp\/(\d+)/.exec(agent.addr)?.[1])
    } catch (err) {
      // Never leave a half-started agent behind.
      await agent.kill()
      throw err
    }
    return agent
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  get logs(): string {
    return this.output
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig)
  }

  async waitExit(): Promise<number | null> {
    return await this.exitPromise
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.kill('SIGKILL')
    await this.exitPromise
  }

  /** Starts the same node again: same data dir and ports, so the same identity and addresses. */
  async restart(): Promise<AgentProcess> {
    await this.kill()
    return await AgentProcess.start(this.opts)
  }

  async nodes(): Promise<NodeView[]> {
    return await this.client.nodes()
  }

  /** This agent's view of `peerId`'s state (undefined when it does not know it). */
  async stateOf(peerId: string): Promise<string | undefined> {
    return (await this.nodes()).find(n => n.id === peerId)?.state
  }
}
