// Attempt directories (work dir and captured output) outlive their tasks, so output can be read
// after the fact; without collection they would fill the disk of a long-running node. A task's
// directory goes once the task finished more than retentionMs ago, or once the replicated table
// has forgotten it (it keeps the newest 50,000 finished tasks). Directories of tasks that may
// still run are never touched, so "this attempt's directory exists" still means "it ran here".
import { readdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { TASKS_DIR } from '../executor/files/task-dir.js'
import { isTerminal, type TaskTable } from './task-table.js'

export async function collectTaskDirs(
  dataDir: string,
  table: TaskTable,
  nowMs: number,
  retentionMs: number,
): Promise<number> {
  const root = path.join(dataDir, TASKS_DIR)
  let names: string[]
  try {
    names = await readdir(root)
  } catch {
    return 0 // no task ever ran here
  }
  let removed = 0
  for (const id of names) {
    const task = table.get(id)
    const expired = task === undefined || (isTerminal(task.state) && (task.finishedAt ?? nowMs) < nowMs - retentionMs)
    if (!expired) continue
    await rm(path.join(root, id), { recursive: true, force: true })
    removed++
  }
  return removed
}
