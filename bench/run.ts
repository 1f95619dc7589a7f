// `npm run bench`: runs the benchmarks, prints medians and p99 with N and the machine, checks
// the targets from the issues, and writes the results as JSON under bench/results/.
// BENCH_SIZES=3,10 limits the cluster sizes; BENCH_TRIALS scales the trial counts.
// BENCH_ONLY=failover|membership|tasks runs one benchmark. For tasks, BENCH_TASKS_SYSTEMS=
// meshos,bullmq,spawn picks the systems (default all) and BENCH_TASKS_SCALE=0.1 shrinks the
// task counts for a quick try (the targets are judged on the full counts only).
import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import os from 'node:os'
import path from 'node:path'
import { benchMembershipSize, type MembershipSizeResult } from './membership.js'
import { benchFailover } from './failover.js'
import { LAUNCHER_FLOOR, SPAWN_FLOOR, TASKS_SYSTEMS, benchTasks, tasksPlan, type TasksSystem } from './tasks.js'
import { describeMachine, machineInfo } from './lib/machine.js'
import { fmt } from './lib/stats.js'

const TARGETS = {
  joinAt10Ms: 1000,
  deadAfterKillMs: 4000,
  idleRssMiB: 100,
  failoverMedianMs: 600,
  failoverMaxMs: 1500,
  commitP50Ms: 5
}

const TASK_TARGETS = {
  startP50Ms: 3,
  startP99Ms: 10,
  /** meshos throughput as a share of this machine's raw spawn floor. */
  throughputVsSpawnFloor: 0.9
}

const log = (line: string): void => { process.stdout.write(line + '\n') }

function verdict (ok: boolean): string {
  return ok ? 'PASS' : 'FAIL'
}

async function main (): Promise<void> {
  const only = process.env.BENCH_ONLY
  if (only == null || only === 'failover') await failover()
  if (only == null || only === 'membership') await membership()
  if (only == null || only === 'tasks') await tasks()
}

async function failover (): Promise<void> {
  const machine = machineInfo()
  const trials = Math.max(1, Math.round(20 * Number(process.env.BENCH_TRIALS ?? '1')))
  const writes = 1000
  log(`meshos failover benchmark — ${describeMachine(machine)}`)
  const { results, skipped } = await benchFailover(trials, writes, log)
  log('\n  system     failover (SIGKILL leader → write via survivor commits)          commit latency via follower      throughput (16 in flight)')
  for (const r of results) {
    const f = r.failoverMs
    const c = r.commitLatencyMs
    log(`  ${r.system.padEnd(9)}  min ${f.min.toFixed(0)} / median ${f.median.toFixed(0)} / p99 ${f.p99.toFixed(0)} / max ${f.max.toFixed(0)} ms (N=${f.n})   p50 ${c.median.toFixed(2)} / p99 ${c.p99.toFixed(2)} ms (N=${c.n})   ${r.writesPerSecond.toFixed(0)} writes/s`)
  }
  for (const s of skipped) log(`  skipped ${s}`)
  const m = results.find(r => r.system === 'meshos')
  if (m != null) {
    log('\ntargets (issue 3)')
    log(`  failover median ≤ ${TARGETS.failoverMedianMs} ms (${m.failoverMs.median.toFixed(0)}): ${verdict(m.failoverMs.median <= TARGETS.failoverMedianMs)}`)
    log(`  failover max ≤ ${TARGETS.failoverMaxMs} ms (${m.failoverMs.max.toFixed(0)}): ${verdict(m.failoverMs.max <= TARGETS.failoverMaxMs)}`)
    log(`  commit p50 < ${TARGETS.commitP50Ms} ms (${m.commitLatencyMs.median.toFixed(2)}): ${verdict(m.commitLatencyMs.median < TARGETS.commitP50Ms)}`)
  }
  await writeResults('failover', { machine, targets: TARGETS, results, skipped })
}

