// Checking a LaunchRequest before anything is spawned. The request comes from a committed
// assignment, so a bad one is a bug upstream; it is refused (nothing spawned, nothing recorded)
// rather than turned into a half-started task.
import { attemptProblem, taskIdProblem } from './files/task-dir.js'
import type { LaunchRequest } from './types.js'

/** What to exec: the file and its arguments (argv[0] excluded, as spawn() wants them). */
export interface ExecTarget {
  file: string
  args: string[]
}

export function launchRequestProblem(req: LaunchRequest): string | null {
  const idProblem = taskIdProblem(req.taskId) ?? attemptProblem(req.attempt)
  if (idProblem !== null) return idProblem
  const hasCommand = req.command !== undefined
  const hasArgv = req.argv !== undefined
  if (hasCommand === hasArgv) return 'exactly one of command and argv must be given'
  if (hasCommand && (typeof req.command !== 'string' || req.command.length === 0))
    return 'command must be a non-empty string'
  if (
    hasArgv &&
    (!Array.isArray(req.argv) ||
      req.argv.length === 0 ||
      req.argv.some(arg => typeof arg !== 'string') ||
      req.argv[0] === '')
  ) {
    return 'argv must be a non-empty array of strings with a non-empty argv[0]'
  }
  if (
    typeof req.env !== 'object' ||
    req.env === null ||
    Object.values(req.env).some(value => typeof value !== 'string')
  ) {
    return 'env must map names to strings'
  }
  if (typeof req.cpus !== 'number' || !Number.isFinite(req.cpus) || req.cpus < 0)
    return 'cpus must be a finite number >= 0'
  if (typeof req.memoryMb !== 'number' || !Number.isFinite(req.memoryMb) || req.memoryMb <= 0)
    return 'memoryMb must be a finite number > 0'
  if (
    req.timeoutMs !== null &&
    (typeof req.timeoutMs !== 'number' || !Number.isFinite(req.timeoutMs) || req.timeoutMs <= 0)
  ) {
    return 'timeoutMs must be null or a finite number > 0'
  }
  return null
}

/** For a request that passed launchRequestProblem. */
export function execTarget(req: LaunchRequest): ExecTarget {
  if (req.command !== undefined) return { file: '/bin/sh', args: ['-c', req.command] }
  const argv = req.argv ?? []
  return { file: argv[0], args: argv.slice(1) }
}
