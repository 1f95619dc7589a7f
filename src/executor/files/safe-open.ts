// Opening files inside a task's directory, which the task may have tampered with: a FIFO there
// would block open() (and with it the executor's event loop) until someone reads it, and a
// symlink would make the executor write wherever it points. Mirrors open_regular_for_write() in
// native/launcher.c.
import { closeSync, constants, fstatSync, openSync } from 'node:fs'

const { O_WRONLY, O_CREAT, O_TRUNC, O_NONBLOCK, O_NOFOLLOW } = constants

/** Creates (or empties) a regular file for writing; throws (code ENXIO, ELOOP, EINVAL, ...) for anything else. */
export function openRegularForWrite(path: string): number {
  const fd = openSync(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_NOFOLLOW, 0o644)
  if (!fstatSync(fd).isFile()) {
    closeSync(fd)
    throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EINVAL', path })
  }
  return fd
}