async function tasks (): Promise<void> {
  const machine = machineInfo()
  const systems = (process.env.BENCH_TASKS_SYSTEMS ?? TASKS_SYSTEMS.join(','))
    .split(',').map(s => s.trim()).filter((s): s is TasksSystem => (TASKS_SYSTEMS as readonly string[]).includes(s))
  if (systems.length === 0) throw new Error(`BENCH_TASKS_SYSTEMS: expected some of ${TASKS_SYSTEMS.join(',')}`)
  const scale = Number(process.env.BENCH_TASKS_SCALE ?? '1')
  if (!(scale > 0)) throw new Error('BENCH_TASKS_SCALE: expected a positive number')
  const plan = tasksPlan(scale)
  log(`meshos tasks benchmark — ${describeMachine(machine)}`)
  log(`every task is /bin/true; latency: ${plan.latencyTasks} tasks open-loop at ${1000 / plan.intervalMs}/s, one per request (after ${plan.warmupTasks} warm-up); ` +
    `throughput: ${plan.throughputTasks} tasks in batches of ${plan.batchSize}, ${plan.batchesInFlight} batches in flight; systems: ${systems.join(', ')}`)
  const loadBefore = os.loadavg()
  log(`load average before: ${loadBefore.map(l => l.toFixed(1)).join(' ')} on ${machine.cpus} cores`)
  const { results, skipped } = await benchTasks(systems, plan, log)
  const loadAfter = os.loadavg()

  const ms = (v: number): string => v.toFixed(2)
  if (results.length > 0) log(`\n  ${'system'.padEnd(26)} ${'submit→start at 100/s: p50 / p99 (min, max, N)'.padEnd(50)} ${'throughput'.padEnd(26)} measured as`)
  for (const r of results) {
    const l = r.startLatencyMs
    log(`  ${r.system.padEnd(26)} ${`${ms(l.median)} / ${ms(l.p99)} ms (${ms(l.min)}, ${ms(l.max)}, N=${l.n})`.padEnd(50)} ${`${r.throughput.tasksPerSecond.toFixed(0)} tasks/s (N=${r.throughput.tasks})`.padEnd(26)} ${r.latencyMeasures}`)
  }
  log('')
  for (const r of results) {
    const l = r.lightStartLatencyMs
    log(`  ${r.system}: submit→start at 10/s (not queueing): p50 ${ms(l.median)} / p99 ${ms(l.p99)} ms (${ms(l.min)}, ${ms(l.max)}, N=${l.n})`)
  }
  for (const r of results) {
    if (r.acceptLatencyMs != null) log(`  ${r.system}: submit acknowledged ${fmt(r.acceptLatencyMs, 'ms', 2)}; ${r.throughput.tasks} submitted in ${r.throughput.submitMs.toFixed(0)} ms, all succeeded after ${r.throughput.elapsedMs.toFixed(0)} ms`)
    if (r.rssMiB != null) log(`  ${r.system}: RSS holding ${r.heldTasks} finished tasks: ${Object.entries(r.rssMiB).map(([k, v]) => `${k} ${v.toFixed(1)} MiB`).join(', ')}`)
    const cpu = r.cpuMsPerTask
    if (cpu != null) log(`  ${r.system}: CPU per task (${cpu.processes}; not the tasks): at 10/s ${cpu.light.toFixed(1)} ms, at 100/s ${cpu.paced.toFixed(1)} ms, throughput run ${cpu.throughput.toFixed(1)} ms`)
    for (const n of r.notes) log(`  ${r.system}: ${n}`)
  }
  for (const s of skipped) log(`  skipped ${s}`)
  // The systems run one after another on the same cores: other load on the machine skews them.
  log(`  load average after: ${loadAfter.map(l => l.toFixed(1)).join(' ')} on ${machine.cpus} cores`)

  log('\ntargets (task API issue)')
  const m = results.find(r => r.system === 'meshos')
  const floor = results.find(r => r.system === SPAWN_FLOOR)
  const launcherFloor = results.find(r => r.system === LAUNCHER_FLOOR)
  const judged: Array<{ target: string, value: number, pass: boolean }> = []
  if (m == null) {
    log('  not judged: meshos was not measured')
  } else {
    if (scale !== 1) log(`  (BENCH_TASKS_SCALE=${scale}: counts are not the issue's; indicative only)`)
    judged.push({ target: `submit→start p50 ≤ ${TASK_TARGETS.startP50Ms} ms`, value: m.startLatencyMs.median, pass: m.startLatencyMs.median <= TASK_TARGETS.startP50Ms })
    judged.push({ target: `submit→start p99 ≤ ${TASK_TARGETS.startP99Ms} ms`, value: m.startLatencyMs.p99, pass: m.startLatencyMs.p99 <= TASK_TARGETS.startP99Ms })
    for (const j of judged) log(`  ${j.target} (${ms(j.value)}): ${verdict(j.pass)}`)
    // Context, not a verdict: any submit→start includes one fork+exec on this machine.
    if (floor != null) log(`  (this machine's own spawn() → 'spawn' event: p50 ${ms(floor.startLatencyMs.median)} ms, p99 ${ms(floor.startLatencyMs.p99)} ms)`)
    if (floor == null) {
      log('  throughput vs spawn floor: not judged (the spawn floor was not measured)')
    } else {
      const share = m.throughput.tasksPerSecond / floor.throughput.tasksPerSecond
      judged.push({ target: `throughput ≥ ${TASK_TARGETS.throughputVsSpawnFloor * 100}% of the spawn floor`, value: share, pass: share >= TASK_TARGETS.throughputVsSpawnFloor })
      log(`  throughput ≥ ${TASK_TARGETS.throughputVsSpawnFloor * 100}% of the spawn floor (${m.throughput.tasksPerSecond.toFixed(0)} / ${floor.throughput.tasksPerSecond.toFixed(0)} = ${(share * 100).toFixed(0)}%): ${verdict(share >= TASK_TARGETS.throughputVsSpawnFloor)}`)
    }
    // The issue's floor is Node's spawn(); meshos spawns with posix_spawn, so this is the floor of
    // the mechanism it actually uses, and the stricter comparison.
    if (launcherFloor != null) {
      const share = m.throughput.tasksPerSecond / launcherFloor.throughput.tasksPerSecond
      judged.push({ target: `throughput ≥ ${TASK_TARGETS.throughputVsSpawnFloor * 100}% of the posix_spawn floor`, value: share, pass: share >= TASK_TARGETS.throughputVsSpawnFloor })
      log(`  throughput ≥ ${TASK_TARGETS.throughputVsSpawnFloor * 100}% of the posix_spawn floor (${m.throughput.tasksPerSecond.toFixed(0)} / ${launcherFloor.throughput.tasksPerSecond.toFixed(0)} = ${(share * 100).toFixed(0)}%): ${verdict(share >= TASK_TARGETS.throughputVsSpawnFloor)}`)
      log(`  (posix_spawn via meshos-launcher → SPAWNED: p50 ${ms(launcherFloor.startLatencyMs.median)} ms, p99 ${ms(launcherFloor.startLatencyMs.p99)} ms)`)
    }
  }
  await writeResults('tasks', { machine, loadAverage: { before: loadBefore, after: loadAfter }, targets: TASK_TARGETS, plan, systems, results, skipped, judged })
}

