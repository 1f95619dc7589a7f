// The fleet section of bench/README.md, rendered from bench/results/fleet.json.
import { SUMMARY_HEAD, bullets, measuredOn, summaryCells, table } from '../lib/markdown.js'
import type { Summary } from '../lib/stats.js'
import { IDLE_CPU_WINDOW_MS, type FleetSizeResult } from './index.js'
import type { FleetRecord } from './run.js'
import { goalVerdict, judgeFleet } from './targets.js'

const MEASURES: Array<{ name: string; system: string; pick: (r: FleetSizeResult) => Summary | null }> = [
  {
    name: `idle CPU per node (% of a core over ${IDLE_CPU_WINDOW_MS / 1000} s)`,
    system: 'meshos',
    pick: r => r.idleCpuPercent,
  },
  {
    name: `idle CPU per node (% of a core over ${IDLE_CPU_WINDOW_MS / 1000} s)`,
    system: 'bare libp2p',
    pick: r => r.bareLibp2pCpuPercent,
  },
  { name: 'idle RSS per node (MiB)', system: 'meshos', pick: r => r.idleRssMiB },
  { name: 'idle RSS per node (MiB)', system: 'bare libp2p', pick: r => r.bareLibp2pRssMiB },
]

const loadText = (l: number[]): string => l.map(x => x.toFixed(1)).join(' ')

export function fleetSection(r: FleetRecord | null): string {
  const title = '## Fleet: 50 real nodes on this machine'
  if (r == null) return `${title}\n\nNot measured yet: \`BENCH_ONLY=fleet npm run bench\`.`
  const x = r.result
  const out = [
    title,
    measuredOn(r, 'bench/results/fleet.json'),
    `Load average ${loadText(r.loadBefore)} before the run and ${loadText(r.loadAfter)} after. ` +
      `One fleet of agent processes on 127.0.0.1 (--voters ${x.voters} --standbys ${x.standbys}: the ` +
      'others are workers without the Raft log), grown through each size; then, at full size, an idle ' +
      'minute, tasks through a worker, SIGKILL of workers and then of the leader while tasks run, and ' +
      'SIGSTOP/SIGCONT of a worker. Times from the agents’ own logs. Bare libp2p: as many processes with ' +
      'the same transports and gossipsub, each dialling up to 4 others, publishing once a second.',
    table(
      ['nodes', 'all alive after the last start (ms)'],
      x.sizes.map(s => [
        String(s.nodes),
        s.allAliveAfterLastStartMs === null ? 'never' : String(s.allAliveAfterLastStartMs),
      ]),
    ),
    table(
      ['nodes', 'measure', 'system', ...SUMMARY_HEAD],
      x.sizes.flatMap(s =>
        MEASURES.flatMap(m => {
          const v = m.pick(s)
          return v === null ? [] : [[String(s.nodes), m.name, m.system, ...summaryCells(v, 1)]]
        }),
      ),
      'rllrrrrr',
    ),
  ]
  const notes: string[] = []
  if (x.tasks !== null)
    notes.push(
      `${x.tasks.submitted} tasks (\`/bin/true\`): acknowledged in ${x.tasks.submitMs} ms, all terminal in ` +
        `${x.tasks.doneMs} ms; per node median ${x.tasks.perNode.median}, min ${x.tasks.perNode.min}, max ${x.tasks.perNode.max}.`,
    )
  if (x.kill !== null)
    notes.push(
      `Kill: workers dead everywhere in ${x.kill.workerDeadMs.join(', ')} ms, the leader in ${x.kill.leaderDeadMs} ms; ` +
        `new leader agreed by all survivors in ${x.kill.newLeaderMs} ms; ${x.kill.refusedBatches} submissions refused ` +
        `and ${x.kill.unansweredBatches} unanswered meanwhile (not acknowledged, so nothing owed).`,
    )
  if (x.idle !== null && x.idle.examples.length > 0)
    notes.push(`Idle transitions, e.g.: ${x.idle.examples.join('; ')}.`)
  if (x.kill !== null && x.kill.problems.length > 0) notes.push(`Kill problems, e.g.: ${x.kill.problems.join('; ')}.`)
  if (x.error !== null) notes.push(`The run stopped early: ${x.error}`)
  if (x.crashed.length > 0) notes.push(`Agents that exited on their own: ${x.crashed.join(', ')}.`)
  if (notes.length > 0) out.push(bullets(notes))
  out.push('### Goals (issue 15)')
  out.push(
    table(
      ['goal', 'measured', 'verdict'],
      judgeFleet(r.targets, x).map(j => [j.target, j.shown, goalVerdict(j.pass)]),
      'lll',
    ),
  )
  return out.join('\n\n')
}
