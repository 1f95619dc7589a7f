// What the numbers were measured on, printed with every report.
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface MachineInfo {
  cpus: number
  cpuModel: string
  memoryGiB: number
  node: string
  platform: string
  kernel: string
  /** Where the benches' data dirs go (os.tmpdir()). */
  tempFileSystem: string
}

export function machineInfo(): MachineInfo {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    tempFileSystem: tempFileSystem(),
  }
}

/**
 * The file system under os.tmpdir(), and for ext4 whether it has a journal: without one, every
 * file created within minutes of many deletions is slow (docs/operations.md, Known limits), and meshos
 * creates a directory and files per task.
 */
function tempFileSystem(): string {
  try {
    const dir = realpathSync(os.tmpdir())
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map(line => line.split(' '))
      .filter(fields => fields.length >= 3)
    const holding = mounts
      .filter(([, mountPoint]) => mountPoint === '/' || dir === mountPoint || dir.startsWith(`${mountPoint!}/`))
      .sort((a, b) => b[1]!.length - a[1]!.length)[0]
    if (holding === undefined) return 'unknown'
    const [device, mountPoint, type] = holding
    if (type !== 'ext4') return `${type!} at ${mountPoint!}`
    const journals = existsSync('/proc/fs/jbd2') ? readdirSync('/proc/fs/jbd2') : []
    const journaled = journals.some(name => name.startsWith(`${path.basename(device!)}-`))
    return `ext4 ${journaled ? 'with' : 'without'} a journal at ${mountPoint!}`
  } catch {
    return 'unknown'
  }
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform} ${m.kernel}; temp dirs on ${m.tempFileSystem}`
}