async function writeResults (name: string, body: object): Promise<void> {
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url))
  await mkdir(dir, { recursive: true })
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  await writeFile(file, JSON.stringify({ benchmark: name, date: new Date().toISOString(), ...body }, null, 2))
  log(`\nresults written to ${path.relative(process.cwd(), file)}`)
}

async function membership (): Promise<void> {
  const machine = machineInfo()
  const sizes = (process.env.BENCH_SIZES ?? '3,10,30').split(',').map(Number).filter(n => n >= 2)
  const trialScale = Number(process.env.BENCH_TRIALS ?? '1')
  const trialsFor = (n: number): number => Math.max(1, Math.round((n <= 3 ? 20 : n <= 10 ? 10 : 5) * trialScale))
  log(`meshos membership benchmark — ${describeMachine(machine)}`)
  log('every node is a separate OS process on 127.0.0.1')

  const results: MembershipSizeResult[] = []
  const failures: Array<{ nodes: number, error: string, loadAverage: number[] }> = []
  for (const n of sizes) {
    log(`\ncluster of ${n} nodes`)
    let r: MembershipSizeResult
    try {
      r = await benchMembershipSize(n, trialsFor(n), 10_000, log)
    } catch (err) {
      // Reported, not hidden: on a small machine the largest cluster may not fit.
      const load = os.loadavg().map(l => l.toFixed(1)).join(' ')
      log(`  FAILED: ${(err as Error).message} (load average ${load} on ${machine.cpus} cores)`)
      failures.push({ nodes: n, error: (err as Error).message, loadAverage: os.loadavg() })
      continue
    }
    results.push(r)
    log(`  join visible everywhere, from spawn:  ${fmt(r.joinFromSpawnMs, 'ms')}`)
    log(`  join visible everywhere, from ready:  ${fmt(r.joinFromReadyMs, 'ms')}`)
    log(`  SIGKILL → dead on every survivor:     ${fmt(r.deadAfterKillMs, 'ms')}`)
    log(`  idle RSS per node:        meshos ${fmt(r.idleRssMiB, 'MiB', 1)}`)
    log(`                        bare libp2p ${fmt(r.bareLibp2pRssMiB, 'MiB', 1)}`)
    log(`  idle CPU per node (% of a core, 10 s): meshos ${fmt(r.idleCpuPercent, '%', 1)}`)
    log(`                                    bare libp2p ${fmt(r.bareLibp2pCpuPercent, '%', 1)}`)
  }

  log('\ntargets (issue 2)')
  const at10 = results.find(r => r.nodes === 10)
  if (at10 != null) {
    // "From ready" starts when the new node answers its API; "from spawn" adds the ~1 s a Node
    // process takes to load libp2p. Both are judged, so neither hides the other.
    log(`  join visible everywhere ≤ ${TARGETS.joinAt10Ms} ms at 10 nodes, from ready (p99 ${at10.joinFromReadyMs.p99} ms): ${verdict(at10.joinFromReadyMs.p99 <= TARGETS.joinAt10Ms)}`)
    log(`  join visible everywhere ≤ ${TARGETS.joinAt10Ms} ms at 10 nodes, from spawn (p99 ${at10.joinFromSpawnMs.p99} ms): ${verdict(at10.joinFromSpawnMs.p99 <= TARGETS.joinAt10Ms)}`)
  }
  for (const r of results) {
    log(`  ${r.nodes} nodes: killed node dead ≤ ${TARGETS.deadAfterKillMs} ms (max ${r.deadAfterKillMs.max} ms): ${verdict(r.deadAfterKillMs.max <= TARGETS.deadAfterKillMs)}; idle RSS ≤ ${TARGETS.idleRssMiB} MiB (max ${r.idleRssMiB.max.toFixed(1)}): ${verdict(r.idleRssMiB.max <= TARGETS.idleRssMiB)}`)
  }

  for (const f of failures) log(`  ${f.nodes} nodes: not measured (${f.error})`)
  await writeResults('membership', { machine, targets: TARGETS, results, failures })
}

main().then(() => process.exit(0), err => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
