// Reading a task's logs back from its directory: straight from the files, so it works while the
// task runs, after it ended and after an agent restart, with no executor state involved.
import { open, stat } from 'node:fs/promises'
import { attemptProblem, taskIdProblem, taskPaths } from './task-dir.js'
import type { LogChunk, LogStream } from '../types.js'

/** One call never allocates more than this, whatever the caller asks for. */
export const MAX_LOG_READ_BYTES = 4 * 1024 * 1024

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file)
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

  let handle
  try {
    handle = await open(paths.log[stream], 'r')
  } catch (err) {
    // The directory exists but the log does not (yet): nothing written.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { data: new Uint8Array(0), nextOffset: offset, truncated }
    throw err
  }
  try {
    const size = (await handle.stat()).size
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
