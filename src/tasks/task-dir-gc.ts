// Attempt directories (work dir and captured output) outlive their tasks, so output can be read
// after the fact; without collection they would fill the disk of a long-running node. A task's
// directory goes once the task finished more than retentionMs ago, or once the replicated table
// has forgotten it (it keeps the newest 50,000 finished tasks). Directories of tasks that may
// still run are never touched, so "this attempt's directory exists" still means "it ran here".
//
// The output a node keeps is bounded too: when what is left after that exceeds maxTotalBytes,
// the directories of finished attempts go, oldest finish first, until it fits (what running
// attempts hold counts, but they are never touched; each is bounded by the executor).
import { readdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { dirUsage } from '../executor/files/dir-usage.js'
import { TASKS_DIR } from '../executor/files/task-dir.js'
import { isTerminal, type TaskRecord, type TaskTable } from './task-table.js'

export interface TaskDirGcResult {
  /** Task directories removed for age or because the table forgot the task. */
  expired: number
  /** Attempt directories removed to bring the node under maxTotalBytes. */
  overCap: number
}

/** An attempt directory holding more entries than this is counted by what was seen so far: its
 * attempt was stopped at the executor's own bound (maxWorkDirEntries) anyway. */
const MAX_ENTRIES_PER_ATTEMPT = 200_000

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch {
    return []
  }
}

/** When the attempt finished, or null if it may still run. */
function finishedAt(task: TaskRecord | undefined, attempt: number): number | null {
  if (task === undefined) return 0
  if (attempt === task.attempt) return isTerminal(task.state) ? (task.finishedAt ?? 0) : null
  if (attempt > task.attempt) return null // assigned here after this replica's view: leave it
  return task.history.find(h => h.attempt === attempt)?.finishedAt ?? 0
}

export async function collectTaskDirs(
  dataDir: string,
  table: TaskTable,
  nowMs: number,
  retentionMs: number,
  maxTotalBytes = Infinity,
): Promise<TaskDirGcResult> {
  const root = path.join(dataDir, TASKS_DIR)
  const result: TaskDirGcResult = { expired: 0, overCap: 0 }
  const names = await list(root)
  const kept: string[] = []
  for (const id of names) {
    const task = table.get(id)
    const expired = task === undefined || (isTerminal(task.state) && (task.finishedAt ?? nowMs) < nowMs - retentionMs)
    if (!expired) {
      kept.push(id)
      continue
    }
    await rm(path.join(root, id), { recursive: true, force: true })
    result.expired++
  }
  if (maxTotalBytes === Infinity) return result

  let totalBytes = 0
  const finished: Array<{ dir: string; bytes: number; finishedAt: number }> = []
  for (const id of kept) {
    for (const name of await list(path.join(root, id))) {
      if (!/^[1-9][0-9]*$/.test(name)) continue // <attempt>.pid files beside the directories
      const dir = path.join(root, id, name)
      const { bytes } = await dirUsage(dir, MAX_ENTRIES_PER_ATTEMPT)
      totalBytes += bytes
      const at = finishedAt(table.get(id), Number(name))
      if (at !== null) finished.push({ dir, bytes, finishedAt: at })
    }
  }
  finished.sort((a, b) => a.finishedAt - b.finishedAt)
  for (const attempt of finished) {
    if (totalBytes <= maxTotalBytes) break
    await rm(attempt.dir, { recursive: true, force: true })
    totalBytes -= attempt.bytes
    result.overCap++
  }
  return result
}
