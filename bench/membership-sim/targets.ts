// The membership simulation goals (issue 15), judged on the sizes that were simulated.
import type { Judged } from '../lib/verdict.js'
import type { SimSizeResult } from './index.js'

export const SIM_TARGETS = {
  /** Per-node bytes/s at the largest size within this factor of the figure at the smallest. */
  bytesGrowthFactor: 1.5,
  /** 99% of the nodes know of a join within this, at 1,000 nodes (Serf's model: 2.2 s to 99.99%). */
  join99At1000Ms: 2000,
  /** A crashed node is dead on every survivor within this, at 5,000 nodes. */
  crashDeadAt5000Ms: 5000,
  /** False suspect or dead transitions with 1% loss, at every size. */
  falseAtLoss: 0,
}

export type SimTargets = typeof SIM_TARGETS

/** The worst seed of a timing: its p99 (the slowest with fewer than 100 seeds), or a miss. */
function worst(r: SimSizeResult, pick: 'joinKnownBy99Ms' | 'crashDeadByAllMs', missed: number): number {
  return missed > 0 ? Number.POSITIVE_INFINITY : r[pick].p99
}

export function judgeSim(t: SimTargets, results: SimSizeResult[]): Judged[] {
  const out: Judged[] = []
  const bySize = (n: number): SimSizeResult | undefined => results.find(r => r.nodes === n)
  const small = bySize(100)
  const large = bySize(5000)
  if (small !== undefined && large !== undefined) {
    const ratio = large.bytesPerNodePerSecond.median / small.bytesPerNodePerSecond.median
    out.push({
      target: `bytes/s per node at 5000 ≤ ${t.bytesGrowthFactor}× the figure at 100`,
      value: ratio,
      shown: `${large.bytesPerNodePerSecond.median.toFixed(0)} vs ${small.bytesPerNodePerSecond.median.toFixed(0)} B/s: ×${ratio.toFixed(2)}`,
      pass: ratio <= t.bytesGrowthFactor,
    })
  }
  const at1000 = bySize(1000)
  if (at1000 !== undefined) {
    const v = worst(at1000, 'joinKnownBy99Ms', at1000.missed.join99)
    out.push({
      target: `99% know of a join ≤ ${t.join99At1000Ms} ms at 1000 nodes`,
      value: v,
      shown: Number.isFinite(v) ? `worst seed ${v} ms` : 'not within 30 s',
      pass: v <= t.join99At1000Ms,
    })
  }
  if (large !== undefined) {
    const v = worst(large, 'crashDeadByAllMs', large.missed.crashAll)
    out.push({
      target: `crash → dead on every node ≤ ${t.crashDeadAt5000Ms} ms at 5000 nodes`,
      value: v,
      shown: Number.isFinite(v) ? `worst seed ${v} ms` : 'not within 30 s',
      pass: v <= t.crashDeadAt5000Ms,
    })
  }
  for (const r of results) {
    const count = r.falseSuspects + r.falseDeaths
    out.push({
      target: `${r.nodes} nodes: ${t.falseAtLoss} false suspect/dead transitions at 1% loss`,
      value: count,
      shown: `${r.falseSuspects} suspect, ${r.falseDeaths} dead over ${r.runs.length} seeds`,
      pass: count <= t.falseAtLoss,
    })
  }
  return out
}
