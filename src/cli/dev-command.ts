// `meshos dev --nodes N`: a local cluster of N real agent processes on 127.0.0.1 for trying
// meshos out. The first node starts alone; the others bootstrap from it. Ctrl-C (or SIGTERM)
// stops them all gracefully and waits for every child to exit.
import { spawn, type ChildProcess } from 'node:child_process'
import { chmod, mkdtemp, mkdir, open, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { MeshClient } from '../client/client.js'
import { UsageError } from './usage.js'
import { CLUSTER_KEY_FILE_MODE, ClusterKeyError, generateClusterKey, readClusterKeyFile } from '../p2p/cluster-key.js'
import { StartupError } from '../node/startup-error.js'

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url))
/** How long one agent may take to answer its health check before the dev cluster gives up. */
const AGENT_START_TIMEOUT_MS = 20_000
/** How long a child gets to leave gracefully on stop before it is killed. */
const AGENT_STOP_TIMEOUT_MS = 10_000

interface DevNode {
  index: number
  child: ChildProcess
  httpUrl: string
  dataDir: string
}

function intOption(value: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${flag} "${value}": expected an integer ${min}-${max}`)
  return n
}

/** The dev cluster serves its APIs on loopback, without a token (it would not know one). */
function loopbackAgentEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { MESHOS_HTTP_TOKEN_FILE: _ignored, ...rest } = env
  return rest
}

async function waitHealthy(node: DevNode): Promise<void> {
  const client = new MeshClient(node.httpUrl, { timeoutMs: 1000 })
  const deadline = Date.now() + AGENT_START_TIMEOUT_MS
  for (;;) {
    const { exitCode, signalCode } = node.child
    if (exitCode !== null || signalCode !== null)
      throw new Error(
        `node ${node.index} exited (${signalCode ?? `status ${exitCode}`}); see ${node.dataDir}/agent.log`,
      )
    try {
      await client.health()
      return
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(
          `node ${node.index} did not answer on ${node.httpUrl} within ${AGENT_START_TIMEOUT_MS} ms: ${(err as Error).message}`,
        )
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }
}

/** DIR/cluster.key: made on the first run, kept for the next ones (their data dirs belong to
 * that cluster). */
async function devClusterKey(dir: string): Promise<string> {
  const file = path.join(dir, 'cluster.key')
  try {
    await writeFile(file, generateClusterKey(), { mode: CLUSTER_KEY_FILE_MODE, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new StartupError(`cannot write the cluster key ${file}: ${(err as Error).message}`)
    try {
      readClusterKeyFile(file)
    } catch (bad) {
      if (bad instanceof ClusterKeyError) throw new StartupError(bad.message)
      throw bad
    }
  }
  return file
}

async function stopAll(nodes: DevNode[]): Promise<void> {
  await Promise.all(
    nodes.map(async n => {
      if (n.child.exitCode !== null || n.child.signalCode !== null) return
      const exited = new Promise(resolve => n.child.once('exit', resolve))
      n.child.kill('SIGTERM')
      const timer = setTimeout(() => n.child.kill('SIGKILL'), AGENT_STOP_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    }),
  )
}

export async function devCommand(args: string[]): Promise<number> {
  let values
  try {
    ;({ values } = parseArgs({
      args,
      options: {
        nodes: { type: 'string' },
        dir: { type: 'string' },
        'base-port': { type: 'string' },
        'http-base-port': { type: 'string' },
      },
      strict: true,
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const count = intOption(values.nodes, 'nodes', 3, 1, 64)
  const basePort = intOption(values['base-port'], 'base-port', 7000, 1, 65535 - count)
  const httpBasePort = intOption(values['http-base-port'], 'http-base-port', 7070, 1, 65535 - count)
  let dir = values.dir
  if (dir === undefined) {
    dir = await mkdtemp(path.join(os.tmpdir(), 'meshos-dev-'))
    // mkdtemp makes it 0700: a root agent's task user must pass through to its work dirs.
    await chmod(dir, 0o711)
  }
  await mkdir(dir, { recursive: true }).catch((err: Error) => {
    throw new StartupError(`cannot create ${dir}: ${err.message}`)
  })
  const keyFile = await devClusterKey(dir)
  process.stdout.write(`cluster key: ${keyFile}\n`)

  const nodes: DevNode[] = []
  let stopping: Promise<void> | undefined
  /** Idempotent: every caller waits for the same, complete shutdown. */
  const shutdown = async (): Promise<void> => {
    stopping ??= (async () => {
      process.stdout.write(`stopping ${nodes.length} nodes...\n`)
      await stopAll(nodes)
      process.stdout.write('all nodes stopped\n')
    })()
    await stopping
  }
  const stopped = new Promise<void>(resolve => {
    const onSignal = (): void => {
      void shutdown().then(resolve)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    // Closing the terminal must not orphan agents (they run in their own process group).
    process.on('SIGHUP', onSignal)
  })

  try {
    let bootstrap: string | undefined
    for (let i = 0; i < count && stopping == null; i++) {
      const dataDir = path.join(dir, `node-${i + 1}`)
      await mkdir(dataDir, { recursive: true })
      const logFile = await open(path.join(dataDir, 'agent.log'), 'a')
      const httpUrl = `http://127.0.0.1:${httpBasePort + i}`
      const agentArgs = [
        MAIN,
        'agent',
        '--listen',
        `/ip4/127.0.0.1/tcp/${basePort + i}`,
        '--http',
        `127.0.0.1:${httpBasePort + i}`,
        '--data-dir',
        dataDir,
        '--name',
        `dev-${i + 1}`,
        '--cluster-key',
        keyFile,
        ...(bootstrap != null ? ['--bootstrap', bootstrap] : []),
      ]
      // Own process group: a Ctrl-C in the terminal reaches only us, and we stop the children
      // in order instead of them all dying at once.
      const child = spawn(process.execPath, agentArgs, {
        stdio: ['ignore', logFile.fd, logFile.fd],
        detached: true,
        env: loopbackAgentEnv(process.env),
      })
      await logFile.close()
      const node: DevNode = { index: i + 1, child, httpUrl, dataDir }
      nodes.push(node)
      child.on('exit', (code, signal) => {
        if (stopping == null)
          process.stdout.write(
            `node ${node.index} exited unexpectedly (${signal ?? `status ${code}`}); see ${dataDir}/agent.log\n`,
          )
      })
      await waitHealthy(node)
      if (bootstrap == null) bootstrap = (await new MeshClient(httpUrl).status()).addrs[0]
      process.stdout.write(`node ${node.index}: ${httpUrl}  pid ${child.pid}  data ${dataDir}\n`)
    }
  } catch (err) {
    // A signal during start-up makes the node being waited for exit: that is a clean stop.
    const interrupted = stopping != null
    if (!interrupted) process.stderr.write(`meshos dev: ${(err as Error).message}\n`)
    await shutdown()
    return interrupted ? 0 : 1
  }
  if (stopping == null) {
    process.stdout.write(
      `cluster of ${count} running; dashboard: http://127.0.0.1:${httpBasePort}/\ntry: npx meshos nodes --addr http://127.0.0.1:${httpBasePort}\nCtrl-C stops all nodes\n`,
    )
  }
  await stopped
  return 0
}
