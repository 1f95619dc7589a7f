// The failover and commit targets (issue 3), and how meshos's result is judged against them.
import type { Judged } from '../lib/verdict.js'
import type { FailoverResult } from './measure.js'

export const FAILOVER_TARGETS = {
  failoverMedianMs: 600,
  failoverMaxMs: 1500,
  commitP50Ms: 5,
}

export type FailoverTargets = typeof FAILOVER_TARGETS

export function judgeFailover(t: FailoverTargets, meshos: FailoverResult): Judged[] {
  const f = meshos.failoverMs
  const c = meshos.commitLatencyMs
  return [
    {
      target: `failover median ≤ ${t.failoverMedianMs} ms`,
      value: f.median,
      shown: f.median.toFixed(0),
      pass: f.median <= t.failoverMedianMs,
    },
    {
      target: `failover max ≤ ${t.failoverMaxMs} ms`,
      value: f.max,
      shown: f.max.toFixed(0),
      pass: f.max <= t.failoverMaxMs,
    },
    {
      target: `commit p50 < ${t.commitP50Ms} ms`,
      value: c.median,
      shown: c.median.toFixed(2),
      pass: c.median < t.commitP50Ms,
    },
  ]
}
