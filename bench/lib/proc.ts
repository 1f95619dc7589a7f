// Per-process resource readings from /proc (Linux): resident memory and CPU time.
import { readFile } from 'node:fs/promises'


export async function rssMiB (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
  return kb / 1024
}

/** CPU seconds (user + system) the process has used so far. */
export async function cpuSeconds (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticksPerSecond = 100 // USER_HZ on Linux
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
}

/** Share of one core each pid used over `windowMs`, in percent. */
export async function cpuPercent (pids: number[], windowMs: number): Promise<number[]> {
  const before = await Promise.all(pids.map(cpuSeconds))
  await new Promise(resolve => setTimeout(resolve, windowMs))
  const after = await Promise.all(pids.map(cpuSeconds))
  return pids.map((_, i) => ((after[i]! - before[i]!) / (windowMs / 1000)) * 100)
}


