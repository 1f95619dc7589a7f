// Which local user opened a TCP connection to the API: Linux lists every socket with its owner's
// uid in /proc/net/tcp{,6}, the client's end included when the client runs on this machine. The
// agent refuses connections from the user its tasks run as, so a task cannot drive the node (submit
// tasks, read other tasks' output) through its loopback API even where no token is set.
//
// The kernel writes out every socket of the machine for one read: ~6 ms of CPU with 900 sockets
// on the 2-core VM. So the listing is read off the event loop, and connections that arrive while
// one read is under way share the next one: a burst of new connections (a client opening many
// at once when the node is slow) costs a read or two, not one each, which had stalled the node.
import { readFile } from 'node:fs/promises'
import { isIPv4 } from 'node:net'

const LISTINGS = ['/proc/net/tcp', '/proc/net/tcp6']

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

async function readListing(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'latin1')
  } catch {
    return null
  }
}

/** Reads the listings for whoever asks, one read at a time; each asker gets a read that started
 * after it asked, so the listing holds every socket that existed when it asked. */
export class SocketListings {
  private waiting: Array<(listings: Array<string | null>) => void> = []
  private reading = false

  constructor(private readonly read: (file: string) => Promise<string | null> = readListing) {}

  async current(): Promise<Array<string | null>> {
    return await new Promise(resolve => {
      this.waiting.push(resolve)
      this.pump()
    })
  }

  private pump(): void {
    if (this.reading || this.waiting.length === 0) return
    const batch = this.waiting
    this.waiting = []
    this.reading = true
    void Promise.all(LISTINGS.map(async file => await this.read(file))).then(listings => {
      this.reading = false
      for (const resolve of batch) resolve(listings)
      this.pump()
    })
  }
}

/** The uid owning the client end (clientIp:clientPort → serverPort) of a connection on this
 * machine, or null when it is not found (another machine, another network namespace, not Linux).
 * The connection must exist when this is called (its first request has arrived). */
export async function socketOwnerUid(
  listings: SocketListings,
  clientIp: string,
  clientPort: number,
  serverPort: number,
): Promise<number | null> {
  for (const text of await listings.current()) {
    if (text === null) continue
    const uid = ownerIn(text, clientIp, clientPort, serverPort)
    if (uid !== null) return uid
  }
  return null
}

/** The owner's uid in one /proc/net/tcp{,6} listing: columns sl, local_address, rem_address, st,
 * tx:rx queue, tr:when, retrnsmt, uid, ... Only the lines holding the client's port are split. */
export function ownerIn(listing: string, clientIp: string, clientPort: number, serverPort: number): number | null {
  const local = procAddress(clientIp)
  const clientPortHex = procPort(clientPort)
  const serverPortHex = procPort(serverPort)
  const needle = `:${clientPortHex}`
  let lastLine = -1
  for (let at = listing.indexOf(needle); at >= 0; at = listing.indexOf(needle, at + needle.length)) {
    const start = listing.lastIndexOf('\n', at) + 1
    if (start === lastLine) continue
    lastLine = start
    const end = listing.indexOf('\n', at)
    const line = listing.slice(start, end < 0 ? listing.length : end)
    const [, localAddr, remoteAddr, , , , , uid] = line.trim().split(/\s+/)
    if (localAddr === undefined || remoteAddr === undefined || uid === undefined) continue
    if (!localAddr.endsWith(needle) || !remoteAddr.endsWith(`:${serverPortHex}`)) continue
    // An IPv4 client in an IPv4 listing must have its own address there; in an IPv6 listing it
    // appears as ::ffff:a.b.c.d, and the two ports on this machine identify the socket.
    if (local !== null && localAddr.length === 13 && !localAddr.startsWith(local)) continue
    const n = Number(uid)
    return Number.isSafeInteger(n) ? n : null
  }
  return null
}
