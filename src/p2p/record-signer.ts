// Signing of what a node says about itself (its membership record), with its libp2p identity key,
// so any node may relay the record without being trusted for its content. Ed25519 signs and
// verifies synchronously in Node, which the membership core needs (it re-signs as it refutes).
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'

export class RecordSigner {
  constructor(private readonly privateKey: PrivateKey) {}

  sign(bytes: Uint8Array): Uint8Array {
    const sig = this.privateKey.sign(bytes)
    if (sig instanceof Uint8Array) return sig
    throw new Error(`a ${this.privateKey.type} key signs asynchronously; membership records need Ed25519`)
  }
}

/** True when `signature` is `peerId`'s signature of `bytes`; false for anything else (a peer id
 * without an inline public key, a malformed signature, an asynchronous verifier). */
export function verifiedBy(peerId: string, bytes: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = peerIdFromString(peerId).publicKey
    if (key === undefined) return false
    const ok = key.verify(bytes, signature)
    return ok === true
  } catch {
    return false
  }
}
