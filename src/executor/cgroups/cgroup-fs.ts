// The few file operations the cgroup drivers need, behind an interface: the real one works on the
// kernel's cgroup file systems, and tests of the v2 driver (which this project's machines do not
// mount) use a directory that imitates one. Synchronous: cgroupfs lives in memory and answers in
// microseconds, far less than a trip through Node's thread pool.
import { mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs'

export interface CgroupFs {
  exists: (path: string) => boolean
  /** Throws (code EEXIST, ...) as mkdir(2) does. */
  mkdir: (path: string) => void
  /** Throws (code EBUSY while processes remain, ENOENT, ...) as rmdir(2) does. */
  rmdir: (path: string) => void
  read: (path: string) => string
  write: (path: string, text: string) => void
  /** The names of the sub-directories (child cgroups) of `dir`. */
  children: (dir: string) => string[]
}

export const kernelCgroupFs: CgroupFs = {
  exists: path => {
    try {
      statSync(path)
      return true
    } catch {
      return false
    }
  },
  mkdir: path => {
    mkdirSync(path)
  },
  rmdir: path => {
    rmdirSync(path)
  },
  read: path => readFileSync(path, 'utf8'),
  // One write(2) per value: the kernel parses each write as one whole value.
  write: (path, text) => {
    writeFileSync(path, text)
  },
  children: dir =>
    readdirSync(dir, { withFileTypes: true })
      .filter(entry => entry.isDirectory())
      .map(entry => entry.name),
}

export function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? String(err)
}
