// The fleet scheduler bench from the command line: every policy over 1,000 and 5,000 nodes, the new
// placer next to the old one, then the verdicts and the results file. BENCH_SCHEDULER_NODES=1000
// picks the fleet sizes; BENCH_TRIALS scales the trial counts.
import os from 'node:os'
import type { Log } from '../lib/log.js'
import { describeMachine, machineInfo } from '../lib/machine.js'
import { writeResults, type ResultsHeader } from '../lib/results.js'
import { judgedLine } from '../lib/verdict.js'
import { SCHEDULER_POLICIES } from '../../src/scheduler/types.js'
import { QUEUED_TASKS, benchSchedulerCase, perSecond, type SchedulerCaseResult } from './index.js'
import { SCHEDULER_TARGETS, judgeCase, type SchedulerTargets } from './targets.js'

/** What bench/results/scheduler.json holds. */
export interface SchedulerRecord extends ResultsHeader {
  targets: SchedulerTargets
  /** `uptime`'s 1, 5 and 15 minute load averages before and after the run. */
  loadAverageBefore: number[]
  loadAverageAfter: number[]
  results: SchedulerCaseResult[]
}

const rate = (v: number): string => `${Math.round(v).toLocaleString('en-US')}/s`

export async function runScheduler(log: Log): Promise<void> {
  const machine = machineInfo()
  const sizes = (process.env.BENCH_SCHEDULER_NODES ?? '1000,5000').split(',').map(Number)
  const scale = Number(process.env.BENCH_TRIALS ?? '1')
  const trials = Math.max(1, Math.round(7 * scale))
  const referenceTrials = Math.max(1, Math.round(2 * scale))
  const loadAverageBefore = os.loadavg()
  log(`meshos scheduler fleet benchmark — ${describeMachine(machine)}`)
  log(`one plan() round of ${QUEUED_TASKS} queued tasks; load average ${fmtLoad(loadAverageBefore)}`)

  const results: SchedulerCaseResult[] = []
  for (const nodes of sizes) {
    log(`\n${nodes} nodes`)
    for (const policy of SCHEDULER_POLICIES) {
      const r = benchSchedulerCase(nodes, policy, trials, referenceTrials)
      results.push(r)
      const f = r.roundMs
      const old = r.referenceRoundMs
      log(
        `  ${policy.padEnd(11)} ${r.placed} placed; new: median round ${f.median.toFixed(1)} ms = ` +
          `${rate(perSecond(r.placed, f.median))}, p99 ${f.p99.toFixed(1)} ms = ${rate(perSecond(r.placed, f.p99))} (N=${f.n}); ` +
          `CPU ${r.roundCpuMs.median.toFixed(1)} ms = ${rate(perSecond(r.placed, r.roundCpuMs.median))}; ` +
          `old: median ${old.median.toFixed(0)} ms = ${rate(perSecond(r.placed, old.median))} (N=${old.n}); ` +
          `×${(old.median / f.median).toFixed(1)}; ${r.samePlan ? 'same plan' : 'PLANS DIFFER'}`,
      )
    }
  }
  const loadAverageAfter = os.loadavg()
  log(`\nload average after: ${fmtLoad(loadAverageAfter)}`)
  log('targets (issue 15)')
  for (const r of results) for (const j of judgeCase(SCHEDULER_TARGETS, r)) log(`  ${judgedLine(j)}`)
  await writeResults<SchedulerRecord>(
    'scheduler',
    { machine, targets: SCHEDULER_TARGETS, loadAverageBefore, loadAverageAfter, results },
    log,
  )
}

export function fmtLoad(load: number[]): string {
  return load.map(l => l.toFixed(2)).join(' ')
}
