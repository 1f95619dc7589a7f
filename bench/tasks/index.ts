// Tasks benchmark: meshos on 4 local nodes (3 voters and a worker) next to BullMQ + Redis, the
// machine's raw spawn floors and etcd's commit, in the same run. Every task is `/bin/true` (argv, no shell), so the figures are the
// systems' own overhead around the cheapest possible process.
//  - submit→start latency: 1,000 tasks submitted open-loop at 100/s (one every 10 ms whatever
//    the completions), one per request. meshos: HTTP POST on a worker; latency = the task's
//    startedAt (set by the worker when the process spawned) − the client's clock just before the
//    POST (performance.timeOrigin + performance.now()). BullMQ: queue.add → the worker's 'spawn'
//    event time, reported back as the job's return value. Spawn floor: spawn() → 'spawn' event.
//    Same machine, so one clock; 20 untimed warm-up tasks go first.
//  - throughput: 5,000 tasks submitted as fast as the system accepts them, in batches of 100
//    with 4 batches in flight (meshos: POST of an array on the worker; BullMQ: addBulk),
//    timed from the first submit to the moment a poll (every 20 ms) sees all 5,000 succeeded.
//    Spawn floor: this process spawning /bin/true itself, 8 in flight, 5,000 times, with Node's
//    child_process (the floor) and again through meshos-launcher (posix_spawn, what the
//    meshos executor uses; its log files are written to a temp dir as the executor's are).
//  - memory: the meshos cluster is topped up to 10,000 finished tasks, then the RSS of the
//    leader, a follower and the worker is read; for BullMQ, redis-server's and one worker's RSS
//    holding the jobs of the runs above (not topped up, to keep the run short).
//  - CPU per task: CPU time (/proc) of the system's processes over each run, divided by its tasks;
//    for meshos also per process, and the agents' idle CPU read before the first task.
//  - beside them, in the same run: etcd 3.4's commit latency through a follower (etcd.ts), the
//    floor of any write through a node that does not lead.
// meshos submits through a worker (a node holding no Raft log), then repeats the latency runs
// through a follower (meshos.ts). Each system is driven by its own file (meshos.ts, bullmq.ts,
// floors.ts) through the same measurement loop (measure.ts).
import { LAUNCHER_PATH, launcherAvailable } from '../../src/executor/spawn/spawner.js'
import type { Log } from '../lib/log.js'
import type { Summary } from '../lib/stats.js'
import { benchBullmq, redisVersion } from './bullmq.js'
import { benchLauncherFloor, benchNodeSpawnFloor } from './floors.js'
import { etcdCommitViaFollower } from './etcd.js'
import { TaskApiUnavailable, benchMeshos } from './meshos.js'
import { TASKS_SYSTEMS, type TasksPlan, type TasksSystem } from './plan.js'
import { LAUNCHER_FLOOR, type TasksBenchResult, type TasksSystemResult } from './results.js'

export async function benchTasks(systems: TasksSystem[], plan: TasksPlan, log: Log): Promise<TasksBenchResult> {
  const results: TasksSystemResult[] = []
  const skipped: string[] = []
  let etcdCommitViaFollowerMs: Summary | null = null
  for (const system of TASKS_SYSTEMS.filter(s => systems.includes(s))) {
    try {
      if (system === 'etcd') {
        etcdCommitViaFollowerMs = await etcdCommitViaFollower(plan, log)
        if (etcdCommitViaFollowerMs == null)
          skipped.push('etcd 3.4: the etcd binary is not installed (apt-get install etcd-server)')
      } else if (system === 'spawn') {
        results.push(await benchNodeSpawnFloor(plan, log))
      } else if (system === 'launcher') {
        if (!launcherAvailable()) {
          skipped.push(`${LAUNCHER_FLOOR}: meshos-launcher is not built at ${LAUNCHER_PATH}`)
          continue
        }
        results.push(await benchLauncherFloor(plan, log))
      } else if (system === 'meshos') {
        results.push(await benchMeshos(plan, log))
      } else {
        const version = redisVersion()
        if (version == null) {
          skipped.push(`BullMQ: redis-server is not installed (apt-get install redis-server), or set REDIS_SERVER`)
          continue
        }
        results.push(await benchBullmq(plan, log, version))
      }
    } catch (err) {
      // Reported, not hidden, and the other systems still run.
      const why = err instanceof TaskApiUnavailable ? err.message : `${system}: ${(err as Error).message}`
      log(`  ${why}`)
      skipped.push(why)
    }
  }
  return { plan, results, etcdCommitViaFollowerMs, skipped }
}
