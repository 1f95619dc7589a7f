// The task API targets, and how meshos's result is judged against them and the spawn floors.
import type { Judged } from '../lib/verdict.js'
import { LAUNCHER_FLOOR, SPAWN_FLOOR, type TasksSystemResult } from './results.js'

export const TASK_TARGETS = {
  startP50Ms: 3,
  startP99Ms: 10,
  /** meshos throughput as a share of this machine's raw spawn floor. */
  throughputVsSpawnFloor: 0.9,
}

export type TaskTargets = typeof TASK_TARGETS

export interface TasksVerdicts {
  startP50: Judged
  startP99: Judged
  /** Null when the spawn floor was not measured. */
  vsSpawnFloor: Judged | null
  /** The floor is Node's spawn(); meshos spawns with posix_spawn, so this is the floor of
   * the mechanism it actually uses, and the stricter comparison. Null when not measured. */
  vsLauncherFloor: Judged | null
}

/** Null when meshos was not measured. */
export function judgeTasks(t: TaskTargets, results: TasksSystemResult[]): TasksVerdicts | null {
  const m = results.find(r => r.system === 'meshos')
  if (m == null) return null
  const l = m.startLatencyMs
  const vsFloor = (name: string, floorName: string): Judged | null => {
    const floor = results.find(r => r.system === floorName)
    if (floor == null) return null
    const share = m.throughput.tasksPerSecond / floor.throughput.tasksPerSecond
    return {
      target: `throughput ≥ ${t.throughputVsSpawnFloor * 100}% of the ${name}`,
      value: share,
      shown: `${m.throughput.tasksPerSecond.toFixed(0)} / ${floor.throughput.tasksPerSecond.toFixed(0)} = ${(share * 100).toFixed(0)}%`,
      pass: share >= t.throughputVsSpawnFloor,
    }
  }
  return {
    startP50: {
      target: `submit→start p50 ≤ ${t.startP50Ms} ms`,
      value: l.median,
      shown: l.median.toFixed(2),
      pass: l.median <= t.startP50Ms,
    },
    startP99: {
      target: `submit→start p99 ≤ ${t.startP99Ms} ms`,
      value: l.p99,
      shown: l.p99.toFixed(2),
      pass: l.p99 <= t.startP99Ms,
    },
    vsSpawnFloor: vsFloor('spawn floor', SPAWN_FLOOR),
    vsLauncherFloor: vsFloor('posix_spawn floor', LAUNCHER_FLOOR),
  }
}
