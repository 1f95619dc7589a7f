// The node's incarnation survives restarts: peers order a node's announcements by
// (incarnation, seq), so a restarted node must start above anything it announced before,
// or its fresh heartbeats (seq 1, 2, ...) would look older than its last ones.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import { writeFileAtomic } from '../util/atomic-file.js'

const FILE = 'incarnation'

export class IncarnationFile {
  private writes: Promise<void> = Promise.resolve()

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {}

  /** The incarnation of this start: one above the last one saved, saved before it is used. */
  async next(): Promise<number> {
    let previous = 0
    try {
      previous = Number.parseInt(await readFile(path.join(this.dataDir, FILE), 'utf8'), 10)
      if (!Number.isSafeInteger(previous) || previous < 0) previous = 0
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    const incarnation = previous + 1
    await this.write(incarnation)
    return incarnation
  }

  /** Saves a new incarnation (a refutation raised it) in the background, in order. */
  save(incarnation: number): void {
    this.writes = this.writes
      .then(async () => {
        await this.write(incarnation)
      })
      .catch(err => {
        this.log.error({ err }, 'cannot persist incarnation')
      })
  }

  /** Resolves once every save() so far is on disk (or failed and was logged). */
  async flushed(): Promise<void> {
    await this.writes
  }

  private async write(incarnation: number): Promise<void> {
    await writeFileAtomic(path.join(this.dataDir, FILE), String(incarnation))
  }
}
