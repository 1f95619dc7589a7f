// The membership section of bench/README.md, rendered from bench/results/membership.json.
import { SUMMARY_HEAD, bullets, measuredOn, summaryCells, table, verdictTable } from '../lib/markdown.js'
import type { Summary } from '../lib/stats.js'
import { IDLE_WINDOW_MS, type MembershipSizeResult } from './index.js'
import type { MembershipRecord } from './run.js'
import { judgeJoin, judgeSize } from './targets.js'

const MEASURES: Array<{ name: string; system: string; pick: (r: MembershipSizeResult) => Summary; digits: number }> = [
  { name: 'join visible everywhere, from spawn (ms)', system: 'meshos', pick: r => r.joinFromSpawnMs, digits: 0 },
  { name: 'join visible everywhere, from ready (ms)', system: 'meshos', pick: r => r.joinFromReadyMs, digits: 0 },
  { name: 'SIGKILL → dead on every survivor (ms)', system: 'meshos', pick: r => r.deadAfterKillMs, digits: 0 },
  { name: 'idle RSS per node (MiB)', system: 'meshos', pick: r => r.idleRssMiB, digits: 1 },
  { name: 'idle RSS per node (MiB)', system: 'bare libp2p', pick: r => r.bareLibp2pRssMiB, digits: 1 },
  {
    name: `idle CPU per node (% of a core over ${IDLE_WINDOW_MS / 1000} s)`,
    system: 'meshos',
    pick: r => r.idleCpuPercent,
    digits: 1,
  },
  {
    name: `idle CPU per node (% of a core over ${IDLE_WINDOW_MS / 1000} s)`,
    system: 'bare libp2p',
    pick: r => r.bareLibp2pCpuPercent,
    digits: 1,
  },
]

export function membershipSection(r: MembershipRecord | null): string {
  const title = '## Membership: meshos clusters next to bare libp2p'
  if (r == null) return `${title}\n\nNot measured yet: \`BENCH_ONLY=membership npm run bench\`.`
  const out = [
    title,
    measuredOn(r, 'bench/results/membership.json'),
    'Every node is a separate OS process on 127.0.0.1. Join: from the spawn (or the API answering) ' +
      'of one more node until every node has logged every other alive. Death: from SIGKILL of that ' +
      'node until every survivor has logged it dead. Idle RSS and CPU with all nodes running, next ' +
      'to as many bare libp2p processes (same transports and gossipsub, publishing once a second).',
  ]
  out.push(
    table(
      ['nodes', 'measure', 'system', ...SUMMARY_HEAD],
      r.results.flatMap(x =>
        MEASURES.map(m => [String(x.nodes), m.name, m.system, ...summaryCells(m.pick(x), m.digits)]),
      ),
      'rllrrrrr',
    ),
  )
  if (r.failures.length > 0) {
    out.push(
      bullets(
        r.failures.map(
          f =>
            `${f.nodes} nodes: not measured (${f.error}); load average ${f.loadAverage.map(l => l.toFixed(1)).join(' ')}`,
        ),
      ),
    )
  }
  out.push('### Targets (issue 2)')
  const judged = [
    ...judgeJoin(r.targets, r.results),
    ...r.results.flatMap(x => judgeSize(r.targets, x).map(j => ({ ...j, target: `${x.nodes} nodes: ${j.target}` }))),
  ]
  out.push(judged.length === 0 ? 'Not judged: no cluster size was measured.' : verdictTable(judged))
  return out.join('\n\n')
}
