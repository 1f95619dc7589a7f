// The scheduler target (issue 15), judged on every fleet size and policy.
import type { Judged } from '../lib/verdict.js'
import { perSecond, type SchedulerCaseResult } from './index.js'

export const SCHEDULER_TARGETS = {
  /** Nomad's C1M sustained ~3,750 placements/s cluster-wide. */
  placementsPerSecond: 20_000,
}

export type SchedulerTargets = typeof SCHEDULER_TARGETS

/** The rate of the median round must reach the target, and the plan must be the old placer's. */
export function judgeCase(t: SchedulerTargets, r: SchedulerCaseResult): Judged[] {
  const median = perSecond(r.placed, r.roundMs.median)
  return [
    {
      target: `${r.nodes} nodes, ${r.policy}: ≥ ${t.placementsPerSecond} placements/s`,
      value: median,
      shown: `median ${median.toFixed(0)}/s`,
      pass: median >= t.placementsPerSecond,
    },
    {
      target: `${r.nodes} nodes, ${r.policy}: same plan as the old placer`,
      value: r.samePlan ? 1 : 0,
      shown: r.samePlan ? 'equal' : 'differs',
      pass: r.samePlan,
    },
  ]
}
