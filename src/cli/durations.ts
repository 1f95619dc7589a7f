// Durations as people type and read them: "30s", "5m", "1h30m" in, "1.2s", "5m03s" out.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Milliseconds from "1500" (plain numbers are ms, as in the API), "30s", "1.5h" or "1h30m"; null if unreadable. */
export function parseDuration(text: string): number | null {
  if (/^\d+$/.test(text)) return Number(text)
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) return null
  let ms = 0
  for (const [, n, , unit] of text.matchAll(/(\d+(\.\d+)?)(ms|s|m|h|d)/g))
    ms += Number(n) * (UNIT_MS[unit ?? 'ms'] ?? 1)
  return Math.round(ms)
}

export function formatDuration(ms: number): string {
  if (ms < 0) ms = 0
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const pad = (n: number): string => String(n).padStart(2, '0')
  const s = Math.floor(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`
  return `${Math.floor(s / 86_400)}d${pad(Math.floor(s / 3600) % 24)}h`
}
