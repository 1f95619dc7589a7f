// The membership simulation bench from the command line: each size over its seeds, the figures with
// medians and p99 over the seeds, the goals, the results file. BENCH_SIM_SIZES=100,1000 picks the
// sizes (default 100,1000,5000); BENCH_TRIALS scales the seed counts. At 5,000 nodes every simulated
// node holds a table of 5,000 members, ~8 GiB in all (package.json raises Node's heap limit for the
// bench), and the run takes about five minutes of one core: run it alone.
import os from 'node:os'
import type { Log } from '../lib/log.js'
import { describeMachine, machineInfo } from '../lib/machine.js'
import { writeResults, type ResultsHeader } from '../lib/results.js'
import { fmt } from '../lib/stats.js'
import { judgedLine } from '../lib/verdict.js'
import { SLOW_FRACTION, SLOW_SECONDS, STEADY_SECONDS, SIM_NETWORK, benchSimSize, type SimSizeResult } from './index.js'
import { SIM_TARGETS, judgeSim, type SimTargets } from './targets.js'

/** What bench/results/membership-sim.json holds. */
export interface SimRecord extends ResultsHeader {
  targets: SimTargets
  network: typeof SIM_NETWORK
  steadySeconds: number
  slowSeconds: number
  slowFraction: number
  loadAverageBefore: number[]
  loadAverageAfter: number[]
  results: SimSizeResult[]
}

export function fmtLoad(load: number[]): string {
  return load.map(l => l.toFixed(2)).join(' ')
}

export async function runMembershipSim(log: Log): Promise<void> {
  const machine = machineInfo()
  const sizes = (process.env.BENCH_SIM_SIZES ?? '100,1000,5000').split(',').map(Number)
  const scale = Number(process.env.BENCH_TRIALS ?? '1')
  // Seeds cost time linear in N: many small runs, one at 5,000.
  const seedsFor = (n: number): number[] => {
    const count = Math.max(1, Math.round((n <= 100 ? 7 : n <= 1000 ? 3 : 1) * scale))
    return Array.from({ length: count }, (_, i) => i + 1)
  }
  const loadAverageBefore = os.loadavg()
  log(`meshos membership simulation — ${describeMachine(machine)}`)
  log(
    `simulated network: ${SIM_NETWORK.latencyMs[0]}-${SIM_NETWORK.latencyMs[1]} ms latency, ` +
      `${SIM_NETWORK.lossRate * 100}% loss; ${STEADY_SECONDS} s idle, then a join, a crash, ` +
      `${SLOW_FRACTION * 100}% of nodes slowed for ${SLOW_SECONDS} s; load average ${fmtLoad(loadAverageBefore)}`,
  )

  const results: SimSizeResult[] = []
  for (const n of sizes) {
    const seeds = seedsFor(n)
    log(`\n${n} nodes, seeds ${seeds.join(',')}`)
    const r = benchSimSize(n, seeds, run =>
      log(
        `  seed ${run.seed}: join 99% ${run.joinKnownBy99Ms} ms, all ${run.joinKnownByAllMs} ms; ` +
          `crash dead everywhere ${run.crashDeadByAllMs} ms; ${run.wallSeconds.toFixed(1)} s wall`,
      ),
    )
    results.push(r)
    const missed = r.missed.join99 + r.missed.joinAll + r.missed.crashAll
    log(`  join known by 99%:         ${fmt(r.joinKnownBy99Ms, 'ms')}`)
    log(`  join known by all:         ${fmt(r.joinKnownByAllMs, 'ms')}`)
    log(`  crash → dead on every node: ${fmt(r.crashDeadByAllMs, 'ms')}`)
    if (missed > 0) log(`  not within the 30 s limit: ${JSON.stringify(r.missed)}`)
    log(`  msgs sent per node per s:  ${fmt(r.msgsPerNodePerSecond, '', 2)}`)
    log(`  bytes sent per node per s: ${fmt(r.bytesPerNodePerSecond, 'B', 0)}`)
    log(`  false transitions at 1% loss: ${r.falseSuspects} suspect, ${r.falseDeaths} dead`)
    log(
      `  false transitions with ${SLOW_FRACTION * 100}% slowed: ${r.slowFalseSuspects} suspect, ${r.slowFalseDeaths} dead`,
    )
    log(`  largest active view: ${r.maxActiveView}`)
  }
  const loadAverageAfter = os.loadavg()
  log(`\nload average after: ${fmtLoad(loadAverageAfter)}`)
  log('goals (issue 15)')
  for (const j of judgeSim(SIM_TARGETS, results)) log(`  ${judgedLine(j)}`)
  await writeResults<SimRecord>(
    'membership-sim',
    {
      machine,
      targets: SIM_TARGETS,
      network: SIM_NETWORK,
      steadySeconds: STEADY_SECONDS,
      slowSeconds: SLOW_SECONDS,
      slowFraction: SLOW_FRACTION,
      loadAverageBefore,
      loadAverageAfter,
      results,
    },
    log,
  )
}
