// Fleet benchmark: one fleet of real meshos agents on loopback (default --voters 5 --standbys 2,
// so most are workers without the Raft log), grown through 3, 10, 30 and 50 nodes, then put
// through the scenarios of the fleet test (harness/fleet-scenarios.ts) at full size:
//  - at each size: the time from the last start until every node has logged every other alive,
//    then idle CPU (% of a core, from /proc/<pid>/stat) and RSS per node;
//  - at full size: suspect/dead transitions over an idle minute; 1,000 tasks through a worker;
//    SIGKILL of 5 workers and then of the leader while tasks run; SIGSTOP and SIGCONT of a worker.
// Then as many bare libp2p processes are grown through the same sizes and measured the same way.
// Membership times come from the agents' own logs (same machine, same clock): watching fifty
// nodes costs them no HTTP request.
import os from 'node:os'
import path from 'node:path'
import { Fleet } from '../../harness/fleet.js'
import { freezeAndThaw, killWhileRunning, spreadTasks } from '../../harness/fleet-scenarios.js'
import { waitFor } from '../../harness/wait-for.js'
import type { Log } from '../lib/log.js'
import { cpuPercent, rssMiB } from '../lib/proc.js'
import { summarize, type Summary } from '../lib/stats.js'
import { BareFleet } from './bare-fleet.js'

/** How long idle CPU is measured over, at each size. */
export const IDLE_CPU_WINDOW_MS = 10_000
/** The idle window at full size in which no node may suspect another. */
export const IDLE_WINDOW_MS = 60_000
/** Bounds that keep a failure from hanging the benchmark; the goals are judged separately. */
const CONVERGE_BOUND_MS = 120_000
/** 50 agents idle at ~6% of a core each more than fill 2 cores: a newcomer then imports slowly. */
const START_BOUND_MS = 120_000
const DEAD_BOUND_MS = 30_000
const TASKS_BOUND_MS = 300_000

export interface FleetPlan {
  sizes: number[]
  tasks: number
  killedWorkers: number
}

export interface FleetSizeResult {
  nodes: number
  /** From the spawn of the last agent until every node had logged every other alive; null when
   * that did not happen within the bound. */
  allAliveAfterLastStartMs: number | null
  idleCpuPercent: Summary
  idleRssMiB: Summary
  bareLibp2pCpuPercent: Summary | null
  bareLibp2pRssMiB: Summary | null
}

export interface FleetTasksResult {
  submitted: number
  succeeded: number
  submitMs: number
  doneMs: number
  nodesUsed: number
  perNode: Summary
}

export interface FleetKillResult {
  workersKilled: number
  /** From SIGKILL until every survivor had logged the node dead, per victim. */
  workerDeadMs: number[]
  leaderDeadMs: number | null
  newLeaderMs: number | null
  acknowledged: number
  succeeded: number
  rerun: number
  victimsWithRerun: number
  problems: string[]
  refusedBatches: number
  unansweredBatches: number
}

export interface FleetFreezeResult {
  deadEverywhereMs: number
  aliveEverywhereMs: number
  collateral: string[]
}

export interface FleetResult {
  voters: number
  standbys: number
  sizes: FleetSizeResult[]
  idle: { windowMs: number; nodes: number; falseTransitions: number; examples: string[] } | null
  tasks: FleetTasksResult | null
  kill: FleetKillResult | null
  freeze: FleetFreezeResult | null
  /** What stopped the run early, if anything. */
  error: string | null
  /** Agents that exited on their own. */
  crashed: string[]
}

const load = (): string =>
  os
    .loadavg()
    .map(l => l.toFixed(1))
    .join(' ')

async function idleResources(pids: number[]): Promise<{ cpu: Summary; rss: Summary }> {
  const cpu = await cpuPercent(pids, IDLE_CPU_WINDOW_MS)
  const rss = await Promise.all(pids.map(rssMiB))
  return { cpu: summarize(cpu), rss: summarize(rss) }
}

