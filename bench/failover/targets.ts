// The failover and commit targets (issue 3), and how meshos's result is judged against them.
import type { Judged } from '../lib/verdict.js'
import type { WorkerIdle } from './idle.js'
import type { FailoverResult } from './measure.js'

export const FAILOVER_TARGETS = {
  failoverMedianMs: 600,
  failoverMaxMs: 1500,
  commitP50Ms: 5,
  /** Issue 15: every member of an idle 3-node cluster, and a worker that holds no log. */
  idleCpuPerNodePercent: 2,
  idleWorkerCpuPercent: 1,
}

export type FailoverTargets = typeof FAILOVER_TARGETS

export function judgeFailover(t: FailoverTargets, meshos: FailoverResult, workers?: WorkerIdle): Judged[] {
  const f = meshos.failoverMs
  const c = meshos.commitLatencyMs
  const idleMax = Math.max(...meshos.idleCpuPercent)
  const workerMax = workers === undefined ? NaN : Math.max(...workers.workersPercent)
  return [
    {
      target: `idle CPU of each of 3 nodes ≤ ${t.idleCpuPerNodePercent}% of a core`,
      value: idleMax,
      shown: `max ${idleMax.toFixed(2)}%`,
      pass: idleMax <= t.idleCpuPerNodePercent,
    },
    {
      target: `idle CPU of a worker (no Raft log) ≤ ${t.idleWorkerCpuPercent}% of a core`,
      value: workerMax,
      shown: `max ${workerMax.toFixed(2)}%`,
      pass: workerMax <= t.idleWorkerCpuPercent,
    },
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
