// Which local user opened a TCP connection to the API: Linux lists every socket with its owner's
// uid in /proc/net/tcp{,6}, the client's end included when the client runs on this machine. The
// agent refuses connections from the user its tasks run as, so a task cannot drive the node (submit
// tasks, read other tasks' output) through its loopback API even where no token is set.
import { readFileSync } from 'node:fs'
import { isIPv4 } from 'node:net'

/** /proc's form of an address: IPv4 as one little-endian 32-bit word, IPv6 as four of them. */
function procAddress(ip: string): string | null {
  const v4 = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : isIPv4(ip) ? ip : null
  if (v4 !== null) {
    const bytes = v4.split('.').map(Number)
    return bytes
      .reverse()
      .map(b => b.toString(16).padStart(2, '0'))
      .join('')
      .toUpperCase()
  }
  return null
}

function procPort(port: number): string {
  return port.toString(16).padStart(4, '0').toUpperCase()
}

/** The uid owning the client end (clientIp:clientPort → serverPort) of a connection on this
 * machine, or null when it is not found (another machine, another network namespace, not Linux). */
export function socketOwnerUid(clientIp: string, clientPort: number, serverPort: number): number | null {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = readFileSync(file, 'latin1')
    } catch {
      continue
    }
    const uid = ownerIn(text, clientIp, clientPort, serverPort)
    if (uid !== null) return uid
  }
  return null
}

/** The owner's uid in one /proc/net/tcp{,6} listing: columns sl, local_address, rem_address, st,
 * tx:rx queue, tr:when, retrnsmt, uid, ... */
export function ownerIn(listing: string, clientIp: string, clientPort: number, serverPort: number): number | null {
  const local = procAddress(clientIp)
  const clientPortHex = procPort(clientPort)
  const serverPortHex = procPort(serverPort)
  for (const line of listing.split('\n')) {
    const [, localAddr, remoteAddr, , , , , uid] = line.trim().split(/\s+/)
    if (localAddr === undefined || remoteAddr === undefined || uid === undefined) continue
    if (!localAddr.endsWith(`:${clientPortHex}`) || !remoteAddr.endsWith(`:${serverPortHex}`)) continue
    // An IPv4 client in an IPv4 listing must have its own address there; in an IPv6 listing it
    // appears as ::ffff:a.b.c.d, and the two ports on this machine identify the socket.
    if (local !== null && localAddr.length === 13 && !localAddr.startsWith(local)) continue
    const n = Number(uid)
    return Number.isSafeInteger(n) ? n : null
  }
  return null
}
