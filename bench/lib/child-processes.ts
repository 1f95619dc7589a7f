// Helper processes a benchmark starts (redis-server, queue workers): started until they say they
// are ready, and killed by pid when the benchmark ends, however it ends.
import { spawn, type ChildProcess } from 'node:child_process'
import { waitFor } from '../../harness/wait-for.js'
import { sleep } from './async.js'

const children = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of children)
    if (c.pid != null)
      try {
        process.kill(c.pid, 'SIGKILL')
      } catch {}
})

export async function killChild(c: ChildProcess): Promise<void> {
  if (c.exitCode === null && c.signalCode === null && c.pid != null) {
    const exited = new Promise(resolve => c.once('exit', resolve))
    try {
      process.kill(c.pid, 'SIGKILL')
    } catch {}
    await Promise.race([exited, sleep(5000)])
  }
  children.delete(c)
}

/** Spawns `cmd` and resolves once its output matches `ready`; rejects if it exits first. */
export async function spawnUntil(
  cmd: string,
  args: string[],
  ready: RegExp,
  what: string,
  timeoutMs: number,
): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let output = ''
  let failure: Error | null = null
  child.on('error', err => {
    failure = err
  })
  child.stdout!.on('data', (d: Buffer) => {
    if (output.length < 100_000) output += d.toString()
  })
  child.stderr!.on('data', (d: Buffer) => {
    if (output.length < 100_000) output += d.toString()
  })
  try {
    await waitFor(
      what,
      async () => {
        if (failure != null) throw failure
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${what}: exited (${child.signalCode ?? child.exitCode}): ${output.slice(-1000)}`)
        return ready.test(output)
      },
      timeoutMs,
      20,
    )
  } catch (err) {
    await killChild(child)
    throw err
  }
  return child
}
