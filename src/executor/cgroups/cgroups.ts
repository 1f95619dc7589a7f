// Each attempt runs in a cgroup of its own, where the machine has cgroups (and the agent is root):
// the kernel then enforces its memory limit, bounds its processes (a fork bomb stops at pids.max),
// and a kill takes every process in it at once, whatever session or group it moved to.
//
// One interface, two drivers: cgroup v2 (cgroup-v2.ts: one unified hierarchy, cgroup.kill) and v1
// (cgroup-v1.ts: a hierarchy per controller, the freezer for an atomic kill). setup.ts finds which
// the machine has and makes the node's own cgroup, <the agent's cgroup>/meshos-<peer id>/, in
// which every attempt's cgroup is made and removed.
import path from 'node:path'
import { errnoCode, type CgroupFs } from './cgroup-fs.js'

export type CgroupVersion = 'v1' | 'v2'

/**
 * Where this node's cgroups are: found at agent start (setup.ts) and handed to the executor, which
 * may run in another process, so plain data.
 */
export type CgroupSetup =
  | {
      version: 'v2'
      /** The node's cgroup; attempts are its children. */
      nodeDir: string
      /** Controllers enabled for the attempts: memory and pids always, cpu where available. */
      controllers: string[]
    }
  | {
      version: 'v1'
      /** The node's cgroup in each hierarchy; memory and pids are required, the others optional. */
      nodeDirs: { memory: string; pids: string; freezer: string | null; cpu: string | null }
    }

export interface AttemptLimits {
  memoryBytes: number
  pidsMax: number
  /** Its cpu weight relative to other tasks (and the agent), in proportion to the cpus it holds. */
  cpus: number
}

/** One attempt's cgroup. */
export interface AttemptCgroup {
  /** The cgroup.procs files the task's first process writes itself into before it execs. */
  readonly procsFiles: string[]
  /** SIGKILLs every process in it, leaving none a window to fork out of it. Never throws. */
  kill: () => void
  /** SIGTERM to every process in it (the polite half of a timeout or cancel). Never throws. */
  terminate: () => void
  /** Processes the kernel's OOM killer killed in it for want of memory. */
  oomKills: () => number
  /** Removes it; false while processes remain (just killed, still exiting). Never throws. */
  remove: () => boolean
}

export interface CgroupDriver {
  readonly version: CgroupVersion
  /** Throws with the reason if it cannot be made with these limits. */
  create: (name: string, limits: AttemptLimits) => AttemptCgroup
  /** The attempt cgroups there are now (in any of the node's hierarchies). */
  list: () => string[]
  /** One of them, to kill and remove. */
  open: (name: string) => AttemptCgroup
}

/** The attempt's cgroup name: unique (the attempt is digits after the last @, which a task id may hold). */
export function attemptCgroupName(taskId: string, attempt: number): string {
  return `${taskId}@${attempt}`
}

export const NODE_CGROUP_PREFIX = 'meshos-'

/** Sleeps without the event loop (for the few ms a kill takes to land, at start and in tests). */
export async function pause(ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** The pids listed in a cgroup.procs file; [] if it is gone. */
export function readPids(fs: CgroupFs, procsFile: string): number[] {
  let text: string
  try {
    text = fs.read(procsFile)
  } catch {
    return []
  }
  return text
    .split('\n')
    .map(Number)
    .filter(pid => Number.isSafeInteger(pid) && pid > 0)
}

/** Signals each pid; ESRCH (already gone) is the usual answer for some. Returns how many got it. */
export function signalAll(pids: number[], signal: NodeJS.Signals): number {
  let sent = 0
  for (const pid of pids) {
    try {
      process.kill(pid, signal)
      sent++
    } catch {}
  }
  return sent
}

/** SIGKILL to whatever the file lists, again until it lists nothing signalable (bounded: pids.max
 * bounds what forks in between). For a cgroup that cannot be frozen. */
export function killListed(fs: CgroupFs, procsFile: string): void {
  for (let round = 0; round < 10; round++) {
    if (signalAll(readPids(fs, procsFile), 'SIGKILL') === 0) return
  }
}

/** How long removing one cgroup is retried: a killed process takes a moment to exit. */
const REMOVE_WAIT_MS = 1000
const REMOVE_RETRY_MS = 10

/** Kills and removes every attempt cgroup there is (an earlier run's, at start; what is left, at
 * stop). Resolves to the names removed. */
export async function removeLeftovers(driver: CgroupDriver): Promise<string[]> {
  const removed: string[] = []
  for (const name of driver.list()) {
    const cgroup = driver.open(name)
    for (let waited = 0; waited <= REMOVE_WAIT_MS; waited += REMOVE_RETRY_MS) {
      cgroup.kill()
      if (cgroup.remove()) {
        removed.push(name)
        break
      }
      await pause(REMOVE_RETRY_MS)
    }
  }
  return removed
}

/** removeLeftovers for a process about to exit (no more turns of its event loop): it waits by
 * blocking, at most `waitMs` in all. */
export function removeLeftoversNow(driver: CgroupDriver, waitMs = REMOVE_WAIT_MS): string[] {
  const removed: string[] = []
  const until = performance.now() + waitMs
  const sleeper = new Int32Array(new SharedArrayBuffer(4))
  for (const name of driver.list()) {
    const cgroup = driver.open(name)
    for (;;) {
      cgroup.kill()
      if (cgroup.remove()) {
        removed.push(name)
        break
      }
      if (performance.now() >= until) break
      Atomics.wait(sleeper, 0, 0, REMOVE_RETRY_MS)
    }
  }
  return removed
}

/**
 * Makes the attempt cgroup `name` in the node's cgroup `nodeDir`. The node's own is made again
 * (and `prepare`d) if it is gone: the launcher of an agent that just died on this data dir removes
 * it as it exits, which may be after this agent made it.
 */
export function mkdirIn(fs: CgroupFs, nodeDir: string, name: string, prepare: () => void = () => {}): void {
  try {
    fs.mkdir(path.join(nodeDir, name))
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err
    try {
      fs.mkdir(nodeDir)
    } catch (again) {
      if (errnoCode(again) !== 'EEXIST') throw again
    }
    prepare()
    fs.mkdir(path.join(nodeDir, name))
  }
}
