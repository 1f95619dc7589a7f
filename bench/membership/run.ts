// The membership benchmark from the command line: runs each cluster size, prints the figures and
// the verdicts, writes the results. BENCH_SIZES=3,10 picks the sizes; BENCH_TRIALS scales the
// trial counts.
import os from 'node:os'
import type { Log } from '../lib/log.js'
import { describeMachine, machineInfo } from '../lib/machine.js'
import { writeResults, type ResultsHeader } from '../lib/results.js'
import { fmt } from '../lib/stats.js'
import { judgedLine } from '../lib/verdict.js'
import { IDLE_WINDOW_MS, benchMembershipSize, type MembershipSizeResult } from './index.js'
import { MEMBERSHIP_TARGETS, judgeJoin, judgeSize, type MembershipTargets } from './targets.js'

/** A cluster size that could not be measured. */
export interface MembershipFailure {
  nodes: number
  error: string
  loadAverage: number[]
}

/** What bench/results/membership.json holds. */
export interface MembershipRecord extends ResultsHeader {
  targets: MembershipTargets
  results: MembershipSizeResult[]
  failures: MembershipFailure[]
}

export async function runMembership(log: Log): Promise<void> {
  const machine = machineInfo()
  const sizes = (process.env.BENCH_SIZES ?? '3,10,30')
    .split(',')
    .map(Number)
    .filter(n => n >= 2)
  const trialScale = Number(process.env.BENCH_TRIALS ?? '1')
  const trialsFor = (n: number): number => Math.max(1, Math.round((n <= 3 ? 20 : n <= 10 ? 10 : 5) * trialScale))
  log(`meshos membership benchmark — ${describeMachine(machine)}`)
  log('every node is a separate OS process on 127.0.0.1')

  const results: MembershipSizeResult[] = []
  const failures: MembershipFailure[] = []
  for (const n of sizes) {
    log(`\ncluster of ${n} nodes`)
    let r: MembershipSizeResult
    try {
      r = await benchMembershipSize(n, trialsFor(n), log)
    } catch (err) {
      // Reported, not hidden: on a small machine the largest cluster may not fit.
      const load = os
        .loadavg()
        .map(l => l.toFixed(1))
        .join(' ')
      log(`  FAILED: ${(err as Error).message} (load average ${load} on ${machine.cpus} cores)`)
      failures.push({ nodes: n, error: (err as Error).message, loadAverage: os.loadavg() })
      continue
    }
    results.push(r)
    log(`  join visible everywhere, from spawn:  ${fmt(r.joinFromSpawnMs, 'ms')}`)
    log(`  join visible everywhere, from ready:  ${fmt(r.joinFromReadyMs, 'ms')}`)
    log(`  SIGKILL → dead on every survivor:     ${fmt(r.deadAfterKillMs, 'ms')}`)
    log(`  idle RSS per node:        meshos ${fmt(r.idleRssMiB, 'MiB', 1)}`)
    log(`                        bare libp2p ${fmt(r.bareLibp2pRssMiB, 'MiB', 1)}`)
    log(`  idle CPU per node (% of a core, ${IDLE_WINDOW_MS / 1000} s): meshos ${fmt(r.idleCpuPercent, '%', 1)}`)
    log(`                                    bare libp2p ${fmt(r.bareLibp2pCpuPercent, '%', 1)}`)
  }

  log('\ntargets (issue 2)')
  for (const j of judgeJoin(MEMBERSHIP_TARGETS, results)) log(`  ${judgedLine(j)}`)
  for (const r of results) log(`  ${r.nodes} nodes: ${judgeSize(MEMBERSHIP_TARGETS, r).map(judgedLine).join('; ')}`)

  for (const f of failures) log(`  ${f.nodes} nodes: not measured (${f.error})`)
  await writeResults<MembershipRecord>('membership', { machine, targets: MEMBERSHIP_TARGETS, results, failures }, log)
}
