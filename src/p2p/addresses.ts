// Parsing of user-supplied multiaddrs, with errors a person can act on.
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'

export class AddressError extends Error {}

export function parseMultiaddr(input: string, what: string): Multiaddr {
  let ma: Multiaddr
  try {
    ma = multiaddr(input)
  } catch (err) {
    throw new AddressError(
      `${what} "${input}" is not a valid multiaddr (${(err as Error).message}); expected e.g. /ip4/127.0.0.1/tcp/7000`,
    )
  }
  const names = ma.getComponents().map(c => c.name)
  if (!names.includes('tcp')) {
    throw new AddressError(`${what} "${input}" has no /tcp/<port>; meshos speaks TCP, e.g. /ip4/127.0.0.1/tcp/7000`)
  }
  return ma
}

/** A bootstrap address must name the peer, or a man in the middle could answer for it. */
export function parseBootstrapAddr(input: string): Multiaddr {
  const ma = parseMultiaddr(input, 'bootstrap address')
  if (ma.getPeerId() == null) {
    throw new AddressError(
      `bootstrap address "${input}" has no /p2p/<peer-id>; copy the full address the other node printed at start-up`,
    )
  }
  return ma
}

export function peerIdOf(addr: string): string | null {
  try {
    return multiaddr(addr).getPeerId()
  } catch {
    return null
  }
}

/** Whether a (valid) multiaddr is a loopback IP: 127.0.0.0/8 or ::1. Names (even localhost),
 * wildcards (0.0.0.0, ::) and every other address count as reachable from elsewhere. */
export function isLoopbackMultiaddr(addr: string): boolean {
  const first = multiaddr(addr).getComponents()[0]
  if (first?.name === 'ip4') return /^127\.\d+\.\d+\.\d+$/.test(first.value ?? '')
  if (first?.name === 'ip6') return first.value === '::1'
  return false
}
