// The few durable file-system steps the log store is built from. On Linux a file's data is
// durable after fsync/fdatasync of the file, but its *name* (creation, rename, unlink) is only
// durable after fsync of the directory that holds it — hence fsyncDir after every such change.
import { writeSync } from 'node:fs'
import { open, rename, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

export const TEMP_SUFFIX = '.tmp'

/** Makes creations, renames and unlinks inside `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** write(2) may write less than asked (e.g. just before the disk fills up): loop until done. */
export async function writeFully(handle: FileHandle, bytes: Buffer, positionBytes: number): Promise<void> {
  let writtenBytes = 0
  while (writtenBytes < bytes.length) {
    const { bytesWritten } = await handle.write(
      bytes,
      writtenBytes,
      bytes.length - writtenBytes,
      positionBytes + writtenBytes,
    )
    writtenBytes += bytesWritten
  }
}

/** writeFully, but on this thread: a log append is a few KiB into the page cache (microseconds),
 * and handing it to the thread pool cost a thread hand-off each way, which on this 2-core VM
 * measured ~0.3 ms of every commit. The fdatasync after it stays on the pool: a slow disk
 * (an SD card on an edge node) must not stall the event loop, heartbeats included, for the
 * length of a flush. (A write can still block when the kernel throttles a process with too
 * many dirty pages; that is rare for a log appended and synced a few KiB at a time.) */
export function writeFullySync(handle: FileHandle, bytes: Buffer, positionBytes: number): void {
  let writtenBytes = 0
  while (writtenBytes < bytes.length) {
    writtenBytes += writeSync(handle.fd, bytes, writtenBytes, bytes.length - writtenBytes, positionBytes + writtenBytes)
  }
}

/**
 * First half of an atomic file replacement: writes `bytes` to `name`.tmp in `dir` and fsyncs it.
 * On failure the temp file is removed and nothing visible has changed. Returns the temp path.
 */
export async function writeTempFile(dir: string, name: string, bytes: Buffer): Promise<string> {
  const tempPath = join(dir, name + TEMP_SUFFIX)
  let handle: FileHandle | undefined
  try {
    handle = await open(tempPath, 'w')
    await writeFully(handle, bytes, 0)
    await handle.sync()
    await handle.close()
    return tempPath
  } catch (err) {
    await handle?.close().catch(() => {})
    await unlink(tempPath).catch(() => {})
    throw err
  }
}

/** Second half: renames the fsynced temp file over `name` and fsyncs the directory. */
export async function renameDurably(dir: string, tempPath: string, name: string): Promise<void> {
  await rename(tempPath, join(dir, name))
  await fsyncDir(dir)
}
