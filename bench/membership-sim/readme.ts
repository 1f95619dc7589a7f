// The membership simulation section of bench/README.md, rendered from bench/results/membership-sim.json.
import { SUMMARY_HEAD, bullets, measuredOn, summaryCells, table, verdictTable } from '../lib/markdown.js'
import type { Summary } from '../lib/stats.js'
import type { SimSizeResult } from './index.js'
import { fmtLoad, type SimRecord } from './run.js'
import { judgeSim } from './targets.js'

const MEASURES: Array<{ name: string; pick: (r: SimSizeResult) => Summary; digits: number }> = [
  { name: 'join known by 99% of nodes (ms)', pick: r => r.joinKnownBy99Ms, digits: 0 },
  { name: 'join known by every node (ms)', pick: r => r.joinKnownByAllMs, digits: 0 },
  { name: 'crash → dead on every node (ms)', pick: r => r.crashDeadByAllMs, digits: 0 },
  { name: 'messages sent per node per s', pick: r => r.msgsPerNodePerSecond, digits: 2 },
  { name: 'bytes sent per node per s', pick: r => r.bytesPerNodePerSecond, digits: 0 },
]

export function membershipSimSection(r: SimRecord | null): string {
  const title = '## Membership at fleet size: the membership core in simulation'
  if (r == null) return `${title}\n\nNot measured yet: \`BENCH_ONLY=membership-sim npm run bench\`.`
  const net = r.network
  return [
    title,
    measuredOn(r, 'bench/results/membership-sim.json'),
    `The membership core (src/gossip/core) of every node in one seeded discrete-event simulation ` +
      `(harness/sim/): ${net.latencyMs[0]}-${net.latencyMs[1]} ms latency, ${net.lossRate * 100}% loss, ` +
      `gossip as gossipsub's eager push to ${net.meshDegree} mesh peers, ${net.overheadBytes} bytes of framing ` +
      `per message. ${r.steadySeconds} simulated seconds idle (traffic and false transitions), then one node ` +
      `joins, one crashes, and ${r.slowFraction * 100}% of the nodes answer 100-500 ms late for ${r.slowSeconds} s. ` +
      'Times are simulated, checked every 50 ms; medians and p99 over the seeds (p99 of fewer than 100 ' +
      'seeds is the slowest). ' +
      'False transitions count every observer that moved a live node to suspect or dead.',
    bullets([`load average before ${fmtLoad(r.loadAverageBefore)}, after ${fmtLoad(r.loadAverageAfter)}`]),
    table(
      ['nodes', 'measure', ...SUMMARY_HEAD],
      r.results.flatMap(x => MEASURES.map(m => [String(x.nodes), m.name, ...summaryCells(m.pick(x), m.digits)])),
      'rlrrrrr',
    ),
    table(
      [
        'nodes',
        'seeds',
        'false suspect, 1% loss',
        'false dead, 1% loss',
        'false suspect, 5% slowed',
        'false dead, 5% slowed',
        'largest active view',
        'wall s (slowest seed)',
      ],
      r.results.map(x => [
        String(x.nodes),
        String(x.seeds.length),
        String(x.falseSuspects),
        String(x.falseDeaths),
        String(x.slowFalseSuspects),
        String(x.slowFalseDeaths),
        String(x.maxActiveView),
        x.maxWallSeconds.toFixed(0),
      ]),
    ),
    '### Goals (issue 15)',
    verdictTable(judgeSim(r.targets, r.results)),
  ].join('\n\n')
}