export async function benchFleet(plan: FleetPlan, log: Log): Promise<FleetResult> {
  const voters = 5
  const standbys = 2
  const full = Math.max(...plan.sizes)
  const result: FleetResult = {
    voters,
    standbys,
    sizes: [],
    idle: null,
    tasks: null,
    kill: null,
    freeze: null,
    error: null,
    crashed: [],
  }
  const fleet = new Fleet({ size: full, voters, standbys, namePrefix: 'n', startTimeoutMs: START_BOUND_MS })
  let idleFrom = 0
  try {
    for (const n of plan.sizes) {
      await fleet.grow(n)
      const lastStart = fleet.lastSpawnAtMs
      let allAlive: number | null = null
      try {
        allAlive = await fleet.waitAllIn(fleet.agents, fleet.agents, 'alive', 0, CONVERGE_BOUND_MS)
      } catch (err) {
        result.error = (err as Error).message.slice(0, 2000)
      }
      // The idle minute at full size starts here, so its first seconds measure CPU and RSS too.
      // A size that never converged is measured all the same: what it costs is what stopped it.
      idleFrom = Date.now()
      const r = await idleResources(fleet.agents.map(a => a.pid))
      result.sizes.push({
        nodes: n,
        allAliveAfterLastStartMs: allAlive === null ? null : allAlive - lastStart,
        idleCpuPercent: r.cpu,
        idleRssMiB: r.rss,
        bareLibp2pCpuPercent: null,
        bareLibp2pRssMiB: null,
      })
      log(
        `  ${n} nodes: ${allAlive === null ? `not all alive within ${CONVERGE_BOUND_MS} ms` : `all alive ${allAlive - lastStart} ms`} after the last start; idle CPU median ` +
          `${r.cpu.median.toFixed(1)}% (max ${r.cpu.max.toFixed(1)}), RSS median ${r.rss.median.toFixed(1)} MiB ` +
          `(max ${r.rss.max.toFixed(1)}); load ${load()}`,
      )
      if (allAlive === null) throw new Error(result.error ?? 'no convergence')
    }

    await new Promise(resolve => setTimeout(resolve, idleFrom + IDLE_WINDOW_MS - Date.now()))
    const falses = fleet.failureTransitions(idleFrom, Date.now())
    result.idle = {
      windowMs: IDLE_WINDOW_MS,
      nodes: full,
      falseTransitions: falses.length,
      examples: falses.slice(0, 10).map(t => fleet.describe(t)),
    }
    log(`  ${IDLE_WINDOW_MS / 1000} s idle at ${full} nodes: ${falses.length} suspect/dead transitions; load ${load()}`)

    const roles = await waitFor(
      'the roles to settle',
      async () => (await fleet.settledRoles()) ?? undefined,
      60_000,
      500,
    )
    const workers = fleet.agents.filter(a => roles.get(a) === 'worker')
    const via = workers[0]!
    const spread = await spreadTasks(via, plan.tasks, { batch: 100, timeoutMs: TASKS_BOUND_MS })
    const mine = spread.ids.map(id => spread.tasks.get(id)!)
    const counts = fleet.agents.map(a => spread.perNode.get(a.peerId) ?? 0)
    result.tasks = {
      submitted: spread.ids.length,
      succeeded: mine.filter(t => t.state === 'succeeded').length,
      submitMs: spread.submitMs,
      doneMs: spread.doneMs,
      nodesUsed: counts.filter(c => c > 0).length,
      perNode: summarize(counts),
    }
    log(
      `  ${plan.tasks} tasks through worker ${via.opts.name}: ${result.tasks.succeeded} succeeded on ` +
        `${result.tasks.nodesUsed} nodes (per node min ${result.tasks.perNode.min}, max ${result.tasks.perNode.max}); ` +
        `acknowledged in ${spread.submitMs} ms, all done in ${spread.doneMs} ms; load ${load()}`,
    )

    const kill = await killWhileRunning(fleet, {
      via,
      workers: workers.slice(1, 1 + plan.killedWorkers),
      killLeader: true,
      preload: 2 * full,
      deadTimeoutMs: DEAD_BOUND_MS,
      finishTimeoutMs: TASKS_BOUND_MS,
    })
    result.kill = {
      workersKilled: kill.victims.filter(v => v.role === 'worker').length,
      workerDeadMs: kill.victims.filter(v => v.role === 'worker').map(v => v.deadEverywhereMs),
      leaderDeadMs: kill.victims.find(v => v.role === 'leader')?.deadEverywhereMs ?? null,
      newLeaderMs: kill.newLeaderMs,
      acknowledged: kill.submitted,
      succeeded: kill.check.succeeded,
      rerun: kill.check.rerun,
      victimsWithRerun: kill.check.victimsWithRerun.size,
      problems: kill.check.problems.slice(0, 10),
      refusedBatches: kill.refusedBatches,
      unansweredBatches: kill.unansweredBatches,
    }
    log(
      `  SIGKILL ${result.kill.workersKilled} workers → dead on every survivor in ` +
        `${result.kill.workerDeadMs.join(', ')} ms; then the leader → dead in ${result.kill.leaderDeadMs} ms, ` +
        `new leader agreed in ${result.kill.newLeaderMs} ms; ${result.kill.acknowledged} acknowledged, ` +
        `${result.kill.succeeded} succeeded, ${result.kill.rerun} rerun, ${kill.check.problems.length} problems; load ${load()}`,
    )

    const target = fleet.running().find(a => roles.get(a) === 'worker' && a !== via)!
    const freeze = await freezeAndThaw(fleet, target, { deadTimeoutMs: DEAD_BOUND_MS, aliveTimeoutMs: DEAD_BOUND_MS })
    result.freeze = {
      deadEverywhereMs: freeze.deadEverywhereMs,
      aliveEverywhereMs: freeze.aliveEverywhereMs,
      collateral: freeze.collateral.slice(0, 10).map(t => fleet.describe(t)),
    }
    log(
      `  SIGSTOP a worker → dead on every other node in ${freeze.deadEverywhereMs} ms; SIGCONT → alive ` +
        `again in ${freeze.aliveEverywhereMs} ms; ${freeze.collateral.length} transitions of other nodes; load ${load()}`,
    )
  } catch (err) {
    // Reported, not hidden: what was measured before the failure is kept.
    result.error ??= (err as Error).message.slice(0, 2000)
    log(`  FAILED: ${result.error} (load ${load()})`)
  } finally {
    result.crashed = fleet.crashed()
    const troubled =
      result.error !== null ||
      result.crashed.length > 0 ||
      (result.idle?.falseTransitions ?? 0) > 0 ||
      (result.kill?.problems.length ?? 0) > 0 ||
      (result.freeze?.collateral.length ?? 0) > 0
    if (troubled) {
      const file = path.join(os.tmpdir(), `meshos-fleet-${new Date().toISOString().replace(/[:.]/g, '-')}.log`)
      await fleet.saveLogs(file)
      log(
        `  agents' logs saved to ${file}${result.crashed.length > 0 ? `; crashed: ${result.crashed.join(', ')}` : ''}`,
      )
    }
    await fleet.cleanup()
  }

  const bare = new BareFleet()
  try {
    for (const r of result.sizes) {
      await bare.grow(r.nodes)
      // Let the newest processes finish connecting and forming their gossipsub mesh.
      await new Promise(resolve => setTimeout(resolve, 3000))
      const b = await idleResources(bare.pids)
      r.bareLibp2pCpuPercent = b.cpu
      r.bareLibp2pRssMiB = b.rss
      log(
        `  ${r.nodes} bare libp2p processes: idle CPU median ${b.cpu.median.toFixed(1)}%, RSS median ` +
          `${b.rss.median.toFixed(1)} MiB; load ${load()}`,
      )
    }
  } catch (err) {
    // A saturated machine may fail a bare node's dial: the sizes measured so far are kept.
    log(`  bare libp2p: stopped (${(err as Error).message}); load ${load()}`)
  } finally {
    await bare.stop()
  }
  return result
}
