// Failover, commit and idle-cost benchmark on 3 local nodes, next to a stock etcd 3.4 cluster in
// the same run:
//  - idle: each member's share of a core while nothing happens (and, for meshos, of a worker);
//  - failover: SIGKILL the leader, then time until a write sent to a survivor commits;
//  - commit latency of small writes through a follower, one at a time;
//  - throughput of small writes through a follower with 16 in flight.
// Both systems get their writes through the same client (node:http with keep-alive, bench/lib/
// http.ts): fetch costs ~1 ms of client CPU per request here, on the same 2 cores as the nodes.
import { TempDirs } from '../../harness/temp-dirs.js'
import type { Log } from '../lib/log.js'
import { startEtcd } from './etcd.js'
import { measure, type FailoverResult } from './measure.js'
import { startMeshos } from './meshos.js'
import { workerIdle, type WorkerIdle } from './idle.js'

export async function benchFailover(
  trials: number,
  writes: number,
  log: Log,
): Promise<{ results: FailoverResult[]; workerIdle: WorkerIdle; skipped: string[] }> {
  const results: FailoverResult[] = []
  const skipped: string[] = []
  for (const system of ['meshos', 'etcd 3.4'] as const) {
    const dirs = new TempDirs()
    const cluster = system === 'meshos' ? await startMeshos(dirs) : await startEtcd(dirs)
    if (cluster == null) {
      skipped.push(`${system}: the etcd binary is not installed (apt-get install etcd-server)`)
      continue
    }
    log(`  ${system}: 3 members on 127.0.0.1`)
    try {
      results.push({ system, ...(await measure(cluster, trials, writes, log)) })
    } finally {
      await cluster.stop()
    }
  }
  log('  meshos: 5 members with --voters 3 --standbys 0 (3 voters, 2 workers), idle')
  const workers = await workerIdle()
  log(
    `    idle: voters ${workers.votersPercent.map(p => p.toFixed(2)).join(', ')} %, workers ${workers.workersPercent.map(p => p.toFixed(2)).join(', ')} %`,
  )
  return { results, workerIdle: workers, skipped }
}
