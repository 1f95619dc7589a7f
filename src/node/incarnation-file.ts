// The node's incarnation survives restarts: peers order a node's announcements by
// (incarnation, seq), so a restarted node must start above anything it announced before,
// or its fresh heartbeats (seq 1, 2, ...) would look older than its last ones.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from '../util/atomic-file.js'

const FILE = 'incarnation'

export async function nextIncarnation (dataDir: string): Promise<number> {
  let previous = 0
  try {
    previous = Number.parseInt(await readFile(path.join(dataDir, FILE), 'utf8'), 10)
    if (!Number.isSafeInteger(previous) || previous < 0) previous = 0
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const incarnation = previous + 1
  await saveIncarnation(dataDir, incarnation)
  return incarnation
}

export async function saveIncarnation (dataDir: string, incarnation: number): Promise<void> {
  await writeFileAtomic(path.join(dataDir, FILE), String(incarnation))
}
