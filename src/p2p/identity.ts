// The node's identity: an Ed25519 key kept in the data dir, so a restarted node keeps its
// peer id (and with it its place in the member table and, later, its raft vote).
import { mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { writeFileAtomic } from '../util/atomic-file.js'

const KEY_FILE = 'peer-key'

export async function loadOrCreatePrivateKey(dataDir: string): Promise<PrivateKey> {
  const file = path.join(dataDir, KEY_FILE)
  try {
    const bytes = await readFile(file)
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (err) {
      // Never silently replace an identity: the operator must decide what to do.
      throw new Error(
        `identity key ${file} is unreadable (${(err as Error).message}); move it away to create a new identity`,
      )
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  await mkdir(dataDir, { recursive: true })
  const key = await generateKeyPair('Ed25519')
  await writeFileAtomic(file, privateKeyToProtobuf(key), 0o600)
  return key
}

/** The peer id this key gives a node (known before its host starts). */
export function peerIdOfKey(privateKey: PrivateKey): string {
  return peerIdFromPrivateKey(privateKey).toString()
}
