// Epoch-millisecond times that arrive from peers or users: bounded so that every one of them is a
// valid JavaScript Date (new Date(x).toISOString() throws beyond ±8.64e15 ms, about year 275760).

/** The largest epoch ms a Date can hold (ECMA-262 §21.4.1.1). */
export const MAX_EPOCH_MS = 8.64e15

/** ISO-8601 text of `ms`, or null when no Date can hold it. */
export function isoOrNull(ms: number): string | null {
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_EPOCH_MS ? new Date(ms).toISOString() : null
}
