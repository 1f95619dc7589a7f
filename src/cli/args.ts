// Flag handling shared by the commands that talk to a node: strict flags, the node's address, and
// numbers checked before anything is sent, so a typo is a usage mistake (exit 2), not an API error.
import { DEFAULT_API_ADDR, MeshosClient } from '../client/client.js'
import { UsageError } from './usage.js'

/** Runs a node:util parseArgs call, turning its complaints into a UsageError showing `section`. */
export function flags<T>(section: string | undefined, parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    throw new UsageError((err as Error).message, section)
  }
}

export function clientFor(
  addr: string | undefined,
  env: Record<string, string | undefined>,
  section?: string,
): MeshosClient {
  const url = addr ?? env.MESHOS_ADDR ?? DEFAULT_API_ADDR
  if (!/^https?:\/\/[^/]+/.test(url))
    throw new UsageError(`--addr "${url}": expected a URL like ${DEFAULT_API_ADDR}`, section)
  return new MeshosClient(url)
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
