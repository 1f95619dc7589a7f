// Attempt cgroups on cgroup v2: one directory in the unified hierarchy, a child of the node's
// cgroup (whose cgroup.subtree_control setup.ts filled).
//
// - Memory: memory.max, memory.swap.max 0 (swapping would stretch the limit), and memory.oom.group
//   so that the OOM killer takes the whole task, not one process of it; memory.events counts its
//   kills (oom_kill).
// - Kill: cgroup.kill (Linux 5.14+) kills every process in it atomically; before that, the cgroup
//   is frozen (cgroup.freeze), each process sent SIGKILL, and thawed.
import path from 'node:path'
import { errnoCode, kernelCgroupFs, type CgroupFs } from './cgroup-fs.js'
import {
  killListed,
  mkdirIn,
  readPids,
  signalAll,
  type AttemptCgroup,
  type AttemptLimits,
  type CgroupDriver,
  type CgroupSetup,
} from './cgroups.js'

type V2Setup = Extract<CgroupSetup, { version: 'v2' }>

/** As FREEZE_WAIT_MS in cgroup-v1.ts. */
const FREEZE_WAIT_MS = 50

/** cpu.weight of one whole cpu (the kernel's default for a cgroup); the kernel takes 1-10000. */
const WEIGHT_PER_CPU = 100

export class CgroupV2Driver implements CgroupDriver {
  readonly version = 'v2'

  constructor(
    private readonly setup: Pick<V2Setup, 'nodeDir' | 'controllers'>,
    private readonly fs: CgroupFs = kernelCgroupFs,
  ) {}

  create(name: string, limits: AttemptLimits): AttemptCgroup {
    const dir = path.join(this.setup.nodeDir, name)
    const attempt = this.open(name)
    try {
      mkdirIn(this.fs, this.setup.nodeDir, name, () => {
        const wanted = this.setup.controllers.map(c => `+${c}`).join(' ')
        this.fs.write(path.join(this.setup.nodeDir, 'cgroup.subtree_control'), wanted)
      })
    } catch (err) {
      throw new Error(`cgroup ${name}: ${errnoCode(err)}`)
    }
    try {
      this.fs.write(path.join(dir, 'memory.max'), String(limits.memoryBytes))
      this.writeIfPresent(path.join(dir, 'memory.swap.max'), '0')
      this.writeIfPresent(path.join(dir, 'memory.oom.group'), '1')
      this.fs.write(path.join(dir, 'pids.max'), String(limits.pidsMax))
      if (this.setup.controllers.includes('cpu'))
        this.fs.write(
          path.join(dir, 'cpu.weight'),
          String(Math.min(10_000, Math.max(1, Math.round(limits.cpus * WEIGHT_PER_CPU)))),
        )
    } catch (err) {
      try {
        this.fs.rmdir(dir)
      } catch {}
      throw new Error(`cgroup ${name}: ${errnoCode(err)}`)
    }
    return attempt
  }

  list(): string[] {
    try {
      return this.fs.children(this.setup.nodeDir)
    } catch {
      return []
    }
  }

  private writeIfPresent(file: string, value: string): void {
    if (this.fs.exists(file)) this.fs.write(file, value)
  }

  open(name: string): AttemptCgroup {
    const { fs } = this
    const dir = path.join(this.setup.nodeDir, name)
    const procs = path.join(dir, 'cgroup.procs')
    return {
      procsFiles: [procs],
      kill: () => {
        try {
          const killFile = path.join(dir, 'cgroup.kill')
          if (fs.exists(killFile)) {
            fs.write(killFile, '1')
            return
          }
          const freeze = path.join(dir, 'cgroup.freeze')
          fs.write(freeze, '1')
          const until = performance.now() + FREEZE_WAIT_MS
          let frozen = false
          while (!frozen && performance.now() < until)
            frozen = /^frozen 1$/m.test(fs.read(path.join(dir, 'cgroup.events')))
          signalAll(readPids(fs, procs), 'SIGKILL')
          fs.write(freeze, '0')
        } catch {}
        killListed(fs, procs)
      },
      terminate: () => {
        signalAll(readPids(fs, procs), 'SIGTERM')
      },
      oomKills: () => {
        try {
          const kills = /^oom_kill (\d+)$/m.exec(fs.read(path.join(dir, 'memory.events')))
          return kills === null ? 0 : Number(kills[1])
        } catch {
          return 0
        }
      },
      remove: () => {
        try {
          fs.rmdir(dir)
          return true
        } catch (err) {
          return errnoCode(err) === 'ENOENT'
        }
      },
    }
  }
}
