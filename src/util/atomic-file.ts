// Write-then-rename with fsync: after a crash a reader sees the old file or the new one, never a
// torn mix. The directory is synced too, or the rename itself could be lost.
import { open, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'

export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp`
  await writeFile(tmp, data, { mode })
  const handle = await open(tmp, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(tmp, file)
  const dir = await open(path.dirname(file), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}
