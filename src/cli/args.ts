// Flag handling shared by the commands that talk to a node: strict flags, the node's address and
// token, and numbers checked before anything is sent, so a typo is a usage mistake (exit 2), not
// an API error.
import { DEFAULT_API_ADDR, MeshosApiError, MeshClient } from '../client/client.js'
import { HTTP_TOKEN_PATTERN } from '../http/config.js'
import { readTokenFile } from './token-file.js'
import { UsageError } from './usage.js'

/** The flags of every command that talks to a node. */
export const CLIENT_OPTIONS = {
  addr: { type: 'string' },
  'token-file': { type: 'string' },
} as const

/** Where a command finds its node: as given on the command line (undefined: not given). */
export interface NodeAddress {
  addr: string | undefined
  tokenFile: string | undefined
}

/** Runs a node:util parseArgs call, turning its complaints into a UsageError showing `section`. */
export function flags<T>(section: string | undefined, parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    throw new UsageError((err as Error).message, section)
  }
}

/** The token comes from --token-file, else MESHOS_TOKEN; a node without one ignores it. */
export function clientFor(
  { addr, tokenFile }: NodeAddress,
  env: Record<string, string | undefined>,
  section?: string,
): MeshClient {
  const url = addr ?? env.MESHOS_ADDR ?? DEFAULT_API_ADDR
  if (!/^https?:\/\/[^/]+/.test(url))
    throw new UsageError(`--addr "${url}": expected a URL like ${DEFAULT_API_ADDR}`, section)
  let token = tokenFile === undefined ? undefined : readTokenFile(tokenFile, '--token-file', section).token
  if (token === undefined && env.MESHOS_TOKEN !== undefined && env.MESHOS_TOKEN !== '') {
    token = env.MESHOS_TOKEN.trim()
    if (!HTTP_TOKEN_PATTERN.test(token))
      throw new UsageError('MESHOS_TOKEN: the token may hold only letters, digits and - . _ ~ + / (and = at the end)')
  }
  return new MeshClient(url, token === undefined ? {} : { token })
}

/** `code: message`, and for a refused token, how to give the right one. */
export function describeApiError(err: MeshosApiError): string {
  const text = `${err.code}: ${err.message}`
  if (err.status !== 401) return text
  return `${text}\n  this node needs its API token: set MESHOS_TOKEN or pass --token-file FILE (the file given to the agent's --http-token-file)`
}

/** A whole number from min to max, or undefined when the flag was not given. */
export function intFlag(
  flag: string,
  raw: string | undefined,
  min: number,
  max: number,
  section?: string,
): number | undefined {
  if (raw === undefined) return undefined
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`${flag} "${raw}": expected a whole number from ${min} to ${max}`, section)
  }
  return Number(raw)
}
