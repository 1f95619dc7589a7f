// The on-disk layout of one attempt: <dataDir>/tasks/<taskId>/<attempt>/ is the task's working
// directory (mode 0700, owned by the task's user) and holds its logs. Logs outlive the process
// (readLog works after the task ended and after an agent restart). Beside it, in the agent's
// directory of the task (0711: the task cannot write there), <attempt>.pid lets a restarted agent
// find what the old one left running outside cgroups: a pid file the task could write would let it
// name any process for the agent to kill.
import { closeSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import path from 'node:path'
import { openRegularForWrite } from './safe-open.js'
import type { LogStream } from '../types.js'

export const TASKS_DIR = 'tasks'
export const PID_FILE_SUFFIX = '.pid'

/** Longer ids are surely a bug upstream, and would get near the file-name length limit. */
const TASK_ID_MAX_CHARS = 200

/** The id becomes a directory name: no separators, no "." or "..", nothing the shell or fs chokes on. */
export function taskIdProblem(taskId: unknown): string | null {
  if (typeof taskId !== 'string' || taskId.length === 0) return 'taskId must be a non-empty string'
  if (taskId.length > TASK_ID_MAX_CHARS) return `taskId longer than ${TASK_ID_MAX_CHARS} characters`
  if (taskId === '.' || taskId === '..' || !/^[A-Za-z0-9._:@+=-]+$/.test(taskId)) {
    return `taskId ${JSON.stringify(taskId)} is not usable as a directory name`
  }
  return null
}

export function attemptProblem(attempt: unknown): string | null {
  if (typeof attempt !== 'number' || !Number.isSafeInteger(attempt) || attempt < 1)
    return 'attempt must be a positive integer'
  return null
}

export interface TaskPaths {
  workDir: string
  log: Record<LogStream, string>
  /** Exists once that stream was cut at the size cap; readLog reports it after a restart too. */
  truncatedMarker: Record<LogStream, string>
  pidFile: string
}

/** Callers validate taskId and attempt first (taskIdProblem, attemptProblem). */
export function taskPaths(dataDir: string, taskId: string, attempt: number): TaskPaths {
  const workDir = path.join(dataDir, TASKS_DIR, taskId, String(attempt))
  return {
    workDir,
    log: { stdout: path.join(workDir, 'stdout.log'), stderr: path.join(workDir, 'stderr.log') },
    truncatedMarker: { stdout: path.join(workDir, 'stdout.truncated'), stderr: path.join(workDir, 'stderr.truncated') },
    pidFile: `${workDir}${PID_FILE_SUFFIX}`,
  }
}

export interface PidRecord {
  taskId: string
  attempt: number
  /** Also the process group id: the task is spawned as its own group leader. */
  pid: number
  /** From /proc/<pid>/stat; null if it could not be read (then only the environment check is used). */
  startTime: string | null
}

/**
 * Written without fsync: it guards against an agent crash, after which the page cache still holds
 * it; a machine crash takes the processes with it anyway. Synchronous, like its removal: the
 * asynchronous writeFile was three trips through the thread pool (open, write, close), and with
 * the unlink about a third of an executor's busy time at 100 tasks/s on a 2-core machine. The
 * price: a creat or unlink that waits on the file system (1-3 ms under load) holds the loop of the
 * process running the Executor (the agent's, with the launcher: agent-executor.ts) by that much;
 * it runs once per task that lives past 5 ms.
 */
export function writePidFile(file: string, record: PidRecord): void {
  const fd = openRegularForWrite(file)
  try {
    writeSync(fd, JSON.stringify(record) + '\n')
  } finally {
    closeSync(fd)
  }
}

export function readPidFile(file: string): PidRecord | null {
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'))
    if (typeof value !== 'object' || value === null) return null
    const { taskId, attempt, pid, startTime } = value as Record<string, unknown>
    if (
      typeof taskId !== 'string' ||
      typeof attempt !== 'number' ||
      typeof pid !== 'number' ||
      !Number.isSafeInteger(pid) ||
      pid <= 1
    )
      return null
    if (startTime !== null && typeof startTime !== 'string') return null
    return { taskId, attempt, pid, startTime }
  } catch {
    return null
  }
}

/** One unlink (rm would lstat first). */
export function removePidFile(file: string): void {
  try {
    unlinkSync(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}
