// The failover benchmark from the command line: runs it, prints the figures and the verdicts,
// writes the results. BENCH_TRIALS scales the number of failovers.
import type { Log } from '../lib/log.js'
import { describeMachine, machineInfo } from '../lib/machine.js'
import { writeResults, type ResultsHeader } from '../lib/results.js'
import { judgedLine } from '../lib/verdict.js'
import { benchFailover } from './index.js'
import type { WorkerIdle } from './idle.js'
import type { FailoverResult } from './measure.js'
import { FAILOVER_TARGETS, judgeFailover, type FailoverTargets } from './targets.js'

/** What bench/results/failover.json holds. */
export interface FailoverRecord extends ResultsHeader {
  targets: FailoverTargets
  results: FailoverResult[]
  /** Absent in files from before it was measured. */
  workerIdle?: WorkerIdle
  skipped: string[]
}

export async function runFailover(log: Log): Promise<void> {
  const machine = machineInfo()
  const trials = Math.max(1, Math.round(20 * Number(process.env.BENCH_TRIALS ?? '1')))
  const writes = 1000
  log(`meshos failover benchmark — ${describeMachine(machine)}`)
  const { results, workerIdle, skipped } = await benchFailover(trials, writes, log)
  log('\n  system     idle CPU per member (% of a core)')
  for (const r of results) log(`  ${r.system.padEnd(9)}  ${r.idleCpuPercent.map(p => p.toFixed(2)).join(' / ')}`)
  log(
    `  meshos     voters ${workerIdle.votersPercent.map(p => p.toFixed(2)).join(' / ')}, workers ${workerIdle.workersPercent.map(p => p.toFixed(2)).join(' / ')} (--voters 3, 5 members)`,
  )
  log(
    '\n  system     failover (SIGKILL leader → write via survivor commits)          commit latency via follower      throughput (16 in flight)',
  )
  for (const r of results) {
    const f = r.failoverMs
    const c = r.commitLatencyMs
    log(
      `  ${r.system.padEnd(9)}  min ${f.min.toFixed(0)} / median ${f.median.toFixed(0)} / p99 ${f.p99.toFixed(0)} / max ${f.max.toFixed(0)} ms (N=${f.n})   p50 ${c.median.toFixed(2)} / p99 ${c.p99.toFixed(2)} ms (N=${c.n})   ${r.writesPerSecond.toFixed(0)} writes/s`,
    )
  }
  for (const s of skipped) log(`  skipped ${s}`)
  const m = results.find(r => r.system === 'meshos')
  if (m != null) {
    log('\ntargets (issues 3 and 15)')
    for (const j of judgeFailover(FAILOVER_TARGETS, m, workerIdle)) log(`  ${judgedLine(j)}`)
  }
  await writeResults<FailoverRecord>(
    'failover',
    { machine, targets: FAILOVER_TARGETS, results, workerIdle, skipped },
    log,
  )
}
