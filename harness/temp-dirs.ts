// Temporary directories (data dirs, logs) made under os.tmpdir() and removed together.
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

export class TempDirs {
  private readonly dirs: string[] = []
  async make(prefix = 'meshos-test-'): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
    this.dirs.push(dir)
    // mkdtemp makes it 0700; a data dir in it must let a root agent's task user pass through.
    await chmod(dir, 0o711)
    return dir
  }

  async cleanup(): Promise<void> {
    await Promise.all(
      this.dirs.splice(0).map(async d => {
        // A process that was just killed may still be finishing writes in it (ENOTEMPTY).
        await rm(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
      }),
    )
  }
}
