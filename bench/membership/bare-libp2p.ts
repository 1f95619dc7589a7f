// The membership baseline: n bare libp2p processes (bench/baseline/bare-libp2p-node.ts) with the
// same transports and gossipsub as meshos nodes, in a full mesh, each publishing a heartbeat-sized
// message once a second and nothing else.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** This file runs as dist/bench/membership/bare-libp2p.js, the node as dist/bench/baseline/. */
const NODE_SCRIPT = fileURLToPath(new URL('../baseline/bare-libp2p-node.js', import.meta.url))

export async function bareLibp2pCluster(n: number): Promise<{ pids: number[]; stop: () => Promise<void> }> {
  const children: ChildProcess[] = []
  const firstAddr = async (child: ChildProcess): Promise<string> =>
    await new Promise((resolve, reject) => {
      child.stdout?.once('data', (d: Buffer) => {
        resolve(d.toString().trim())
      })
      child.once('exit', code => {
        reject(new Error(`bare libp2p node exited ${code}`))
      })
    })
  const first = spawn(process.execPath, [NODE_SCRIPT, '/ip4/127.0.0.1/tcp/0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(first)
  const addr = await firstAddr(first)
  // Every node dials every earlier one: the same full mesh a meshos cluster of this size forms.
  const addrs = [addr]
  for (let i = 1; i < n; i++) {
    const child = spawn(process.execPath, [NODE_SCRIPT, '/ip4/127.0.0.1/tcp/0', ...addrs], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.push(child)
    addrs.push(await firstAddr(child))
  }
  return {
    pids: children.map(c => c.pid ?? -1),
    stop: async () => {
      await Promise.all(
        children.map(async c => {
          const exited = new Promise(resolve => c.once('exit', resolve))
          c.kill('SIGKILL')
          await exited
        }),
      )
    },
  }
}
