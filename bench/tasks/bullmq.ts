// BullMQ + Redis in the tasks benchmark: a redis-server without persistence and 3 worker
// processes (bench/baseline/bullmq-worker.ts) with concurrencies 3+3+2, i.e. 8 jobs in flight like
// the spawn floor; each job spawns /bin/true.
import { spawnSync, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { Queue } from 'bullmq'
import { freePort } from '../../harness/free-port.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { mapLimit, sleep } from '../lib/async.js'
import { killChild, spawnUntil } from '../lib/child-processes.js'
import type { Log } from '../lib/log.js'
import { rssMiB, totalCpuSeconds } from '../lib/proc.js'
import { measureQueue, type TaskQueue } from './measure.js'
import type { TasksPlan } from './plan.js'
import type { TasksSystemResult } from './results.js'

/** This file runs as dist/bench/tasks/bullmq.js, the worker as dist/bench/baseline/bullmq-worker.js. */
const WORKER_SCRIPT = fileURLToPath(new URL('../baseline/bullmq-worker.js', import.meta.url))
const REDIS_BIN = process.env.REDIS_SERVER ?? 'redis-server'
const QUEUE = 'bench-tasks'

export function redisVersion(): string | null {
  const r = spawnSync(REDIS_BIN, ['--version'], { encoding: 'utf8' })
  if (r.status !== 0) return null
  return /v=(\S+)/.exec(r.stdout)?.[1] ?? 'unknown'
}

export async function benchBullmq(plan: TasksPlan, log: Log, version: string): Promise<TasksSystemResult> {
  const clientLabel = `ioredis ${(createRequire(import.meta.url)('ioredis/package.json') as { version: string }).version}`
  const bullmqVersion = (createRequire(import.meta.url)('bullmq/package.json') as { version: string }).version
  const dirs = new TempDirs()
  const started: ChildProcess[] = []
  let queue: Queue | null = null
  try {
    const port = await freePort()
    const redis = await spawnUntil(
      REDIS_BIN,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        await dirs.make('bench-redis-'),
        '--daemonize',
        'no',
      ],
      /Ready to accept connections/,
      'redis-server to accept connections',
      10_000,
    )
    started.push(redis)
    started.push(
      ...(await Promise.all(
        plan.bullmqWorkerConcurrency.map(
          async c =>
            await spawnUntil(
              process.execPath,
              [WORKER_SCRIPT, String(port), QUEUE, String(c)],
              /^ready$/m,
              'a BullMQ worker to be ready',
              30_000,
            ),
        ),
      )),
    )
    const workers = started.slice(1)
    log(
      `  BullMQ ${bullmqVersion}: redis-server ${version} on 127.0.0.1:${port}, ${workers.length} worker processes (concurrency ${plan.bullmqWorkerConcurrency.join('+')}), Redis client: ${clientLabel}`,
    )
    const qu = new Queue(QUEUE, {
      connection: { host: '127.0.0.1', port },
      defaultJobOptions: { attempts: 1, removeOnComplete: false, removeOnFail: false },
    })
    queue = qu
    await qu.waitUntilReady()
    const q: TaskQueue = {
      submit: async () => {
        const job = await qu.add('true', {})
        if (job.id == null) throw new Error('queue.add returned a job without id')
        return job.id
      },
      submitBatch: async n => {
        await qu.addBulk(Array.from({ length: n }, () => ({ name: 'true', data: {} })))
      },
      finished: async () => {
        const c = await qu.getJobCounts('completed', 'failed')
        return { succeeded: c.completed ?? 0, failed: c.failed ?? 0 }
      },
      failureDetail: async () => (await qu.getFailed(0, 0))[0]?.failedReason ?? 'none listed',
      startedAt: async ids =>
        await mapLimit(ids, 8, async id => Number((await qu.getJob(id))?.returnvalue?.startedAt ?? NaN)),
      rss: async () => ({ 'redis-server': await rssMiB(redis.pid!), 'one worker': await rssMiB(workers[0]!.pid!) }),
      cpuSeconds: async () => await totalCpuSeconds(started.map(c => c.pid!)),
      processes: `redis-server and ${workers.length} workers`,
    }
    // Not topped up to heldTasks (a minute of spawning on a small machine, and the issue asks
    // for meshos only): its RSS is read holding the jobs of the runs above.
    return await measureQueue(
      `BullMQ ${bullmqVersion} + Redis ${version}`,
      "queue.add → worker's spawn event",
      q,
      plan,
      null,
      log,
      [
        `${workers.length} worker processes, concurrency ${plan.bullmqWorkerConcurrency.join('+')}`,
        `Redis client: ${clientLabel}`,
        "redis-server --save '' --appendonly no (no persistence)",
      ],
    )
  } finally {
    await Promise.race([queue?.close(), sleep(5000)]).catch(() => {})
    await Promise.all(started.map(killChild))
    await dirs.cleanup()
  }
}
