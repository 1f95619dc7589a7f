// A Clock (src/util/clock.ts) that moves only when the test says so: advance(ms) fires every timer
// that falls due on the way, in due order, each at its own time.
import type { Clock, TimerHandle } from '../../src/util/clock.js'

interface FakeTimer {
  id: number
  dueMs: number
  periodMs: number | null
  fn: () => void
}

export class FakeClock implements Clock {
  private now: number
  private nextId = 1
  private readonly timers = new Map<number, FakeTimer>()

  constructor(startMs = 1_700_000_000_000) {
    this.now = startMs
  }

  nowMs = (): number => this.now

  setTimeout = (fn: () => void, delayMs: number): TimerHandle => this.add(fn, delayMs, null)

  setInterval = (fn: () => void, periodMs: number): TimerHandle => this.add(fn, periodMs, Math.max(1, periodMs))

  clear = (timer: TimerHandle | undefined): void => {
    if (timer !== undefined) this.timers.delete(timer as unknown as number)
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.size
  }

  /** Moves time forward by `ms`, firing due timers in order (a timer set by a firing one fires
   * too if it falls due within the step). */
  advance(ms: number): void {
    const end = this.now + ms
    for (;;) {
      let next: FakeTimer | undefined
      for (const t of this.timers.values()) if (t.dueMs <= end && (next === undefined || t.dueMs < next.dueMs)) next = t
      if (next === undefined) break
      this.now = Math.max(this.now, next.dueMs)
      if (next.periodMs === null) this.timers.delete(next.id)
      else next.dueMs += next.periodMs
      next.fn()
    }
    this.now = end
  }

  private add(fn: () => void, delayMs: number, periodMs: number | null): TimerHandle {
    const id = this.nextId++
    this.timers.set(id, { id, dueMs: this.now + Math.max(0, delayMs), periodMs, fn })
    return id as unknown as TimerHandle
  }
}
