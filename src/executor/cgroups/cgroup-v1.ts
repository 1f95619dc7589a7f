// Attempt cgroups on cgroup v1: one directory per hierarchy (memory, pids, and freezer and cpu
// where mounted), all named alike, and the task's first process joins each.
//
// - Memory: memory.limit_in_bytes, and memory.memsw.limit_in_bytes at the same value where swap
//   is accounted, so swapping does not stretch the limit. The kernel's OOM killer acts inside the
//   cgroup at the limit; memory.oom_control counts its kills (oom_kill, Linux 4.13+; before that
//   memory.failcnt > 0 is taken as the sign).
// - Kill: the freezer stops every process (FROZEN), each is sent SIGKILL while none can fork, then
//   THAWED lets them die. Without a freezer hierarchy the processes listed are killed again until
//   none is left, which pids.max keeps short.
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

type V1Dirs = Extract<CgroupSetup, { version: 'v1' }>['nodeDirs']

/** Reading freezer.state until it says FROZEN: a process in the middle of a system call takes a
 * moment; one stuck in the kernel (D state) never freezes, and is killed unfrozen after this. */
const FREEZE_WAIT_MS = 50

/** cpu.shares of one whole cpu (the kernel's default for a cgroup). */
const SHARES_PER_CPU = 1024

export class CgroupV1Driver implements CgroupDriver {
  readonly version = 'v1'

  constructor(
    private readonly dirs: V1Dirs,
    private readonly fs: CgroupFs = kernelCgroupFs,
  ) {}

  /** Whether memory.memsw.* exists (swap accounting is a boot option): asked once. */
  private swapAccounting: boolean | null = null

  private swapAccounted(): boolean {
    this.swapAccounting ??= this.fs.exists(path.join(this.dirs.memory, 'memory.memsw.limit_in_bytes'))
    return this.swapAccounting
  }

  private hierarchies(): string[] {
    const { memory, pids, freezer, cpu } = this.dirs
    return [memory, pids, ...(freezer === null ? [] : [freezer]), ...(cpu === null ? [] : [cpu])]
  }

  create(name: string, limits: AttemptLimits): AttemptCgroup {
    const made: string[] = []
    const attempt = this.open(name)
    try {
      for (const dir of this.hierarchies()) {
        mkdirIn(this.fs, dir, name)
        made.push(dir)
      }
      const memory = path.join(this.dirs.memory, name)
      this.fs.write(path.join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes))
      if (this.swapAccounted())
        this.fs.write(path.join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes))
      this.fs.write(path.join(this.dirs.pids, name, 'pids.max'), String(limits.pidsMax))
      if (this.dirs.cpu !== null)
        this.fs.write(
          path.join(this.dirs.cpu, name, 'cpu.shares'),
          String(Math.max(2, Math.round(limits.cpus * SHARES_PER_CPU))),
        )
    } catch (err) {
      for (const dir of made) {
        try {
          this.fs.rmdir(path.join(dir, name))
        } catch {}
      }
      throw new Error(`cgroup ${name}: ${errnoCode(err)}`)
    }
    return attempt
  }

  list(): string[] {
    const names = new Set<string>()
    for (const dir of this.hierarchies()) {
      try {
        for (const name of this.fs.children(dir)) names.add(name)
      } catch {}
    }
    return [...names]
  }

  open(name: string): AttemptCgroup {
    const { fs } = this
    const dirs = this.hierarchies().map(dir => path.join(dir, name))
    const procs = path.join(this.dirs.memory, name, 'cgroup.procs')
    const freezer = this.dirs.freezer === null ? null : path.join(this.dirs.freezer, name)
    const memory = path.join(this.dirs.memory, name)
    return {
      procsFiles: dirs.map(dir => path.join(dir, 'cgroup.procs')),
      kill: () => {
        // Nearly always the case once a task's main process exited: freezing an empty cgroup
        // would cost four more file operations per task.
        if (readPids(fs, procs).length === 0) return
        if (freezer !== null) {
          try {
            const state = path.join(freezer, 'freezer.state')
            fs.write(state, 'FROZEN')
            const until = performance.now() + FREEZE_WAIT_MS
            let frozen = false
            while (!frozen && performance.now() < until) frozen = fs.read(state).trim() === 'FROZEN'
            signalAll(readPids(fs, path.join(freezer, 'cgroup.procs')), 'SIGKILL')
            fs.write(state, 'THAWED')
          } catch {}
        }
        // Without a freezer, or for what was still freezing: until none is left.
        killListed(fs, procs)
      },
      terminate: () => {
        signalAll(readPids(fs, procs), 'SIGTERM')
      },
      oomKills: () => {
        try {
          const kills = /^oom_kill (\d+)$/m.exec(fs.read(path.join(memory, 'memory.oom_control')))
          if (kills !== null) return Number(kills[1])
          return Number(fs.read(path.join(memory, 'memory.failcnt')).trim()) > 0 ? 1 : 0
        } catch {
          return 0
        }
      },
      remove: () => {
        let removed = true
        for (const dir of dirs) {
          try {
            fs.rmdir(dir)
          } catch (err) {
            if (errnoCode(err) !== 'ENOENT') removed = false
          }
        }
        return removed
      },
    }
  }
}
