// The failover section of bench/README.md, rendered from bench/results/failover.json.
import { SUMMARY_HEAD, bullets, measuredOn, summaryCells, table, verdictTable } from '../lib/markdown.js'
import type { FailoverRecord } from './run.js'
import { FAILOVER_TARGETS, judgeFailover } from './targets.js'

export function failoverSection(r: FailoverRecord | null): string {
  const title = '## Failover, commit latency and idle cost: meshos next to etcd 3.4'
  if (r == null) return `${title}\n\nNot measured yet: \`BENCH_ONLY=failover npm run bench\`.`
  const out = [
    title,
    measuredOn(r, 'bench/results/failover.json'),
    '3 members on 127.0.0.1 per system. Failover: SIGKILL the leader, then the time until a write ' +
      'sent to a survivor commits. Commit latency: small writes through a follower, one at a time. ' +
      "Throughput: the same writes with 16 in flight. Times in ms. Idle: each member's share of one " +
      'core while nothing happens, from /proc/<pid>/stat (median of 5 s samples), measured before the ' +
      'failovers; the worker figures come from 5 meshos members started with `--voters 3 --standbys 0`.',
  ]
  const idleRows = r.results
    .filter(x => x.idleCpuPercent !== undefined)
    .map(x => [x.system, 'each of 3 members', x.idleCpuPercent.map(p => p.toFixed(2)).join(' / ')])
  if (r.workerIdle !== undefined) {
    idleRows.push([
      'meshos',
      'voters of 5 (leader first)',
      r.workerIdle.votersPercent.map(p => p.toFixed(2)).join(' / '),
    ])
    idleRows.push(['meshos', 'workers of 5', r.workerIdle.workersPercent.map(p => p.toFixed(2)).join(' / ')])
  }
  if (idleRows.length > 0) out.push(table(['system', 'members', 'idle CPU (% of a core)'], idleRows, 'lll'))
  const measures = [
    { name: 'failover', pick: (x: FailoverRecord['results'][number]) => x.failoverMs, digits: 0 },
    {
      name: 'commit latency via follower',
      pick: (x: FailoverRecord['results'][number]) => x.commitLatencyMs,
      digits: 2,
    },
  ]
  out.push(
    table(
      ['measure', 'system', ...SUMMARY_HEAD],
      measures.flatMap(m => r.results.map(x => [m.name, x.system, ...summaryCells(m.pick(x), m.digits)])),
      'llrrrrr',
    ),
  )
  out.push(
    table(
      ['system', 'writes/s (16 in flight)'],
      r.results.map(x => [x.system, x.writesPerSecond.toFixed(0)]),
    ),
  )
  if (r.skipped.length > 0) out.push(bullets(r.skipped.map(s => `skipped ${s}`)))
  const meshos = r.results.find(x => x.system === 'meshos')
  out.push('### Targets (issues 3 and 15)')
  out.push(
    meshos == null
      ? 'Not judged: meshos was not measured.'
      : verdictTable(judgeFailover({ ...FAILOVER_TARGETS, ...r.targets }, meshos, r.workerIdle)),
  )
  return out.join('\n\n')
}
