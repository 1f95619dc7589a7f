// The membership core in simulation at fleet size: the scenario of harness/sim/membership-scenario.ts
// (idle, a join, a crash, 5% of the nodes slowed) over the seeded simulated network (1-50 ms
// latency, 1% loss), at each cluster size, over several seeds. The figures are simulated time and
// simulated traffic, so they do not depend on how loaded the machine is; only the wall time does.
import { DEFAULT_MEMBERSHIP_CORE } from '../../src/gossip/core/config.js'
import { runMembershipScenario, type ScenarioResult } from '../../harness/sim/membership-scenario.js'
import { DEFAULT_SIM_NETWORK } from '../../harness/sim/membership-sim.js'
import { summarize, type Summary } from '../lib/stats.js'

/** Simulated seconds of idling measured, and of the slowed phase. */
export const STEADY_SECONDS = 20
export const SLOW_SECONDS = 20
export const SLOW_FRACTION = 0.05
export const SIM_NETWORK = DEFAULT_SIM_NETWORK

export interface SimSizeResult {
  nodes: number
  seeds: number[]
  runs: ScenarioResult[]
  /** Over the seeds; a run that did not get there within the scenario's limit counts in `missed`. */
  joinKnownBy99Ms: Summary
  joinKnownByAllMs: Summary
  crashDeadByAllMs: Summary
  missed: { join99: number; joinAll: number; crashAll: number }
  msgsPerNodePerSecond: Summary
  bytesPerNodePerSecond: Summary
  /** Summed over the seeds: transitions of live nodes to suspect or dead, seen by any observer. */
  falseSuspects: number
  falseDeaths: number
  slowFalseSuspects: number
  slowFalseDeaths: number
  maxActiveView: number
  /** Wall seconds of the slowest seed (the machine's, not simulated). */
  maxWallSeconds: number
}

const present = (values: Array<number | null>): number[] => values.filter((v): v is number => v !== null)

export function benchSimSize(nodes: number, seeds: number[], onRun: (r: ScenarioResult) => void): SimSizeResult {
  const runs: ScenarioResult[] = []
  for (const seed of seeds) {
    const r = runMembershipScenario({
      nodes,
      seed,
      config: DEFAULT_MEMBERSHIP_CORE,
      network: SIM_NETWORK,
      steadySeconds: STEADY_SECONDS,
      slowFraction: SLOW_FRACTION,
      slowSeconds: SLOW_SECONDS,
    })
    runs.push(r)
    onRun(r)
  }
  const sum = (pick: (r: ScenarioResult) => number): number => runs.reduce((s, r) => s + pick(r), 0)
  const missed = (pick: (r: ScenarioResult) => number | null): number => runs.filter(r => pick(r) === null).length
  return {
    nodes,
    seeds,
    runs,
    joinKnownBy99Ms: summarize(present(runs.map(r => r.joinKnownBy99Ms))),
    joinKnownByAllMs: summarize(present(runs.map(r => r.joinKnownByAllMs))),
    crashDeadByAllMs: summarize(present(runs.map(r => r.crashDeadByAllMs))),
    missed: {
      join99: missed(r => r.joinKnownBy99Ms),
      joinAll: missed(r => r.joinKnownByAllMs),
      crashAll: missed(r => r.crashDeadByAllMs),
    },
    msgsPerNodePerSecond: summarize(runs.map(r => r.msgsPerNodePerSecond)),
    bytesPerNodePerSecond: summarize(runs.map(r => r.bytesPerNodePerSecond)),
    falseSuspects: sum(r => r.falseSuspects),
    falseDeaths: sum(r => r.falseDeaths),
    slowFalseSuspects: sum(r => r.slowFalseSuspects),
    slowFalseDeaths: sum(r => r.slowFalseDeaths),
    maxActiveView: Math.max(...runs.map(r => r.maxActiveView)),
    maxWallSeconds: Math.max(...runs.map(r => r.wallSeconds)),
  }
}
