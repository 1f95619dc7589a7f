// Which names a request's Host may give for this node. A page that rebinds its own DNS name to
// 127.0.0.1 reaches the API with that name in Host; only names the node serves are answered.
import os from 'node:os'

/** A host and port as a URL canonicalises them: lower case, IPv4 dotted, IPv6 compressed in brackets. */
export interface Authority {
  hostname: string
  port: number
}

/** A bare host with an optional port: no user info, path or other characters a URL would strip. */
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/

/** `host[:port]` (the port defaults to 80, as in a Host header); null when it is not one. */
export function parseAuthority(value: string): Authority | null {
  if (!AUTHORITY.test(value)) return null
  try {
    const url = new URL(`http://${value}`)
    return { hostname: url.hostname, port: url.port === '' ? 80 : Number(url.port) }
  } catch {
    return null
  }
}

/** The canonical form of a host given to --http (IPv6 without brackets there); null when invalid. */
export function canonicalHost(host: string): string | null {
  return parseAuthority(host.includes(':') && !host.startsWith('[') ? `[${host}]` : host)?.hostname ?? null
}

/** Names only this machine can be reached by: no page can rebind them. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname)
}

const WILDCARDS = new Set(['0.0.0.0', '[::]'])

/** The --http host and port the node serves on: `host` canonical, the port as bound. */
export interface ServedOn {
  host: string
  port: number
}

/**
 * A loopback name on any port: such a request comes from this machine, and a port other than the
 * node's means a forward the user set up (`ssh -L 9000:127.0.0.1:7070`). Any other name only
 * with the node's port, and only the address it is bound to, or with a wildcard bind, an address
 * of one of the machine's interfaces (looked up per request: addresses come and go).
 */
export function servesHost(authority: Authority, on: ServedOn): boolean {
  if (isLoopbackHost(authority.hostname)) return true
  if (authority.port !== on.port) return false
  if (!WILDCARDS.has(on.host)) return authority.hostname === on.host
  return interfaceHosts().has(authority.hostname)
}

function interfaceHosts(): Set<string> {
  const hosts = new Set<string>()
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const { address } of addrs ?? []) {
      // Link-local IPv6 addresses carry a zone (%eth0) that a Host header cannot.
      const host = canonicalHost(address.replace(/%.*$/, ''))
      if (host !== null) hosts.add(host)
    }
  }
  return hosts
}
