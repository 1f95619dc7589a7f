// etcd 3.4 beside the tasks benchmark: the commit latency of one small write at a time through a
// follower of 3 members, measured in the same run as meshos. A task submitted through a node that
// does not lead is at least such a commit plus a spawn, so this and the spawn floors are what the
// unloaded submit→start latency is set against (issue 15).
import { TempDirs } from '../../harness/temp-dirs.js'
import { startEtcd } from '../failover/etcd.js'
import type { Log } from '../lib/log.js'
import { summarize, type Summary } from '../lib/stats.js'
import type { TasksPlan } from './plan.js'

/** Null when the etcd binary is not installed. */
export async function etcdCommitViaFollower(plan: TasksPlan, log: Log): Promise<Summary | null> {
  const dirs = new TempDirs()
  const etcd = await startEtcd(dirs)
  if (etcd == null) return null
  try {
    await etcd.healthy()
    const follower = ((await etcd.leader()) + 1) % 3
    for (let i = 0; i < plan.etcdWarmupWrites; i++) await etcd.put(follower, `warm-${i % 100}`, String(i))
    const latency: number[] = []
    for (let i = 0; i < plan.etcdWrites; i++) {
      const start = performance.now()
      await etcd.put(follower, `lat-${i % 100}`, String(i))
      latency.push(performance.now() - start)
    }
    log(`  etcd 3.4: 3 members on 127.0.0.1; ${plan.etcdWrites} writes through a follower, one at a time`)
    return summarize(latency)
  } finally {
    await etcd.stop()
  }
}
