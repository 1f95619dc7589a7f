// The fleet benchmark's baseline: bare libp2p processes (bench/baseline/bare-libp2p-node.ts, the
// same transports and gossipsub as a meshos node, publishing once a second), grown through the
// same sizes as the meshos fleet. Each dials the first and up to 3 others picked at random, a
// bounded neighbourhood like a meshos node's active view rather than a full mesh.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** This file runs as dist/bench/fleet/bare-fleet.js, the node as dist/bench/baseline/. */
const NODE_SCRIPT = fileURLToPath(new URL('../baseline/bare-libp2p-node.js', import.meta.url))
const EXTRA_DIALS = 3

export class BareFleet {
  private readonly children: ChildProcess[] = []
  private readonly addrs: string[] = []

  get pids(): number[] {
    return this.children.map(c => c.pid ?? -1)
  }

  /** Starts processes one at a time until there are `size`. */
  async grow(size: number): Promise<void> {
    while (this.children.length < size) {
      const others = this.addrs.slice(1)
      const picked = new Set<string>()
      while (picked.size < Math.min(EXTRA_DIALS, others.length))
        picked.add(others[Math.floor(Math.random() * others.length)]!)
      const dial = this.addrs.length === 0 ? [] : [this.addrs[0]!, ...picked]
      const child = spawn(process.execPath, [NODE_SCRIPT, '/ip4/127.0.0.1/tcp/0', ...dial], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      this.children.push(child)
      this.addrs.push(
        await new Promise<string>((resolve, reject) => {
          child.stdout?.once('data', (d: Buffer) => {
            resolve(d.toString().trim())
          })
          child.once('exit', code => {
            reject(new Error(`bare libp2p node exited ${code}`))
          })
        }),
      )
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async c => {
        if (c.exitCode !== null || c.signalCode !== null) return
        const exited = new Promise(resolve => c.once('exit', resolve))
        c.kill('SIGKILL')
        await exited
      }),
    )
  }
}
