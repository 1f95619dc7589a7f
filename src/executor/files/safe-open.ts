// Opening files inside a task's directory, which the task (its owner, when it runs as another
// user) may have tampered with: a FIFO there would block open() (and with it the executor's event
// loop) until someone reads it, a symlink would make the executor write (or read, and serve)
// wherever it points, and a hard link would have O_TRUNC empty the file it links to. Mirrors
// open_regular_for_write() in native/launcher.c.
import { closeSync, constants, fstatSync, ftruncateSync, openSync } from 'node:fs'

const { O_RDONLY, O_WRONLY, O_CREAT, O_NONBLOCK, O_NOFOLLOW } = constants

function refuse(fd: number, path: string): never {
  closeSync(fd)
  throw Object.assign(new Error(`${path} is not a regular file of its own`), { code: 'EINVAL', path })
}

/** Creates (or empties) a regular file for writing; throws (code ENXIO, ELOOP, EINVAL, ...) for anything else. */
export function openRegularForWrite(path: string): number {
  const fd = openSync(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOFOLLOW, 0o644)
  const st = fstatSync(fd)
  if (!st.isFile() || st.nlink !== 1) refuse(fd, path)
  ftruncateSync(fd, 0)
  return fd
}

/** Opens an existing regular file for reading; throws (ENOENT, ELOOP, EINVAL, ...) for anything else. */
export function openRegularForRead(path: string): number {
  const fd = openSync(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW)
  if (!fstatSync(fd).isFile()) refuse(fd, path)
  return fd
}
