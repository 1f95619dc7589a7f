// The tasks section of bench/README.md, rendered from bench/results/tasks.json.
import { SUMMARY_HEAD, bullets, measuredOn, summaryCells, table, verdictTable } from '../lib/markdown.js'
import { describePlan } from './plan.js'
import { LAUNCHER_FLOOR, SPAWN_FLOOR } from './results.js'
import type { TasksRecord } from './run.js'
import { judgeTasks } from './targets.js'

const ms = (v: number): string => v.toFixed(2)

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
  const rates = [
    { rate: `${1000 / r.plan.intervalMs}/s`, pick: (x: TasksRecord['results'][number]) => x.startLatencyMs },
    {
      rate: `${1000 / r.plan.lightIntervalMs}/s (not queueing)`,
      pick: (x: TasksRecord['results'][number]) => x.lightStartLatencyMs,
    },
  ]
  out.push(
    table(
      ['load', 'system', 'measured as', ...SUMMARY_HEAD],
      rates.flatMap(({ rate, pick }) =>
        r.results.map(x => [rate, x.system, x.latencyMeasures, ...summaryCells(pick(x), 2)]),
      ),
      'lllrrrrr',
    ),
  )

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
  }
  if (r.skipped.length > 0) out.push(bullets(r.skipped.map(s => `skipped ${s}`)))

  out.push('### Targets (task API issue)')
  const v = judgeTasks(r.targets, r.results)
  if (v == null) {
    out.push('Not judged: meshos was not measured.')
  } else {
    out.push(
      verdictTable([
        v.startP50,
        v.startP99,
        ...(v.vsSpawnFloor == null ? [] : [v.vsSpawnFloor]),
        ...(v.vsLauncherFloor == null ? [] : [v.vsLauncherFloor]),
      ]),
    )
    const context: string[] = []
    // Context, not a verdict: any submit→start includes one fork+exec on this machine.
    const floor = r.results.find(x => x.system === SPAWN_FLOOR)
    const launcherFloor = r.results.find(x => x.system === LAUNCHER_FLOOR)
    if (floor != null)
      context.push(
        `this machine's own spawn() → 'spawn' event: p50 ${ms(floor.startLatencyMs.median)} ms, p99 ${ms(floor.startLatencyMs.p99)} ms`,
      )
    else context.push('throughput vs spawn floor: not judged (the spawn floor was not measured)')
    if (launcherFloor != null)
      context.push(
        `posix_spawn via meshos-launcher → SPAWNED: p50 ${ms(launcherFloor.startLatencyMs.median)} ms, p99 ${ms(launcherFloor.startLatencyMs.p99)} ms`,
      )
    out.push(bullets(context))
  }
  return out.join('\n\n')
}
