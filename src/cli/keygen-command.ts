// `meshos keygen > cluster.key`: a new cluster key on stdout, for --cluster-key on every node.
import { fchmodSync, fstatSync } from 'node:fs'
import { CLUSTER_KEY_FILE_MODE, generateClusterKey } from '../p2p/cluster-key.js'
import { KEYGEN_USAGE, UsageError } from './usage.js'

export function keygenCommand(args: string[]): number {
  if (args.length > 0) throw new UsageError(`keygen takes no arguments (got "${args[0]}")`, KEYGEN_USAGE)
  // The shell creates `> cluster.key` with the umask (often world-readable); anyone who reads a
  // key can join the cluster, so a file we are writing to is made owner-only first.
  const out = fstatSync(1)
  if (out.isFile() && (out.mode & 0o077) !== 0) fchmodSync(1, CLUSTER_KEY_FILE_MODE)
  process.stdout.write(generateClusterKey())
  return 0
}
