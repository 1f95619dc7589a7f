// Bounding what each running attempt keeps in its work dir: a periodic walk of every running
// attempt's directory (dir-usage.ts), and a kill (reason 'disk') for one over the bound. One file
// cannot pass the bound between walks either: the spawners set RLIMIT_FSIZE to it, so a write past
// it fails (EFBIG) or the writer gets SIGXFSZ. Many files written quickly can overshoot by what is
// written in one period; the period bounds that.
import { dirUsage } from './dir-usage.js'
import type { ExecutorLogger } from '../types.js'

export interface DiskTarget {
  dir: string
  onOver: (message: string) => void
}

export interface DiskBounds {
  maxBytes: number
  maxEntries: number
}

export class DiskWatch {
  private timer: NodeJS.Timeout | null = null
  private stopped = false

  constructor(
    private readonly pollMs: number,
    private readonly bounds: DiskBounds,
    /** Read at every poll, so the set of attempts can change freely between polls. */
    private readonly targets: () => DiskTarget[],
    private readonly logger: ExecutorLogger,
  ) {}

  /** Starts polling unless already polling; polling pauses by itself when there is nothing to watch. */
  wake(): void {
    if (this.timer === null && !this.stopped) this.schedule()
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.poll()
    }, this.pollMs)
    this.timer.unref()
  }

  private async poll(): Promise<void> {
    const targets = this.targets()
    if (targets.length === 0 || this.stopped) {
      this.timer = null
      return
    }
    const { maxBytes, maxEntries } = this.bounds
    for (const target of targets) {
      try {
        const usage = await dirUsage(target.dir, maxEntries)
        if (this.stopped) break
        if (!usage.complete) target.onOver(`work dir holds more than ${maxEntries} files`)
        else if (usage.bytes > maxBytes)
          target.onOver(`work dir holds ${sizeText(usage.bytes, 'up')}, over its ${sizeText(maxBytes)} bound`)
      } catch (err) {
        this.logger.warn({ err, dir: target.dir }, 'could not measure a work dir')
      }
    }
    if (this.stopped) {
      this.timer = null
      return
    }
    this.schedule()
  }
}

/** "1 GiB", "512 KiB", "1.5 MiB": for messages. `round` 'up' never shows a size over a bound as
 * equal to it. */
export function sizeText(bytes: number, round: 'up' | 'near' = 'near'): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes < size) continue
    if (bytes % size === 0) return `${bytes / size} ${unit}`
    const tenths = round === 'up' ? Math.ceil((bytes * 10) / size) : Math.round((bytes * 10) / size)
    return `${tenths / 10} ${unit}`
  }
  return `${bytes} bytes`
}
