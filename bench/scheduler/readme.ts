// The scheduler section of bench/README.md, rendered from bench/results/scheduler.json.
import { bullets, measuredOn, table, verdictTable } from '../lib/markdown.js'
import { QUEUED_TASKS, perSecond } from './index.js'
import { fmtLoad, type SchedulerRecord } from './run.js'
import { judgeCase } from './targets.js'

export function schedulerSection(r: SchedulerRecord | null): string {
  const title = '## Scheduler at fleet size: the one-pass placer next to the old one'
  if (r == null) return `${title}\n\nNot measured yet: \`BENCH_ONLY=scheduler npm run bench\`.`
  const f = (v: number): string => Math.round(v).toString()
  return [
    title,
    measuredOn(r, 'bench/results/scheduler.json'),
    `One plan() round places ${QUEUED_TASKS} queued tasks (all of which fit) over the fleet, in one ` +
      'process, no I/O. "old" is the filter-then-rank placer it replaced ' +
      '(harness/scheduler/reference-plan.ts), run on the same inputs in the same run; both plans must be equal. ' +
      'Placements per second of the median round and of the slowest (p99) round; with fewer than ' +
      '100 rounds the p99 is the slowest. "/CPU-s" divides by the CPU time the process spent in the ' +
      'round instead, which other load on the machine disturbs far less.',
    bullets([`load average before ${fmtLoad(r.loadAverageBefore)}, after ${fmtLoad(r.loadAverageAfter)}`]),
    table(
      [
        'nodes',
        'policy',
        'placed',
        'new /s median',
        'new /s p99',
        'new N',
        'new /CPU-s median',
        'old /s median',
        'old N',
        'speed-up',
        'plans',
      ],
      r.results.map(x => [
        String(x.nodes),
        x.policy,
        String(x.placed),
        f(perSecond(x.placed, x.roundMs.median)),
        f(perSecond(x.placed, x.roundMs.p99)),
        String(x.roundMs.n),
        f(perSecond(x.placed, x.roundCpuMs.median)),
        f(perSecond(x.placed, x.referenceRoundMs.median)),
        String(x.referenceRoundMs.n),
        `×${(x.referenceRoundMs.median / x.roundMs.median).toFixed(1)}`,
        x.samePlan ? 'equal' : 'differ',
      ]),
      'rlrrrrrrrrl',
    ),
    '### Targets (issue 15)',
    verdictTable(r.results.flatMap(x => judgeCase(r.targets, x))),
  ].join('\n\n')
}
