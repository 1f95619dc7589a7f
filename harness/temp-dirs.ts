// Temporary directories (data dirs, logs) made under os.tmpdir() and removed together.
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

export class TempDirs {
  private readonly dirs: string[] = []
  async make(prefix = 'meshos-test-'): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
    this.dirs.push(dir)
    return dir
  }

  async cleanup(): Promise<void> {
    await Promise.all(
      this.dirs.splice(0).map(async d => {
        await rm(d, { recursive: true, force: true })
      }),
    )
  }
}
