// Finding the machine's cgroups and making the node's own cgroup in them, at agent start (as root;
// without root there are no cgroups to make, and limits stay with polling).
//
// Where: under the agent's own cgroup in each hierarchy (from /proc/self/cgroup), so that whatever
// limits the service manager put on the agent also hold for its tasks:
// <agent's cgroup>/meshos-<peer id>/<task id>@<attempt>.
// - cgroup v1 (memory and pids mounted as their own hierarchies): that path in each of memory,
//   pids, and freezer and cpu where mounted.
// - cgroup v2: the agent's cgroup must hand memory and pids down (cgroup.subtree_control). v2 lets
//   only a cgroup without processes do that, the root excepted: if the agent is alone in its
//   cgroup (a systemd service with Delegate=yes), it moves itself into a leaf, meshos-agent/, first;
//   if others share it, there are no cgroups for tasks, and the reason is logged.
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { errnoCode, kernelCgroupFs, type CgroupFs } from './cgroup-fs.js'
import { CgroupV1Driver } from './cgroup-v1.js'
import { CgroupV2Driver } from './cgroup-v2.js'
import {
  NODE_CGROUP_PREFIX,
  readPids,
  removeLeftovers,
  removeLeftoversNow,
  type CgroupDriver,
  type CgroupSetup,
} from './cgroups.js'

/** What setup looks at: the real files, or a test's imitation. */
export interface CgroupProbe {
  /** /proc/self/mountinfo */
  mountinfo: string
  /** /proc/self/cgroup */
  selfCgroup: string
  fs: CgroupFs
  /** This process, the one that may have to move (v2). */
  pid: number
}

export type CgroupSetupResult = { ok: true; setup: CgroupSetup } | { ok: false; reason: string }

/** The leaf a v2 agent moves itself into so that its own cgroup may delegate controllers. */
export const AGENT_LEAF = 'meshos-agent'

export function systemProbe(): CgroupProbe {
  const read = (file: string): string => {
    try {
      return readFileSync(file, 'utf8')
    } catch {
      return ''
    }
  }
  return {
    mountinfo: read('/proc/self/mountinfo'),
    selfCgroup: read('/proc/self/cgroup'),
    fs: kernelCgroupFs,
    pid: process.pid,
  }
}

export interface Mount {
  root: string
  mountPoint: string
  fsType: string
  superOptions: string[]
}

/** /proc/self/mountinfo: "id parent major:minor root mount-point options [optional...] - type source super-options". */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = []
  const unescape = (s: string): string =>
    s.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)))
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ')
    if (pre === undefined || post === undefined) continue
    const fields = pre.split(' ')
    const [fsType, , superOptions] = post.split(' ')
    if (fields.length < 6 || fsType === undefined) continue
    mounts.push({
      root: unescape(fields[3]!),
      mountPoint: unescape(fields[4]!),
      fsType,
      superOptions: (superOptions ?? '').split(','),
    })
  }
  return mounts
}

/** /proc/self/cgroup: "id:controllers:path"; v2 is the line with id 0 and no controllers. */
export function parseSelfCgroup(text: string): { v1: Map<string, string>; v2: string | null } {
  const v1 = new Map<string, string>()
  let v2: string | null = null
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line)
    if (match === null) continue
    const [, id, controllers, cgroupPath] = match as unknown as [string, string, string, string]
    if (id === '0' && controllers === '') v2 = cgroupPath
    else for (const controller of controllers.split(',')) v1.set(controller, cgroupPath)
  }
  return { v1, v2 }
}

/** The directory of cgroup `cgroupPath` under `mount`, or null if that mount does not show it. */
function dirOf(mount: Mount, cgroupPath: string): string | null {
  if (mount.root === '/') return path.join(mount.mountPoint, cgroupPath)
  if (cgroupPath === mount.root || cgroupPath.startsWith(`${mount.root}/`))
    return path.join(mount.mountPoint, cgroupPath.slice(mount.root.length))
  return null
}

function makeDir(fs: CgroupFs, dir: string): void {
  try {
    fs.mkdir(dir)
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err
  }
}

/** Finds the cgroups and makes the node's: v1 if memory and pids are v1 hierarchies, else v2. */
export function setUpNodeCgroups(peerId: string, probe: CgroupProbe = systemProbe()): CgroupSetupResult {
  const nodeName = `${NODE_CGROUP_PREFIX}${peerId}`
  const mounts = parseMountinfo(probe.mountinfo)
  const own = parseSelfCgroup(probe.selfCgroup)
  const v1Mount = (controller: string): Mount | undefined =>
    mounts.find(m => m.fsType === 'cgroup' && m.superOptions.includes(controller))
  try {
    if (v1Mount('memory') !== undefined && v1Mount('pids') !== undefined)
      return setUpV1(probe.fs, nodeName, own.v1, v1Mount)
    const unified = mounts.find(m => m.fsType === 'cgroup2')
    if (unified === undefined || own.v2 === null)
      return { ok: false, reason: 'no cgroup file system with the memory and pids controllers is mounted' }
    return setUpV2(probe, nodeName, unified, own.v2)
  } catch (err) {
    return { ok: false, reason: `cannot make the node's cgroup: ${errnoCode(err)} (${(err as Error).message})` }
  }
}

