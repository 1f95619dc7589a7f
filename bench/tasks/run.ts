// The tasks benchmark from the command line: runs it, prints the figures and the verdicts,
// writes the results. BENCH_TASKS_SYSTEMS=meshos,bullmq,spawn,launcher,etcd picks the systems (default all);
// BENCH_TASKS_SCALE=0.1 shrinks the task counts for a quick try (the targets are judged on the
// full counts only).
import os from 'node:os'
import type { Log } from '../lib/log.js'
import { describeMachine, machineInfo } from '../lib/machine.js'
import { writeResults, type ResultsHeader } from '../lib/results.js'
import { fmt, type Summary } from '../lib/stats.js'
import { judgedLine, type Judged } from '../lib/verdict.js'
import { benchTasks } from './index.js'
import { TASKS_SYSTEMS, describePlan, tasksPlan, type TasksPlan, type TasksSystem } from './plan.js'
import type { TasksSystemResult } from './results.js'
import { TASK_TARGETS, floorsContext, judgeTasks, type TaskTargets } from './targets.js'

/** What bench/results/tasks.json holds. */
export interface TasksRecord extends ResultsHeader {
  loadAverage: { before: number[]; after: number[] }
  targets: TaskTargets
  /** BENCH_TASKS_SCALE; absent in files from before it was recorded (those ran at 1). */
  scale?: number
  plan: TasksPlan
  systems: TasksSystem[]
  results: TasksSystemResult[]
  /** Absent in files from before it was measured here. */
  etcdCommitViaFollowerMs?: Summary | null
  skipped: string[]
  judged: Array<Omit<Judged, 'shown'>>
}

export async function runTasks(log: Log): Promise<void> {
  const machine = machineInfo()
  const systems = (process.env.BENCH_TASKS_SYSTEMS ?? TASKS_SYSTEMS.join(','))
    .split(',')
    .map(s => s.trim())
    .filter((s): s is TasksSystem => (TASKS_SYSTEMS as readonly string[]).includes(s))
  if (systems.length === 0) throw new Error(`BENCH_TASKS_SYSTEMS: expected some of ${TASKS_SYSTEMS.join(',')}`)
  const scale = Number(process.env.BENCH_TASKS_SCALE ?? '1')
  if (!(scale > 0)) throw new Error('BENCH_TASKS_SCALE: expected a positive number')
  const plan = tasksPlan(scale)
  log(`meshos tasks benchmark — ${describeMachine(machine)}`)
  log(`every task is /bin/true; ${describePlan(plan)}; systems: ${systems.join(', ')}`)
  const loadBefore = os.loadavg()
  log(`load average before: ${loadBefore.map(l => l.toFixed(1)).join(' ')} on ${machine.cpus} cores`)
  const { results, etcdCommitViaFollowerMs, skipped } = await benchTasks(systems, plan, log)
  const loadAfter = os.loadavg()

  const ms = (v: number): string => v.toFixed(2)
  if (results.length > 0)
    log(
      `\n  ${'system'.padEnd(26)} ${'submit→start at 100/s: p50 / p99 (min, max, N)'.padEnd(50)} ${'throughput'.padEnd(26)} measured as`,
    )
  for (const r of results) {
    const l = r.startLatencyMs
    log(
      `  ${r.system.padEnd(26)} ${`${ms(l.median)} / ${ms(l.p99)} ms (${ms(l.min)}, ${ms(l.max)}, N=${l.n})`.padEnd(50)} ${`${r.throughput.tasksPerSecond.toFixed(0)} tasks/s (N=${r.throughput.tasks})`.padEnd(26)} ${r.latencyMeasures}`,
    )
  }
  log('')
  const line = (l: Summary): string =>
    `p50 ${ms(l.median)} / p99 ${ms(l.p99)} ms (${ms(l.min)}, ${ms(l.max)}, N=${l.n})`
  for (const r of results) log(`  ${r.system}: submit→start at 10/s (not queueing): ${line(r.lightStartLatencyMs)}`)
  for (const r of results) {
    const f = r.viaFollower
    if (f == null) continue
    log(`  ${r.system}, ${f.latencyMeasures}: at 10/s ${line(f.light)}; at 100/s ${line(f.paced)}`)
    log(
      `  ${r.system}, through the follower: CPU per task at 10/s ${f.cpuMsPerTask.light.toFixed(1)} ms, at 100/s ${f.cpuMsPerTask.paced.toFixed(1)} ms`,
    )
  }
  if (etcdCommitViaFollowerMs != null) log(`  etcd 3.4 commit through a follower: ${line(etcdCommitViaFollowerMs)}`)
  for (const r of results) {
    if (r.acceptLatencyMs != null)
      log(
        `  ${r.system}: submit acknowledged ${fmt(r.acceptLatencyMs, 'ms', 2)}; ${r.throughput.tasks} submitted in ${r.throughput.submitMs.toFixed(0)} ms, all succeeded after ${r.throughput.elapsedMs.toFixed(0)} ms`,
      )
    if (r.rssMiB != null)
      log(
        `  ${r.system}: RSS holding ${r.heldTasks} finished tasks: ${Object.entries(r.rssMiB)
          .map(([k, v]) => `${k} ${v.toFixed(1)} MiB`)
          .join(', ')}`,
      )
    const cpu = r.cpuMsPerTask
    if (cpu != null)
      log(
        `  ${r.system}: CPU per task (${cpu.processes}; not the tasks): at 10/s ${cpu.light.toFixed(1)} ms, at 100/s ${cpu.paced.toFixed(1)} ms, throughput run ${cpu.throughput.toFixed(1)} ms`,
      )
    if (cpu?.pacedByProcess != null)
      log(
        `  ${r.system}: CPU per task at 100/s by process: ${Object.entries(cpu.pacedByProcess)
          .map(([k, v]) => `${k} ${v.toFixed(2)} ms`)
          .join(', ')}`,
      )
    if (cpu?.idleMsPerSecond != null)
      log(
        `  ${r.system}: idle, the same processes use ${cpu.idleMsPerSecond.toFixed(0)} ms of CPU per second: ${(cpu.idleMsPerSecond / 100).toFixed(1)} ms of each task's figure at 100/s`,
      )
    for (const n of r.notes) log(`  ${r.system}: ${n}`)
  }
  for (const s of skipped) log(`  skipped ${s}`)
  // The systems run one after another on the same cores: other load on the machine skews them.
  log(`  load average after: ${loadAfter.map(l => l.toFixed(1)).join(' ')} on ${machine.cpus} cores`)

  log('\ntargets (issue 15, restating the task API issue)')
  const judged = judgeTasks(TASK_TARGETS, results)
  if (judged == null) {
    log('  not judged: meshos was not measured')
  } else {
    if (scale !== 1) log(`  (BENCH_TASKS_SCALE=${scale}: counts are not the issue's; indicative only)`)
    for (const j of judged) log(`  ${judgedLine(j)}`)
    // Context, not verdicts: a submission through a node that does not lead is at least a commit
    // through a follower and a spawn.
    for (const c of floorsContext(results, etcdCommitViaFollowerMs)) log(`  (${c})`)
  }
  await writeResults<TasksRecord>(
    'tasks',
    {
      machine,
      loadAverage: { before: loadBefore, after: loadAfter },
      targets: TASK_TARGETS,
      scale,
      plan,
      systems,
      results,
      etcdCommitViaFollowerMs,
      skipped,
      judged: (judged ?? []).map(({ target, value, pass }) => ({ target, value, pass })),
    },
    log,
  )
}
