// The fleet benchmark from the command line: grows the fleet, runs the scenarios, prints the
// figures and the goals, writes the results. BENCH_FLEET_SIZES=3,10 picks smaller sizes for a
// quick try and BENCH_FLEET_TASKS=200 fewer tasks (the goals are judged on the full figures only); it is heavy: run it under
// `flock /tmp/meshos-heavy.lock` on a shared machine.
import os from 'node:os'
import type { Log } from '../lib/log.js'
import { describeMachine, machineInfo } from '../lib/machine.js'
import { writeResults, type ResultsHeader } from '../lib/results.js'
import { benchFleet, type FleetResult } from './index.js'
import { FLEET_TARGETS, goalVerdict, judgeFleet, type FleetTargets } from './targets.js'

/** What bench/results/fleet.json holds. */
export interface FleetRecord extends ResultsHeader {
  targets: FleetTargets
  /** Load average (1, 5, 15 min) when the run started and ended. */
  loadBefore: number[]
  loadAfter: number[]
  result: FleetResult
}

export async function runFleet(log: Log): Promise<void> {
  const machine = machineInfo()
  const sizes = (process.env.BENCH_FLEET_SIZES ?? '3,10,30,50')
    .split(',')
    .map(Number)
    .filter(n => n >= 3)
  const loadBefore = os.loadavg()
  log(`\nmeshos fleet benchmark — ${describeMachine(machine)}`)
  log(
    `every node is a separate OS process on 127.0.0.1; load average before ${loadBefore.map(l => l.toFixed(1)).join(' ')}`,
  )
  const result = await benchFleet(
    {
      sizes,
      tasks: Number(process.env.BENCH_FLEET_TASKS ?? FLEET_TARGETS.tasks),
      killedWorkers: FLEET_TARGETS.killedWorkers,
    },
    log,
  )
  const loadAfter = os.loadavg()
  log(`load average after ${loadAfter.map(l => l.toFixed(1)).join(' ')}`)

  log('\ngoals (issue 15)')
  for (const j of judgeFleet(FLEET_TARGETS, result)) log(`  ${j.target} (${j.shown}): ${goalVerdict(j.pass)}`)
  await writeResults<FleetRecord>('fleet', { machine, targets: FLEET_TARGETS, loadBefore, loadAfter, result }, log)
}
