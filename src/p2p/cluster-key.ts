// The cluster key: a pre-shared key in the format of libp2p private networks (@libp2p/pnet, the
// go-ipfs "swarm.key" format). Every node of a cluster holds the same key; a peer without it
// cannot complete a connection. This file reads, checks and generates key files; the network
// side is private-network.ts.
import { readFileSync, statSync } from 'node:fs'
import { generateKey } from '@libp2p/pnet'

const HEADER = '/key/swarm/psk/1.0.0/'
const ENCODING = '/base16/'
const KEY_HEX_DIGITS = 64
/** What pnet's generateKey writes: header, encoding and 64 hex digits on three lines. */
const KEY_TEXT_BYTES = HEADER.length + 1 + ENCODING.length + 1 + KEY_HEX_DIGITS
/** Bigger than any key file: a wrong path (a log, a disk image) is refused before it is read. */
const MAX_KEY_FILE_BYTES = 4096
/** Key files are written owner-only, like the node's identity key. */
export const CLUSTER_KEY_FILE_MODE = 0o600

export class ClusterKeyError extends Error {}

export interface ClusterKey {
  /** Where it was read from, as given (the banner repeats it in the join command). */
  file: string
  /** The key in pnet's canonical three-line form, as `preSharedKey({ psk })` takes it. */
  psk: Uint8Array
  /** Permission bits of the file: group or other access deserves a warning (a key holder can
   * join the cluster and run commands on every node). */
  mode: number
}

/** A fresh key in the file format, ending with a newline: `meshos keygen > cluster.key`. */
export function generateClusterKey(): string {
  const bytes = new Uint8Array(KEY_TEXT_BYTES)
  generateKey(bytes)
  return new TextDecoder().decode(bytes) + '\n'
}

/** Checks a key file's text strictly (pnet itself only checks the third line) and returns the
 * canonical form; `source` names the file in errors. */
export function parseClusterKey(text: string, source: string): Uint8Array {
  const lines = text.replace(/\s+$/, '').split(/\r?\n/)
  const expected = `expected the three lines "${HEADER}", "${ENCODING}" and ${KEY_HEX_DIGITS} hex digits, as written by \`meshos keygen\``
  if (lines.length !== 3) throw new ClusterKeyError(`cluster key ${source}: ${expected}`)
  const [header, encoding, hex] = lines.map(l => l.trim()) as [string, string, string]
  if (header !== HEADER) throw new ClusterKeyError(`cluster key ${source}: first line is not "${HEADER}"; ${expected}`)
  if (encoding !== ENCODING)
    throw new ClusterKeyError(`cluster key ${source}: second line is not "${ENCODING}"; ${expected}`)
  if (!new RegExp(`^[0-9a-fA-F]{${KEY_HEX_DIGITS}}$`).test(hex))
    throw new ClusterKeyError(`cluster key ${source}: third line is not ${KEY_HEX_DIGITS} hex digits; ${expected}`)
  return new TextEncoder().encode(`${HEADER}\n${ENCODING}\n${hex.toLowerCase()}`)
}

/** Reads and checks a key file. Synchronous: it runs once, while the command line is parsed. */
export function readClusterKeyFile(file: string): ClusterKey {
  let text: string
  let mode: number
  try {
    const stat = statSync(file)
    if (!stat.isFile()) throw new ClusterKeyError(`cluster key ${file} is not a file`)
    if (stat.size > MAX_KEY_FILE_BYTES)
      throw new ClusterKeyError(`cluster key ${file} is ${stat.size} bytes; a key file is ${KEY_TEXT_BYTES + 1}`)
    mode = stat.mode & 0o777
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if (err instanceof ClusterKeyError) throw err
    const code = (err as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? 'no such file (create one with `meshos keygen > FILE`)'
        : code === 'EACCES'
          ? 'permission denied'
          : (err as Error).message
    throw new ClusterKeyError(`cluster key ${file} cannot be read: ${why}`)
  }
  return { file, psk: parseClusterKey(text, file), mode }
}

/** Group or other may read (or write) the key file. */
export function clusterKeyFileIsShared(key: ClusterKey): boolean {
  return (key.mode & 0o077) !== 0
}
