// Reading the process table in tests: which children a process has.
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
