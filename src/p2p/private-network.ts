// The cluster key on the wire: @libp2p/pnet's pre-shared-key protector (XSalsa20 beneath Noise),
// wrapped so that a peer outside the private network fails with an error that says so. pnet has
// no key check of its own: with another key (or none) the bytes after its nonce exchange are
// noise, and libp2p reports that as "Missing newline" or "unexpected end of input". Every libp2p
// connection starts with the multistream-select header, so the wrapper checks that the first
// (decrypted) bytes are that header and names the real cause when they are not.
import { preSharedKey } from '@libp2p/pnet'
import type { AbortOptions, ComponentLogger, ConnectionProtector, MultiaddrConnection } from '@libp2p/interface'

/** What both ends of a libp2p connection send first: a varint length (19), then the text. */
const MULTISTREAM_HEADER = new TextEncoder().encode('\x13/multistream/1.0.0\n')

/** pnet's nonce exchange must finish within this (its default, 1 s, is short for a loaded
 * machine running many nodes). A peer without the key never answers a keyed dialler's nonce, so
 * that dial fails only after this long. */
const NONCE_TIMEOUT_MS = 3000

export class NotInPrivateNetworkError extends Error {
  override name = 'NotInPrivateNetworkError'
}

export type PrivateNetworkRefusal = (remoteAddr: string, why: string) => void

/** Passes the stream through once its first bytes are the multistream header. */
async function* expectMultistream(
  source: MultiaddrConnection['source'],
  refuse: (why: string) => Error,
): MultiaddrConnection['source'] {
  let checked = 0
  for await (const chunk of source) {
    if (checked < MULTISTREAM_HEADER.length) {
      const bytes = chunk.subarray()
      const n = Math.min(bytes.length, MULTISTREAM_HEADER.length - checked)
      for (let i = 0; i < n; i++) {
        if (bytes[i] !== MULTISTREAM_HEADER[checked + i]) throw refuse('its first bytes are not a libp2p handshake')
      }
      checked += n
    }
    yield chunk
  }
  if (checked < MULTISTREAM_HEADER.length) throw refuse('it closed the connection during the handshake')
}

type ProtectorFactory = (components: { logger: ComponentLogger }) => ConnectionProtector

/** The libp2p `connectionProtector` of a node: with a cluster key (`psk` as parsed by
 * cluster-key.ts), pnet plus the check; without one, only the check, so a node that lacks the
 * key is told that its peer has one instead of "Missing newline". */
export function connectionProtector(psk: Uint8Array | undefined, onRefused: PrivateNetworkRefusal): ProtectorFactory {
  const explain =
    psk != null
      ? 'is not in this private network (it has another cluster key, or none)'
      : 'does not speak plain libp2p: it is probably in a private network (it has a cluster key, this node has none)'
  const pnet = psk != null ? preSharedKey({ psk, timeout: NONCE_TIMEOUT_MS }) : undefined
  return components => {
    const inner = pnet?.(components)
    return {
      async protect(conn: MultiaddrConnection, options?: AbortOptions): Promise<MultiaddrConnection> {
        const remoteAddr = conn.remoteAddr.toString()
        const refuse = (why: string, cause = explain): Error => {
          onRefused(remoteAddr, why)
          return new NotInPrivateNetworkError(`peer ${remoteAddr} ${cause}: ${why}`)
        }
        let protectedConn = conn
        if (inner != null) {
          try {
            protectedConn = await inner.protect(conn, options)
          } catch (err) {
            const name = (err as Error).name
            if (name === 'TimeoutError' || name === 'AbortError')
              throw refuse(
                `no nonce within ${NONCE_TIMEOUT_MS} ms`,
                'did not complete the private network handshake (it may have no cluster key, or be overloaded)',
              )
            throw refuse(`nonce exchange failed (${(err as Error).message})`)
          }
        }
        return { ...protectedConn, source: expectMultistream(protectedConn.source, refuse) }
      },
    }
  }
}
