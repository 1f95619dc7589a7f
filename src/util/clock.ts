// Time for the services that wrap the pure cores (master, worker, membership): they take a Clock
// instead of reading Date.now() and the timer functions, so their tests drive time by hand
// (test/helpers/fake-clock.ts) instead of sleeping.

/** An opaque timer handle: only the clock that made it can clear it. */
export type TimerHandle = { readonly __timer: unique symbol }

export interface Clock {
  /** Epoch milliseconds. */
  nowMs: () => number
  setTimeout: (fn: () => void, delayMs: number) => TimerHandle
  setInterval: (fn: () => void, periodMs: number) => TimerHandle
  /** Clears a timeout or an interval; undefined is ignored. */
  clear: (timer: TimerHandle | undefined) => void
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs) as unknown as TimerHandle,
  setInterval: (fn, periodMs) => setInterval(fn, periodMs) as unknown as TimerHandle,
  clear: timer => {
    if (timer !== undefined) clearTimeout(timer as unknown as NodeJS.Timeout)
  },
}
