// How numbers and times read on the page.

/** "450 ms", "12.3 s", "4 min", "2.5 h". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}

/** The time of day of an epoch-ms instant, to the second. */
export function clock(ms: number | null): string {
  if (ms === null) return '–'
  return new Date(ms).toLocaleTimeString([], { hour12: false })
}

export function memory(mb: number): string {
  return mb >= 1024 ? `${(mb / 1024).toFixed(mb >= 10_240 ? 0 : 1)} GiB` : `${Math.round(mb)} MiB`
}

export function cpus(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(n < 1 ? 2 : 1)
}

/** The end of a peer id, enough to tell nodes apart. */
export function shortId(id: string): string {
  return id.length > 10 ? `…${id.slice(-8)}` : id
}

/** 0 to 1, for a bar; 0 when there is no capacity. */
export function fraction(used: number, total: number): number {
  return total > 0 ? Math.min(1, Math.max(0, used / total)) : 0
}
