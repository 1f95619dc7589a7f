// Membership benchmark: clusters of real meshos processes on loopback. Per cluster size:
//  - join: from the spawn of one more node until every node has logged every other as alive;
//  - death: from SIGKILL of that node until every survivor has logged it dead;
//  - idle RSS and CPU per node, next to bare libp2p processes (same transports and gossipsub,
//    publishing once a second) measured in the same run.
// Event times come from the nodes' own logs (same machine, same clock), so no HTTP polling
// loads the cluster while it is being measured.
import { AgentProcess } from '../../harness/agent-process.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import type { Log } from '../lib/log.js'
import { summarize, type Summary } from '../lib/stats.js'
import { cpuPercent, rssMiB } from '../lib/proc.js'
import { bareLibp2pCluster } from './bare-libp2p.js'

export interface MembershipSizeResult {
  nodes: number
  processes: 'separate'
  joinFromSpawnMs: Summary
  joinFromReadyMs: Summary
  deadAfterKillMs: Summary
  idleRssMiB: Summary
  idleCpuPercent: Summary
  bareLibp2pRssMiB: Summary
  bareLibp2pCpuPercent: Summary
}

interface StateEvent {
  time: number
  /** The member whose state changed. */
  peer: string
  to: string
}

function stateEvents(agent: AgentProcess): StateEvent[] {
  const out: StateEvent[] = []
  for (const line of agent.logs.split('\n')) {
    if (!line.includes('member state changed')) continue
    try {
      const e = JSON.parse(line) as StateEvent
      out.push({ time: e.time, peer: e.peer, to: e.to })
    } catch {}
  }
  return out
}

/** Latest time each observer logged `subject` entering `state` at or after `sinceMs`; null if
 * some observer has not yet. */
function allSaw(observers: AgentProcess[], subject: string, state: string, sinceMs: number): number | null {
  let latest = 0
  for (const o of observers) {
    const hit = stateEvents(o)
      .filter(e => e.peer === subject && e.to === state && e.time >= sinceMs)
      .pop()
    if (hit == null) return null
    latest = Math.max(latest, hit.time)
  }
  return latest
}

async function until<T>(what: string, probe: () => T | null, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = probe()
    if (v != null) return v
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** Starts `count` agents bootstrapping from `first`, a few at a time so start-up CPU (each
 * process spends ~1 s importing) does not starve the running nodes' heartbeats. */
async function startMany(first: AgentProcess, count: number, dirs: TempDirs, prefix: string): Promise<AgentProcess[]> {
  const out: AgentProcess[] = []
  const batch = 3
  for (let i = 0; i < count; i += batch) {
    const started = await Promise.allSettled(
      Array.from(
        { length: Math.min(batch, count - i) },
        async (_, j) =>
          await AgentProcess.start({
            name: `${prefix}${i + j + 2}`,
            dataDir: await dirs.make('meshos-bench-'),
            bootstrap: [first.addr],
          }),
      ),
    )
    for (const s of started) if (s.status === 'fulfilled') out.push(s.value)
    const failed = started.find(s => s.status === 'rejected')
    if (failed != null) {
      await Promise.all(
        out.map(async a => {
          await a.kill()
        }),
      )
      throw failed.reason
    }
  }
  return out
}

async function converged(agents: AgentProcess[], sinceMs: number, timeoutMs: number): Promise<void> {
  await until(
    `${agents.length} nodes to converge`,
    () => {
      for (const subject of agents) {
        const others = agents.filter(a => a !== subject)
        if (others.length > 0 && allSaw(others, subject.peerId, 'alive', sinceMs) == null) return null
      }
      return true
    },
    timeoutMs,
  )
}

/** How long idle CPU is measured over, per cluster. */
export const IDLE_WINDOW_MS = 10_000

export async function benchMembershipSize(n: number, trials: number, log: Log): Promise<MembershipSizeResult> {
  const dirs = new TempDirs()
  const agents: AgentProcess[] = []
  /** Every agent this run started, so a failure never leaves one running. */
  const started: AgentProcess[] = []
  try {
    const t0 = Date.now()
    const first = await AgentProcess.start({ name: 'b1', dataDir: await dirs.make('meshos-bench-') })
    agents.push(first, ...(await startMany(first, n - 2, dirs, 'b')))
    await converged(agents, t0, 120_000)
    log(`  ${n - 1} nodes up in ${Date.now() - t0} ms; running ${trials} join/kill trials of node ${n}`)

    const joinFromSpawn: number[] = []
    const joinFromReady: number[] = []
    const deadAfterKill: number[] = []
    for (let t = 0; t < trials; t++) {
      const spawnAt = Date.now()
      const newcomer = await AgentProcess.start({
        name: `new${t}`,
        dataDir: await dirs.make('meshos-bench-'),
        bootstrap: [first.addr],
      })
      started.push(newcomer)
      const readyAt = Date.now()
      const seenByAll = await until(
        'everyone to see the newcomer alive',
        () => allSaw(agents, newcomer.peerId, 'alive', spawnAt),
        30_000,
      )
      const newcomerSawAll = await until(
        'the newcomer to see everyone alive',
        () => {
          let latest = 0
          for (const a of agents) {
            const hit = allSaw([newcomer], a.peerId, 'alive', spawnAt)
            if (hit == null) return null
            latest = Math.max(latest, hit)
          }
          return latest
        },
        30_000,
      )
      const joinedAt = Math.max(seenByAll, newcomerSawAll)
      joinFromSpawn.push(joinedAt - spawnAt)
      joinFromReady.push(Math.max(0, joinedAt - readyAt))
      // Let the newcomer settle into the steady state before killing it.
      await new Promise(resolve => setTimeout(resolve, 1000))
      const killAt = Date.now()
      newcomer.signal('SIGKILL')
      const deadAt = await until(
        'every survivor to mark the node dead',
        () => allSaw(agents, newcomer.peerId, 'dead', killAt),
        30_000,
      )
      deadAfterKill.push(deadAt - killAt)
      await newcomer.waitExit()
    }

    // Idle resources with the full n nodes running.
    const last = await AgentProcess.start({
      name: `b${n}`,
      dataDir: await dirs.make('meshos-bench-'),
      bootstrap: [first.addr],
    })
    agents.push(last)
    await converged(agents, t0, 60_000)
    await new Promise(resolve => setTimeout(resolve, 3000))
    const pids = agents.map(a => a.pid)
    const cpu = await cpuPercent(pids, IDLE_WINDOW_MS)
    const rss = await Promise.all(pids.map(rssMiB))
    for (const a of agents) await a.kill()

    const bare = await bareLibp2pCluster(n)
    let bareCpu: number[], bareRss: number[]
    try {
      await new Promise(resolve => setTimeout(resolve, 3000))
      bareCpu = await cpuPercent(bare.pids, IDLE_WINDOW_MS)
      bareRss = await Promise.all(bare.pids.map(rssMiB))
    } finally {
      await bare.stop()
    }

    return {
      nodes: n,
      processes: 'separate',
      joinFromSpawnMs: summarize(joinFromSpawn),
      joinFromReadyMs: summarize(joinFromReady),
      deadAfterKillMs: summarize(deadAfterKill),
      idleRssMiB: summarize(rss),
      idleCpuPercent: summarize(cpu),
      bareLibp2pRssMiB: summarize(bareRss),
      bareLibp2pCpuPercent: summarize(bareCpu),
    }
  } finally {
    await Promise.all(
      [...agents, ...started].map(async a => {
        await a.kill()
      }),
    )
    await dirs.cleanup()
  }
}
