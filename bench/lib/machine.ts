// What the numbers were measured on, printed with every report.
import os from 'node:os'

export interface MachineInfo { cpus: number, cpuModel: string, memoryGiB: number, node: string, platform: string, kernel: string }

export function machineInfo (): MachineInfo {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release()
  }
}

export function describeMachine (m: MachineInfo): string {
  return `${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform} ${m.kernel}`
}
