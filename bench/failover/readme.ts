// The failover section of bench/README.md, rendered from bench/results/failover.json.
import { SUMMARY_HEAD, bullets, measuredOn, summaryCells, table, verdictTable } from '../lib/markdown.js'
import type { FailoverRecord } from './run.js'
import { judgeFailover } from './targets.js'

export function failoverSection(r: FailoverRecord | null): string {
  const title = '## Failover and commit latency: meshos next to etcd 3.4'
  if (r == null) return `${title}\n\nNot measured yet: \`BENCH_ONLY=failover npm run bench\`.`
  const out = [
    title,
    measuredOn(r, 'bench/results/failover.json'),
    '3 members on 127.0.0.1 per system. Failover: SIGKILL the leader, then the time until a write ' +
      'sent to a survivor commits. Commit latency: small writes through a follower, one at a time. ' +
      'Throughput: the same writes with 16 in flight. Times in ms.',
  ]
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
  out.push('### Targets (issue 3)')
  out.push(meshos == null ? 'Not judged: meshos was not measured.' : verdictTable(judgeFailover(r.targets, meshos)))
  return out.join('\n\n')
}
