// Reading the process table in tests: which children a process has, whether one still runs.
import { readdirSync, readFileSync } from 'node:fs'
import { constants } from 'node:os'

/** The live children of `ppid`, with their command names (comm: the executable's file name). */
export function childrenOf(ppid: number): Array<{ pid: number; comm: string }> {
  const children: Array<{ pid: number; comm: string }> = []
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
export function processDead(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}

/** Whether `signal`, sent to `pid`, still waits to be delivered: once it is not, the process has
 * run its handler, ignored it or been ended by it. A process that is gone has none waiting. */
export function signalPending(pid: number, signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP'): boolean {
  let status: string
  try {
    status = readFileSync(`/proc/${pid}/status`, 'latin1')
  } catch {
    return false
  }
  const bit = 1n << BigInt(constants.signals[signal] - 1)
  // SigPnd: sent to the main thread; ShdPnd: sent to the process, for any of its threads.
  return ['SigPnd', 'ShdPnd'].some(field => {
    const mask = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1]
    return mask !== undefined && (BigInt(`0x${mask}`) & bit) !== 0n
  })
}

/** Polls a condition the OS settles asynchronously (a SIGKILLed process disappearing), bounded. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