function setUpV1(
  fs: CgroupFs,
  nodeName: string,
  own: Map<string, string>,
  mountOf: (controller: string) => Mount | undefined,
): CgroupSetupResult {
  const nodeDir = (controller: string, required: boolean): string | null => {
    const mount = mountOf(controller)
    const agentDir = mount === undefined ? null : dirOf(mount, own.get(controller) ?? '/')
    if (agentDir === null) {
      if (required) throw new Error(`the agent's ${controller} cgroup is not visible`)
      return null
    }
    const dir = path.join(agentDir, nodeName)
    try {
      makeDir(fs, dir)
      return dir
    } catch (err) {
      if (required) throw err
      return null
    }
  }
  return {
    ok: true,
    setup: {
      version: 'v1',
      nodeDirs: {
        memory: nodeDir('memory', true)!,
        pids: nodeDir('pids', true)!,
        freezer: nodeDir('freezer', false),
        cpu: nodeDir('cpu', false),
      },
    },
  }
}

function setUpV2(probe: CgroupProbe, nodeName: string, mount: Mount, ownPath: string): CgroupSetupResult {
  const { fs } = probe
  // A restarted agent that inherited the leaf it once moved into delegates from its parent again.
  const basePath = path.basename(ownPath) === AGENT_LEAF ? path.dirname(ownPath) : ownPath
  const base = dirOf(mount, basePath)
  if (base === null)
    return { ok: false, reason: `the agent's cgroup ${ownPath} is not visible under ${mount.mountPoint}` }
  const available = fs.read(path.join(base, 'cgroup.controllers')).trim().split(/\s+/)
  if (!available.includes('memory') || !available.includes('pids'))
    return { ok: false, reason: `cgroup v2 at ${base} does not offer the memory and pids controllers` }
  const wanted = ['memory', 'pids', ...(available.includes('cpu') ? ['cpu'] : [])]
  const enabled = (dir: string): string[] => fs.read(path.join(dir, 'cgroup.subtree_control')).trim().split(/\s+/)
  const enable = (dir: string, controllers: string[]): void => {
    const missing = controllers.filter(c => !enabled(dir).includes(c))
    if (missing.length > 0) fs.write(path.join(dir, 'cgroup.subtree_control'), missing.map(c => `+${c}`).join(' '))
  }
  /** Enables what it can of `wanted` (cpu is optional: the kernel refuses it with realtime tasks). */
  const delegate = (dir: string): string[] => {
    try {
      enable(dir, wanted)
      return wanted
    } catch (err) {
      if (wanted.length === 2) throw err
      enable(dir, wanted.slice(0, 2))
      return wanted.slice(0, 2)
    }
  }
  let controllers: string[]
  try {
    controllers = delegate(base)
  } catch (err) {
    if (errnoCode(err) !== 'EBUSY') throw err
    // Processes in the cgroup: only ours may be moved out of the way.
    const members = readPids(fs, path.join(base, 'cgroup.procs'))
    if (members.some(pid => pid !== probe.pid))
      return {
        ok: false,
        reason:
          `the agent's cgroup ${base} holds other processes, so it cannot hand controllers down to tasks; ` +
          'run the agent in a cgroup of its own (systemd: Delegate=yes)',
      }
    const leaf = path.join(base, AGENT_LEAF)
    makeDir(fs, leaf)
    fs.write(path.join(leaf, 'cgroup.procs'), String(probe.pid))
    controllers = delegate(base)
  }
  const nodeDir = path.join(base, nodeName)
  makeDir(fs, nodeDir)
  enable(nodeDir, controllers)
  return { ok: true, setup: { version: 'v2', nodeDir, controllers } }
}

/** The driver for attempts in the node's cgroup. */
export function openCgroups(setup: CgroupSetup, fs: CgroupFs = kernelCgroupFs): CgroupDriver {
  return setup.version === 'v1' ? new CgroupV1Driver(setup.nodeDirs, fs) : new CgroupV2Driver(setup, fs)
}

/** The node's cgroup directories, one per hierarchy. */
export function nodeCgroupDirs(setup: CgroupSetup): string[] {
  if (setup.version === 'v2') return [setup.nodeDir]
  return Object.values(setup.nodeDirs).filter((dir): dir is string => dir !== null)
}

/** When the agent stops: what attempt cgroups remain (their processes killed), then the node's
 * own. Best effort; what stays is removed at the next start. */
export async function removeNodeCgroups(setup: CgroupSetup, fs: CgroupFs = kernelCgroupFs): Promise<void> {
  await removeLeftovers(openCgroups(setup, fs))
  removeNodeDirs(setup, fs)
}

/** removeNodeCgroups for a process about to exit (a fatal error): blocks for at most a second. */
export function removeNodeCgroupsNow(setup: CgroupSetup, fs: CgroupFs = kernelCgroupFs): void {
  removeLeftoversNow(openCgroups(setup, fs))
  removeNodeDirs(setup, fs)
}

function removeNodeDirs(setup: CgroupSetup, fs: CgroupFs): void {
  for (const dir of nodeCgroupDirs(setup)) {
    try {
      fs.rmdir(dir)
    } catch {}
  }
}
