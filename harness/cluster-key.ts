// The cluster key of a test or benchmark run: every AgentProcess starts with it unless told
// otherwise, so the whole suite runs as a private network. One key file per process, made with
// the same code as `meshos keygen`, removed when the process exits.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CLUSTER_KEY_FILE_MODE, generateClusterKey, readClusterKeyFile } from '../src/p2p/cluster-key.js'

let runKeyFile: string | undefined

/** Path of this run's key file (created on first use). */
export function runClusterKeyFile(): string {
  if (runKeyFile !== undefined) return runKeyFile
  const dir = mkdtempSync(path.join(os.tmpdir(), 'meshos-key-'))
  process.once('exit', () => {
    rmSync(dir, { recursive: true, force: true })
  })
  runKeyFile = writeClusterKeyFile(dir)
  return runKeyFile
}

/** The run's key as P2PHost takes it, for in-process peers that belong to the cluster. */
export function runClusterKey(): Uint8Array {
  return readClusterKeyFile(runClusterKeyFile()).psk
}

/** A new key file `name` in `dir`, owner-only: for a peer that holds another key. */
export function writeClusterKeyFile(dir: string, name = 'cluster.key'): string {
  const file = path.join(dir, name)
  writeFileSync(file, generateClusterKey(), { mode: CLUSTER_KEY_FILE_MODE, flag: 'wx' })
  return file
}
