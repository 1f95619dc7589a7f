// Progress of `meshos run --count N --wait` on stderr: a bar redrawn in place on a terminal; in a
// log file, a plain line now and then (a bar's carriage returns would be noise there).
import { formatDuration } from './durations.js'
import { PLAIN, visibleWidth, type Style } from './style.js'

export interface Progress {
  done: number
  total: number
  failed: number
}

export interface ProgressOutput {
  write: (text: string) => void
  isTTY?: boolean
  columns?: number
}

/** A plain line at most this often: a long run logs a line every few seconds, not every poll. */
export const PLAIN_LINE_INTERVAL_MS = 5000
const BAR_MAX_CHARS = 40
const DEFAULT_COLUMNS = 80

export class ProgressReporter {
  private lastLineMs = -Infinity
  private lastLine = ''
  private drawn = false

  constructor(
    private readonly out: ProgressOutput,
    private readonly nowMs: () => number,
    private readonly style: Style = PLAIN,
    private readonly startMs = nowMs(),
  ) {}

  update(p: Progress): void {
    const elapsed = formatDuration(this.nowMs() - this.startMs)
    const failed = p.failed === 0 ? '0 failed' : this.style.red(`${p.failed} failed`)
    const counts = `${p.done}/${p.total} done, ${failed}`
    if (this.out.isTTY === true) {
      const text = `${counts}  ${elapsed}`
      const room = (this.out.columns ?? DEFAULT_COLUMNS) - visibleWidth(text) - 3
      const width = Math.min(BAR_MAX_CHARS, room)
      this.out.write(`\r\x1b[K${width >= 10 ? `${bar(p, width, this.style)} ` : ''}${text}`)
      this.drawn = true
      return
    }
    // The summary that follows the last poll says the rest.
    if (p.done === p.total) return
    const line = `meshos: ${counts}`
    const nowMs = this.nowMs()
    if (line === this.lastLine || nowMs - this.lastLineMs < PLAIN_LINE_INTERVAL_MS) return
    this.out.write(`${line} (${elapsed})\n`)
    this.lastLine = line
    this.lastLineMs = nowMs
  }

  /** Clears the bar, so what follows starts on a clean line. */
  end(): void {
    if (this.drawn) this.out.write('\r\x1b[K')
    this.drawn = false
  }
}

function bar(p: Progress, width: number, style: Style): string {
  const filled = p.total === 0 ? width : Math.floor((p.done / p.total) * width)
  return `[${style.green('#'.repeat(filled))}${'-'.repeat(width - filled)}]`
}
