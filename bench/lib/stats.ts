// Summary statistics for benchmark samples: nearest-rank percentiles, so p99 of fewer than 100
// samples is honestly the maximum.
export interface Summary {
  n: number
  min: number
  median: number
  p99: number
  max: number
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    n: sorted.length,
    min: sorted[0] ?? NaN,
    median: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  }
}

export function fmt(s: Summary, unit: string, digits = 0): string {
  const f = (v: number): string => v.toFixed(digits)
  return `median ${f(s.median)} ${unit}, p99 ${f(s.p99)} ${unit} (min ${f(s.min)}, max ${f(s.max)}, N=${s.n})`
}
