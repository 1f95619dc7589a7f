// The tasks section of bench/README.md, rendered from bench/results/tasks.json.
import { SUMMARY_HEAD, bullets, measuredOn, summaryCells, table, verdictTable } from '../lib/markdown.js'
import { describePlan } from './plan.js'
import type { TasksRecord } from './run.js'
import { floorsContext, judgeTasks } from './targets.js'

export function tasksSection(r: TasksRecord | null): string {
  const title = '## Tasks: meshos next to BullMQ + Redis and the spawn floors'
  if (r == null) return `${title}\n\nNot measured yet: \`BENCH_ONLY=tasks npm run bench\`.`
  const load = (l: number[]): string => l.map(v => v.toFixed(1)).join(' ')
  const out = [
    title,
    measuredOn(r, 'bench/results/tasks.json'),
    `Every task is \`/bin/true\`; ${describePlan(r.plan)}; systems: ${r.systems.join(', ')}. ` +
      `The systems run one after another on the same cores; load average before ${load(r.loadAverage.before)}, ` +
      `after ${load(r.loadAverage.after)} on ${r.machine.cpus} cores.`,
  ]
  const scale = r.scale ?? 1
  if (scale !== 1) out.push(`**BENCH_TASKS_SCALE=${scale}**: the counts are not the issue's; indicative only.`)

  out.push('### Submit → start latency (ms)')
  type Result = TasksRecord['results'][number]
  const rates = [
    { rate: `${1000 / r.plan.intervalMs}/s`, pick: (x: Result) => x.startLatencyMs, follower: 'paced' as const },
    {
      rate: `${1000 / r.plan.lightIntervalMs}/s (not queueing)`,
      pick: (x: Result) => x.lightStartLatencyMs,
      follower: 'light' as const,
    },
  ]
  const rows = rates.flatMap(({ rate, pick, follower }) =>
    r.results.flatMap(x => [
      [rate, x.system, x.latencyMeasures, ...summaryCells(pick(x), 2)],
      ...(x.viaFollower == null
        ? []
        : [[rate, x.system, x.viaFollower.latencyMeasures, ...summaryCells(x.viaFollower[follower], 2)]]),
    ]),
  )
  const etcd = r.etcdCommitViaFollowerMs
  if (etcd != null)
    rows.push(['one at a time', 'etcd 3.4', 'commit of a write through a follower', ...summaryCells(etcd, 2)])
  out.push(table(['load', 'system', 'measured as', ...SUMMARY_HEAD], rows, 'lllrrrrr'))

  out.push('### Throughput')
  out.push(
    table(
      ['system', 'tasks/s', 'N', 'all submitted after (ms)', 'all succeeded after (ms)', 'notes'],
      r.results.map(x => [
        x.system,
        x.throughput.tasksPerSecond.toFixed(0),
        String(x.throughput.tasks),
        x.throughput.submitMs.toFixed(0),
        x.throughput.elapsedMs.toFixed(0),
        x.notes.join('; '),
      ]),
      'lrrrrl',
    ),
  )

  const queues = r.results.filter(x => x.acceptLatencyMs != null || x.rssMiB != null || x.cpuMsPerTask != null)
  if (queues.length > 0) {
    out.push('### Submit acknowledged, memory and CPU')
    const accepted = queues.flatMap(x =>
      x.acceptLatencyMs == null ? [] : [[x.system, 'at 100/s', ...summaryCells(x.acceptLatencyMs, 2)]],
    )
    if (accepted.length > 0)
      out.push(table(['system', 'submit acknowledged (ms)', ...SUMMARY_HEAD], accepted, 'llrrrrr'))
    const byProcess = queues.flatMap(x =>
      x.cpuMsPerTask?.pacedByProcess == null
        ? []
        : [
            `${x.system}, CPU per task at 100/s by process: ${Object.entries(x.cpuMsPerTask.pacedByProcess)
              .map(([k, v]) => `${k} ${v.toFixed(2)} ms`)
              .join(', ')}`,
          ],
    )
    const idle = queues.flatMap(x =>
      x.cpuMsPerTask?.idleMsPerSecond == null
        ? []
        : [
            `${x.system}, idle: the same processes use ${x.cpuMsPerTask.idleMsPerSecond.toFixed(0)} ms of CPU per second, so ${(x.cpuMsPerTask.idleMsPerSecond / 100).toFixed(1)} ms of the figure at 100/s is there without any task`,
          ],
    )
    const followers = queues.flatMap(x =>
      x.viaFollower == null
        ? []
        : [
            `${x.system}, submitted through the follower: CPU per task at 10/s ${x.viaFollower.cpuMsPerTask.light.toFixed(1)} ms, at 100/s ${x.viaFollower.cpuMsPerTask.paced.toFixed(1)} ms`,
          ],
    )
    out.push(
      table(
        [
          'system',
          'RSS holding finished tasks',
          'CPU per task at 10/s (ms)',
          'at 100/s',
          'throughput run',
          'CPU of (not the tasks)',
        ],
        queues.map(x => [
          x.system,
          x.rssMiB == null
            ? ''
            : `${x.heldTasks ?? '?'} tasks: ${Object.entries(x.rssMiB)
                .map(([k, v]) => `${k} ${v.toFixed(1)} MiB`)
                .join(', ')}`,
          x.cpuMsPerTask?.light.toFixed(1) ?? '',
          x.cpuMsPerTask?.paced.toFixed(1) ?? '',
          x.cpuMsPerTask?.throughput.toFixed(1) ?? '',
          x.cpuMsPerTask?.processes ?? '',
        ]),
        'llrrrl',
      ),
    )
    if (byProcess.length + idle.length + followers.length > 0) out.push(bullets([...byProcess, ...idle, ...followers]))
  }
  if (r.skipped.length > 0) out.push(bullets(r.skipped.map(s => `skipped ${s}`)))

  out.push('### Targets (issue 15, restating the task API issue)')
  const judged = judgeTasks(r.targets, r.results)
  if (judged == null) {
    out.push('Not judged: meshos was not measured.')
  } else {
    out.push(verdictTable(judged))
    out.push(bullets(floorsContext(r.results, r.etcdCommitViaFollowerMs)))
  }
  return out.join('\n\n')
}
