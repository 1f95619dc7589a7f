// A file holding the API's bearer token: one line, the agent's --http-token-file and the other
// commands' --token-file. Every problem is a UsageError naming the flag and the file.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { HTTP_TOKEN_PATTERN } from '../http/config.js'
import { UsageError } from './usage.js'

/** A token line is tens of characters; a larger file is the wrong file. */
const TOKEN_FILE_MAX_BYTES = 4096

export interface TokenFile {
  token: string
  /** Permission bits. */
  mode: number
}

export function readTokenFile(path: string, flag: string, section?: string): TokenFile {
  const refuse = (why: string): never => {
    throw new UsageError(`${flag} "${path}": ${why}`, section)
  }
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (err) {
    return refuse(`cannot open it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  try {
    // One descriptor for the checks and the read: the file checked is the file read.
    const stat = fstatSync(fd)
    if (!stat.isFile()) refuse('is not a regular file')
    if (stat.size > TOKEN_FILE_MAX_BYTES) refuse(`is ${stat.size} bytes; a token file holds one line`)
    const buf = Buffer.alloc(TOKEN_FILE_MAX_BYTES)
    const text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8')
    const token = text.replace(/\r?\n$/, '').trim()
    if (token === '') refuse('is empty (make a token with `meshos http-token FILE`)')
    if (/[\r\n]/.test(token)) refuse('holds more than one line; a token file holds the token alone')
    if (!HTTP_TOKEN_PATTERN.test(token))
      refuse('the token may hold only letters, digits and - . _ ~ + / (and = at the end)')
    return { token, mode: stat.mode & 0o777 }
  } finally {
    closeSync(fd)
  }
}
