// The failover and commit measurements, on any 3-member cluster that offers the Cluster interface.
import type { Log } from '../lib/log.js'
import { summarize, type Summary } from '../lib/stats.js'
import { IDLE_SAMPLES, IDLE_SAMPLE_MS, idleCpuPercent } from './idle.js'

export interface FailoverResult {
  system: 'meshos' | 'etcd 3.4'
  /** Each member's share of one core while the cluster idles, in percent (median of samples). */
  idleCpuPercent: number[]
  failoverMs: Summary
  commitLatencyMs: Summary
  writesPerSecond: number
}

/** What a 3-member cluster must offer the benchmark, whatever runs it. */
export interface Cluster {
  /** Index of the current leader among the members. */
  leader: () => Promise<number>
  /** Writes through member i; resolves when committed. `attemptTimeoutMs` bounds one try, as a
   * client retrying through a failover would (meshos nodes retry internally as well). */
  put: (i: number, key: string, value: string, attemptTimeoutMs?: number) => Promise<void>
  kill: (i: number) => Promise<void>
  restart: (i: number) => Promise<void>
  /** Resolves when all members are back and healthy. */
  healthy: () => Promise<void>
  stop: () => Promise<void>
  /** The members' process ids, for their CPU time. */
  pids: () => number[]
}

/** A client retrying a write during failover gives each attempt this long: short enough not to
 * hide a fast election behind a long timeout, long enough for a commit on a loaded machine. */
const FAILOVER_ATTEMPT_TIMEOUT_MS = 250
const WARMUP_WRITES = 500

export async function measure(
  c: Cluster,
  trials: number,
  writes: number,
  log: Log,
): Promise<Omit<FailoverResult, 'system'>> {
  await c.healthy()
  const idle = await idleCpuPercent(c.pids())
  log(
    `    idle: ${idle.map(p => p.toFixed(2)).join(', ')} % of a core (median of ${IDLE_SAMPLES} x ${IDLE_SAMPLE_MS / 1000} s)`,
  )
  const failover: number[] = []
  for (let t = 0; t < trials; t++) {
    await c.healthy()
    const leader = await c.leader()
    const survivor = (leader + 1) % 3
    const killedAt = performance.now()
    await c.kill(leader)
    // The survivor's write path retries through the election; one call measures the outage.
    for (;;) {
      try {
        await c.put(survivor, `failover-${t}`, 'x', FAILOVER_ATTEMPT_TIMEOUT_MS)
        break
      } catch {
        if (performance.now() - killedAt > 30_000)
          throw new Error('no write committed within 30 s of killing the leader')
      }
    }
    failover.push(performance.now() - killedAt)
    await c.restart(leader)
  }
  await c.healthy()
  const follower = ((await c.leader()) + 1) % 3
  // Untimed warm-up: the nodes restarted by the failover trials run cold code (V8 compiles the
  // write path as it gets hot; the first ~500 writes through a fresh meshos cluster measured
  // 6.4 ms p50, the next 4.3 ms). Every system gets the same warm-up.
  for (let i = 0; i < WARMUP_WRITES; i++) await c.put(follower, `warm-${i % 100}`, String(i))
  const latency: number[] = []
  for (let i = 0; i < writes; i++) {
    const start = performance.now()
    await c.put(follower, `lat-${i % 100}`, String(i))
    latency.push(performance.now() - start)
  }
  const inFlight = 16
  let next = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < writes) {
        const i = next++
        await c.put(follower, `tp-${i % 100}`, String(i))
      }
    }),
  )
  const writesPerSecond = writes / ((performance.now() - start) / 1000)
  log(`    ${trials} failovers, ${WARMUP_WRITES} warm-up, ${writes} sequential and ${writes} concurrent writes done`)
  return { idleCpuPercent: idle, failoverMs: summarize(failover), commitLatencyMs: summarize(latency), writesPerSecond }
}
