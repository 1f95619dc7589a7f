// Reading a task's logs back from its directory: straight from the files, so it works while the
// task runs, after it ended and after an agent restart, with no executor state involved.
import { constants } from 'node:fs'
import { lstat, open } from 'node:fs/promises'
import { attemptProblem, taskIdProblem, taskPaths } from './task-dir.js'
import type { LogChunk, LogStream } from '../types.js'

/** One call never allocates more than this, whatever the caller asks for. */
export const MAX_LOG_READ_BYTES = 4 * 1024 * 1024

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file)
    return true
  } catch {
    return false
  }
}

/**
 * Up to maxBytes (clamped to MAX_LOG_READ_BYTES) from `offset`. Null if this node has no directory
 * for that task attempt (including ids that could not be one). Reading at or past the end gives an
 * empty chunk with nextOffset = offset: poll again to follow a running task.
 * Throws RangeError for a negative or fractional offset or maxBytes.
 */
export async function readTaskLog(
  dataDir: string,
  taskId: string,
  attempt: number,
  stream: LogStream,
  offset: number,
  maxBytes: number,
): Promise<LogChunk | null> {
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new RangeError(`offset must be a non-negative integer, got ${offset}`)
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`)
  if (stream !== 'stdout' && stream !== 'stderr')
    throw new RangeError(`stream must be stdout or stderr, got ${String(stream)}`)
  if (taskIdProblem(taskId) !== null || attemptProblem(attempt) !== null) return null
  const paths = taskPaths(dataDir, taskId, attempt)
  if (!(await exists(paths.workDir))) return null
  const truncated = await exists(paths.truncatedMarker[stream])

  const nothing = { data: new Uint8Array(0), nextOffset: offset, truncated }
  let handle
  try {
    // Never through a link or into a FIFO the task put there (see safe-open.ts): the agent may be
    // root, and what it reads it serves.
    handle = await open(paths.log[stream], constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    // The directory exists but the log does not (yet): nothing written. A link: nothing either.
    if (['ENOENT', 'ELOOP'].includes((err as NodeJS.ErrnoException).code ?? '')) return nothing
    throw err
  }
  try {
    const st = await handle.stat()
    if (!st.isFile()) return nothing
    const size = st.size
    const length = Math.max(0, Math.min(maxBytes, MAX_LOG_READ_BYTES, size - offset))
    const data = new Uint8Array(length)
    let filled = 0
    while (filled < length) {
      const { bytesRead } = await handle.read(data, filled, length - filled, offset + filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return { data: filled === length ? data : data.subarray(0, filled), nextOffset: offset + filled, truncated }
  } finally {
    await handle.close()
  }
}
