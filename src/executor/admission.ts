// Whether an executor may start an attempt: one rule, shared by the in-thread Executor and the
// main-thread side of the threaded executor (which must answer launch() synchronously).
import { launchRequestProblem } from './launch-request.js'
import { fits } from '../util/resources.js'
import type { LaunchRequest, Resources } from './types.js'

export interface AdmissionState {
  stopped: boolean
  /** This attempt is running (launched, outcome not yet reported). */
  running: boolean
  /** This attempt already ran in this process. */
  finished: boolean
  used: Resources
  capacity: Resources
}

/** Null when the attempt may start, else why not. */
export function admissionProblem(req: LaunchRequest, s: AdmissionState): string | null {
  if (s.stopped) return 'executor is stopped'
  const problem = launchRequestProblem(req)
  if (problem !== null) return `invalid launch request: ${problem}`
  if (s.running) return `task ${req.taskId} attempt ${req.attempt} is already running`
  if (s.finished) return `task ${req.taskId} attempt ${req.attempt} already ran on this node`
  const { used, capacity } = s
  if (!fits(used.cpus + req.cpus, capacity.cpus) || !fits(used.memoryMb + req.memoryMb, capacity.memoryMb)) {
    return (
      `insufficient capacity: asks ${req.cpus} cpus and ${req.memoryMb} MiB, ` +
      `${used.cpus} of ${capacity.cpus} cpus and ${used.memoryMb} of ${capacity.memoryMb} MiB in use`
    )
  }
  return null
}

/** What a set of attempts holds. */
export function sumResources(requests: Iterable<Resources>): Resources {
  let cpus = 0
  let memoryMb = 0
  for (const r of requests) {
    cpus += r.cpus
    memoryMb += r.memoryMb
  }
  return { cpus, memoryMb }
}
