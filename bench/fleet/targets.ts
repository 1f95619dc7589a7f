// The fleet goals (issue 15, "50 real nodes on this machine"), and how a run is judged against
// them. A goal whose scenario did not run is judged missed, never left out.
import type { Judged } from '../lib/verdict.js'
import type { FleetResult } from './index.js'

export const FLEET_TARGETS = {
  nodes: 50,
  allAliveAfterLastStartMs: 30_000,
  idleFalseTransitions: 0,
  tasks: 1000,
  killedWorkers: 5,
  killedDeadMs: 5000,
  frozenDeadMs: 8000,
}

export type FleetTargets = typeof FLEET_TARGETS

export function judgeFleet(t: FleetTargets, r: FleetResult): Judged[] {
  const full = r.sizes.find(s => s.nodes === t.nodes)
  const out: Judged[] = []
  const converge = full?.allAliveAfterLastStartMs ?? NaN
  out.push({
    target: `every node sees ${t.nodes} alive ≤ ${t.allAliveAfterLastStartMs / 1000} s after the last start`,
    value: converge,
    shown: full === undefined ? 'not measured' : Number.isNaN(converge) ? 'never' : `${converge} ms`,
    pass: converge <= t.allAliveAfterLastStartMs,
  })
  const falses = r.idle?.falseTransitions ?? NaN
  out.push({
    target: `${t.idleFalseTransitions} suspect/dead transitions over ${(r.idle?.windowMs ?? 60_000) / 1000} s idle`,
    value: falses,
    shown: r.idle === null ? 'not measured' : String(falses),
    pass: falses <= t.idleFalseTransitions,
  })
  const tasks = r.tasks
  out.push({
    target: `${t.tasks} tasks through a worker all succeed, on every node`,
    value: tasks?.succeeded ?? NaN,
    shown: tasks === null ? 'not measured' : `${tasks.succeeded} of ${tasks.submitted} on ${tasks.nodesUsed} nodes`,
    pass: tasks !== null && tasks.submitted === t.tasks && tasks.succeeded === t.tasks && tasks.nodesUsed === t.nodes,
  })
  const k = r.kill
  const deadMax = k === null ? NaN : Math.max(...k.workerDeadMs, k.leaderDeadMs ?? Infinity)
  out.push({
    target: `SIGKILL ${t.killedWorkers} workers, then the leader: dead on every survivor ≤ ${t.killedDeadMs} ms`,
    value: deadMax,
    shown: k === null ? 'not measured' : `max ${deadMax} ms`,
    pass: k !== null && k.workersKilled === t.killedWorkers && deadMax <= t.killedDeadMs,
  })
  out.push({
    target: 'their tasks rerun, nothing acknowledged lost',
    value: k?.problems.length ?? NaN,
    shown:
      k === null
        ? 'not measured'
        : `${k.succeeded} of ${k.acknowledged} succeeded, ${k.rerun} rerun, ${k.problems.length} problems`,
    pass:
      k !== null &&
      k.problems.length === 0 &&
      k.succeeded === k.acknowledged &&
      k.victimsWithRerun === t.killedWorkers + 1,
  })
  const f = r.freeze
  out.push({
    target: `SIGSTOP a worker: dead on every other node ≤ ${t.frozenDeadMs} ms, alive again after SIGCONT`,
    value: f?.deadEverywhereMs ?? NaN,
    shown: f === null ? 'not measured' : `dead in ${f.deadEverywhereMs} ms, alive in ${f.aliveEverywhereMs} ms`,
    pass: f !== null && f.deadEverywhereMs <= t.frozenDeadMs && f.collateral.length === 0,
  })
  return out
}

/** "PASS" or "MISS": these are goals of an open issue, measured on a shared machine. */
export function goalVerdict(pass: boolean): string {
  return pass ? 'PASS' : 'MISS'
}
