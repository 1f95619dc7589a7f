// Attempt directories (work dir and captured output) outlive their tasks, so output can be read
// after the fact; without collection they would fill the disk of a long-running node. A task's
// directory goes once its attempts here finished more than retentionMs ago, as this node's
// assignment source knows it (the replicated table, which forgets the oldest of its 50,000
// finished tasks; or, on a worker, its own record of what it finished, and the directory's age).
// Directories of tasks that may still run are never touched, so "this attempt's directory exists"
// still means "it ran here".
//
// The output a node keeps is bounded too: when what is left after that exceeds maxTotalBytes,
// the directories of finished attempts go, oldest finish first, until it fits (what running
// attempts hold counts, but they are never touched; each is bounded by the executor).
import { readdir, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { dirUsage } from '../executor/files/dir-usage.js'
import { TASKS_DIR } from '../executor/files/task-dir.js'

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

/** When this node's attempts of a task finished, as its assignment source knows. */
export interface TaskDirView {
  /** Epoch ms; null while the attempt may still run; undefined when unknown (then the attempt
   * directory's last change stands for it). */
  finishedAt: (taskId: string, attempt: number) => number | null | undefined
}

async function attemptDirs(root: string, id: string): Promise<string[]> {
  // <attempt>.pid files sit beside the directories.
  return (await list(path.join(root, id))).filter(name => /^[1-9][0-9]*$/.test(name))
}

async function changedAt(dir: string): Promise<number> {
  try {
    return (await stat(dir)).mtimeMs
  } catch {
    return 0
  }
}

async function finishedAt(view: TaskDirView, root: string, id: string, attempt: string): Promise<number | null> {
  const at = view.finishedAt(id, Number(attempt))
  return at !== undefined ? at : await changedAt(path.join(root, id, attempt))
}

export async function collectTaskDirs(
  dataDir: string,
  view: TaskDirView,
  nowMs: number,
  retentionMs: number,
  maxTotalBytes = Infinity,
): Promise<TaskDirGcResult> {
  const root = path.join(dataDir, TASKS_DIR)
  const result: TaskDirGcResult = { expired: 0, overCap: 0 }
  const kept: string[] = []
  for (const id of await list(root)) {
    // A task's directory goes once every attempt in it finished before the retention cutoff.
    // One emptied by the output bound below ages by its own last change.
    const attempts = await attemptDirs(root, id)
    const finishes =
      attempts.length > 0
        ? await Promise.all(attempts.map(async attempt => await finishedAt(view, root, id, attempt)))
        : [await changedAt(path.join(root, id))]
    const expired = finishes.every(at => at !== null && at < nowMs - retentionMs)
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
    for (const name of await attemptDirs(root, id)) {
      const dir = path.join(root, id, name)
      const { bytes } = await dirUsage(dir, MAX_ENTRIES_PER_ATTEMPT)
      totalBytes += bytes
      const at = await finishedAt(view, root, id, name)
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
