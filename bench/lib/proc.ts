// Per-process resource readings from /proc (Linux): resident memory and CPU time.
import { readdir, readFile } from 'node:fs/promises'

export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
  return kb / 1024
}

/** CPU seconds (user + system) the process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticksPerSecond = 100 // USER_HZ on Linux
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
}

/** Share of one core each pid used over `windowMs`, in percent. */
export async function cpuPercent(pids: number[], windowMs: number): Promise<number[]> {
  const before = await Promise.all(pids.map(cpuSeconds))
  await new Promise(resolve => setTimeout(resolve, windowMs))
  const after = await Promise.all(pids.map(cpuSeconds))
  return pids.map((_, i) => ((after[i]! - before[i]!) / (windowMs / 1000)) * 100)
}

/** The living descendants of `pid` whose command name is one of `comms` (children, their
 * children...), found by the parent pid in /proc/<pid>/stat. */
export async function descendants(pid: number, comms: readonly string[]): Promise<number[]> {
  const parentOf = new Map<number, { ppid: number; comm: string }>()
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => null)
    if (stat === null) continue // exited meanwhile
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    parentOf.set(Number(name), { ppid, comm })
  }
  const isDescendant = (p: number): boolean => {
    for (let up = parentOf.get(p)?.ppid; up !== undefined && up > 1; up = parentOf.get(up)?.ppid)
      if (up === pid) return true
    return false
  }
  return [...parentOf].filter(([p, { comm }]) => comms.includes(comm) && isDescendant(p)).map(([p]) => p)
}

/** CPU seconds of `pids` together; a pid that has exited reads as 0. */
export async function totalCpuSeconds(pids: number[]): Promise<number> {
  const each = await Promise.all(pids.map(async pid => await cpuSeconds(pid).catch(() => 0)))
  return each.reduce((a, b) => a + b, 0)
}
