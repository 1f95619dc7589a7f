// Reading the process table in tests: which children a process has, whether one still runs.
import { readdirSync, readFileSync } from 'node:fs'

/** The live children of `ppid`, with their command names (comm: the executable's file name). */
export function childrenOf (ppid: number): Array<{ pid: number, comm: string }> {
  const children: Array<{ pid: number, comm: string }> = []
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) {
        children.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) })
      }
    } catch {}
  }
  return children
}

/** Gone, or a zombie nobody reaped yet: either way it runs no more. */
export function processDead (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}

/** Polls a condition the OS settles asynchronously (a SIGKILLed process disappearing), bounded. */
export async function eventually (condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
