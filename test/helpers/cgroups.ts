// Cgroups in tests: whether the machine gives a root test process what the executor needs, and
// removing what a test made (node cgroups named meshos-<name>, with whatever still runs in them).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { kernelCgroupFs } from '../../src/executor/cgroups/cgroup-fs.js'
import { NODE_CGROUP_PREFIX, killListed } from '../../src/executor/cgroups/cgroups.js'
import { parseMountinfo, parseSelfCgroup } from '../../src/executor/cgroups/setup.js'

/** Null if tests that need root and cgroup v1 memory and pids can run here, else why not. */
export function whyNoCgroupV1(): string | null {
  if (process.getuid?.() !== 0) return 'not running as root'
  const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
  for (const controller of ['memory', 'pids'])
    if (!mounts.some(m => m.fsType === 'cgroup' && m.superOptions.includes(controller)))
      return `no cgroup v1 ${controller} hierarchy mounted`
  return null
}

/** Every directory named meshos-<name> under this process's cgroup, in every hierarchy. */
export function nodeCgroupDirsOf(name: string): string[] {
  const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
  const own = parseSelfCgroup(readFileSync('/proc/self/cgroup', 'utf8'))
  const dirs: string[] = []
  for (const mount of mounts) {
    if (mount.fsType !== 'cgroup' && mount.fsType !== 'cgroup2') continue
    const controller = mount.superOptions.find(o => own.v1.has(o))
    const ownPath = mount.fsType === 'cgroup2' ? own.v2 : controller === undefined ? null : own.v1.get(controller)
    if (ownPath == null || mount.root !== '/') continue
    const dir = path.join(mount.mountPoint, ownPath, `${NODE_CGROUP_PREFIX}${name}`)
    if (kernelCgroupFs.exists(dir)) dirs.push(dir)
  }
  return dirs
}

/** Kills what runs in them and removes the node cgroups meshos-<name>; returns what was left. */
export async function removeTestCgroups(name: string): Promise<string[]> {
  const found = nodeCgroupDirsOf(name)
  for (const dir of found) {
    let children: string[]
    try {
      children = kernelCgroupFs.children(dir)
    } catch {
      continue // removed meanwhile (a launcher exiting removes its node's)
    }
    for (const child of children) {
      const sub = path.join(dir, child)
      for (let i = 0; i < 100; i++) {
        killListed(kernelCgroupFs, path.join(sub, 'cgroup.procs'))
        try {
          kernelCgroupFs.rmdir(sub)
          break
        } catch {
          await new Promise(resolve => setTimeout(resolve, 10))
        }
      }
    }
    try {
      kernelCgroupFs.rmdir(dir)
    } catch {}
  }
  return found
}
