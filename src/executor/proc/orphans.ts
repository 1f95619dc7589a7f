// Finding and killing what a previous agent on this data directory left running. Every launched
// task outside a cgroup has a pid file beside its directory (task-dir.ts: where the task cannot
// write) until its main process exits; a pid file of a task this executor does not run is a
// leftover of an agent that crashed (or was killed) without cleaning up. (A task in a cgroup has
// none: the attempt cgroups such an agent left are emptied and removed instead, with every process
// in them: Executor.killOrphans.)
//
// Pids are recycled, so a pid file alone is not proof: the group is killed only if its leader is
// the very process that was spawned (same /proc start time), or, when the leader is gone but some
// of the group lives on, if a member still carries the task's MESHOS_TASK_* variables. A task that
// rewrote its children's environment and lost its leader is left alone: wrongly killing an
// unrelated process is the worse mistake.
import { rmSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { readEnviron, readProcessTable, type ProcEntry } from './proc.js'
import { killGroup } from '../task-run.js'
import { taskIdentityEnv } from '../task-env.js'
import { PID_FILE_SUFFIX, readPidFile, TASKS_DIR, type PidRecord } from '../files/task-dir.js'
import type { ExecutorLogger } from '../types.js'

export interface KilledOrphan {
  taskId: string
  attempt: number
  /** The process group that was SIGKILLed. */
  pgid: number
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch {
    return []
  }
}

async function pidFiles(dataDir: string): Promise<string[]> {
  const tasksDir = path.join(dataDir, TASKS_DIR)
  const files: string[] = []
  for (const taskId of await listDir(tasksDir)) {
    for (const name of await listDir(path.join(tasksDir, taskId))) {
      if (name.endsWith(PID_FILE_SUFFIX)) files.push(path.join(tasksDir, taskId, name))
    }
  }
  return files
}

function carriesTaskEnv(pid: number, record: PidRecord): boolean {
  const environ = readEnviron(pid)
  if (environ === null) return false
  return Object.entries(taskIdentityEnv(record.taskId, record.attempt)).every(([name, value]) =>
    environ.includes(`${name}=${value}`),
  )
}

function isTheSpawnedGroup(record: PidRecord, members: ProcEntry[]): boolean {
  const leader = members.find(member => member.pid === record.pid)
  if (leader !== undefined && record.startTime !== null) return leader.startTime === record.startTime
  for (const member of members) {
    if (carriesTaskEnv(member.pid, record)) return true
  }
  return false
}

/**
 * SIGKILLs the process group of every task with a pid file that `isOwn` does not claim and that is
 * still alive, and removes the pid files it has dealt with (killed, gone, or recycled).
 */
export async function killOrphans(
  dataDir: string,
  isOwn: (record: PidRecord) => boolean,
  logger: ExecutorLogger,
): Promise<KilledOrphan[]> {
  const candidates: Array<{ file: string; record: PidRecord }> = []
  for (const file of await pidFiles(dataDir)) {
    const record = readPidFile(file)
    if (record === null) {
      logger.warn({ file }, 'unreadable pid file; ignoring it')
      continue
    }
    candidates.push({ file, record })
  }
  if (candidates.length === 0) return []

  const groups = new Map<number, ProcEntry[]>()
  for (const entry of readProcessTable()) {
    const members = groups.get(entry.pgid)
    if (members === undefined) groups.set(entry.pgid, [entry])
    else members.push(entry)
  }

  const killed: KilledOrphan[] = []
  for (const { file, record } of candidates) {
    if (isOwn(record)) continue
    const members = groups.get(record.pid) ?? []
    const context = { taskId: record.taskId, attempt: record.attempt, pgid: record.pid }
    if (members.length > 0) {
      if (isTheSpawnedGroup(record, members)) {
        logger.warn({ ...context, processes: members.length }, 'killing leftover task process group')
        if (killGroup(record.pid, 'SIGKILL', logger))
          killed.push({ taskId: record.taskId, attempt: record.attempt, pgid: record.pid })
      } else {
        logger.info(context, 'pid file names a recycled pid; leaving that process alone')
      }
    }
    try {
      // Synchronously, right after the isOwn() check: an await between the two would let a
      // relaunch of this very task write its pid file first, and lose it here.
      rmSync(file, { force: true })
    } catch (err) {
      logger.warn({ ...context, err }, 'could not remove pid file')
    }
  }
  return killed
}
