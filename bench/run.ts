// `npm run bench`: runs the benchmarks, prints medians and p99 with N and the machine, checks
// the targets from the issues, and writes the results as JSON under bench/results/ (then
// `npm run bench:report` renders them into bench/README.md).
// BENCH_SIZES=3,10 limits the cluster sizes; BENCH_TRIALS scales the trial counts.
// BENCH_ONLY=failover|membership|membership-sim|scheduler|tasks|fleet runs one benchmark. For tasks, BENCH_TASKS_SYSTEMS=
// meshos,bullmq,spawn,launcher,etcd picks the systems (default all) and BENCH_TASKS_SCALE=0.1 shrinks the
// task counts for a quick try (the targets are judged on the full counts only).
import { runFailover } from './failover/run.js'
import { runFleet } from './fleet/run.js'
import { runMembership } from './membership/run.js'
import { runMembershipSim } from './membership-sim/run.js'
import { runScheduler } from './scheduler/run.js'
import { runTasks } from './tasks/run.js'

const log = (line: string): void => {
  process.stdout.write(line + '\n')
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY
  if (only == null || only === 'failover') await runFailover(log)
  if (only == null || only === 'membership') await runMembership(log)
  if (only == null || only === 'membership-sim') await runMembershipSim(log)
  if (only == null || only === 'scheduler') await runScheduler(log)
  if (only == null || only === 'tasks') await runTasks(log)
  if (only == null || only === 'fleet') await runFleet(log)
}

main().then(
  () => process.exit(0),
  err => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  },
)
