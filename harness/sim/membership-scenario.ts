// The membership scenario measured by the simulation test and the membership bench: a converged
// cluster idles (traffic, false suspicions with message loss), a node joins (how fast everyone
// knows), a node crashes (how fast everyone declares it dead), and some nodes turn slow (false
// suspicions again). One seeded run; every figure comes from the simulated network.
import type { MembershipCoreConfig } from '../../src/gossip/core/config.js'
import { MembershipSim, DEFAULT_SIM_NETWORK, type SimNetwork } from './membership-sim.js'

export interface ScenarioOptions {
  nodes: number
  seed: number
  config: MembershipCoreConfig
  network?: SimNetwork
  /** Simulated seconds of idling measured for traffic and false positives. */
  steadySeconds: number
  /** Share of nodes slowed in the last phase. */
  slowFraction: number
  slowSeconds: number
}

export interface ScenarioResult {
  nodes: number
  seed: number
  /** Per node per second, during the idle phase. */
  msgsPerNodePerSecond: number
  bytesPerNodePerSecond: number
  maxActiveView: number
  /** Live nodes wrongly suspected / declared dead while idling with message loss. */
  falseSuspects: number
  falseDeaths: number
  /** ms from the join until 99% / 100% of the nodes know the new node (null: not within the limit). */
  joinKnownBy99Ms: number | null
  joinKnownByAllMs: number | null
  /** ms from the crash until 99% / 100% of the survivors declare it dead. */
  crashDeadBy99Ms: number | null
  crashDeadByAllMs: number | null
  /** With slowFraction of the nodes slowed: false suspicions / deaths of live nodes. */
  slowFalseSuspects: number
  slowFalseDeaths: number
  /** Wall-clock seconds the simulation took. */
  wallSeconds: number
}

const JOIN_LIMIT_MS = 30_000
const CRASH_LIMIT_MS = 30_000

/** Time until `fraction` of `observers` satisfy `known`, checked every `stepMs` of simulated time. */
function timeUntil(
  sim: MembershipSim,
  startMs: number,
  limitMs: number,
  stepMs: number,
  observers: () => string[],
  known: (observer: string) => boolean,
): { p99: number | null; all: number | null } {
  let p99: number | null = null
  for (let t = startMs + stepMs; t <= startMs + limitMs; t += stepMs) {
    sim.runUntil(t)
    const obs = observers()
    const count = obs.filter(known).length
    if (p99 === null && count >= Math.ceil(0.99 * obs.length)) p99 = t - startMs
    if (count === obs.length) return { p99, all: t - startMs }
  }
  return { p99, all: null }
}

export function runMembershipScenario(opts: ScenarioOptions): ScenarioResult {
  const wallStart = performance.now()
  const sim = new MembershipSim(opts.seed, opts.config, opts.network ?? DEFAULT_SIM_NETWORK)
  // Only what the scenario counts: wrong verdicts about live nodes, and the two subjects below.
  let watched = new Set<string>()
  sim.recordTransitions = t => watched.has(t.nodeId) || t.to === 'suspect' || t.to === 'dead'
  const ids = sim.startConverged(opts.nodes)
  const stepMs = 50

  // Warm-up: probe phases spread out, the first anti-entropy rounds pass.
  sim.runUntil(5_000)
  sim.takeTraffic()
  sim.transitions.length = 0
  const steadyStart = sim.now
  sim.runUntil(steadyStart + opts.steadySeconds * 1000)
  const traffic = sim.takeTraffic()
  const falseSuspects = sim.transitions.filter(t => t.to === 'suspect').length
  const falseDeaths = sim.transitions.filter(t => t.to === 'dead').length

  // Join through a random member.
  const joiner = MembershipSim.nodeId(opts.nodes)
  watched = new Set([joiner])
  sim.transitions.length = 0
  const joinAt = sim.now
  sim.join(joiner, [ids[Math.floor(opts.nodes / 2)]!])
  const others = (): string[] =>
    sim
      .upNodes()
      .map(n => n.id)
      .filter(id => id !== joiner)
  const join = timeUntil(sim, joinAt, JOIN_LIMIT_MS, stepMs, others, o => sim.stateOf(o, joiner) === 'alive')

  // Crash one member.
  const victim = ids[1]!
  watched = new Set([victim])
  sim.transitions.length = 0
  const crashAt = sim.now
  sim.crash(victim)
  const crash = timeUntil(
    sim,
    crashAt,
    CRASH_LIMIT_MS,
    stepMs,
    () => sim.upNodes().map(n => n.id),
    o => sim.stateOf(o, victim) === 'dead',
  )
  sim.runUntil(sim.now + 5_000) // let the cluster settle after the crash

  // Slow nodes: their answers come late; none of them (nor anyone else) may be declared dead.
  watched = new Set()
  sim.transitions.length = 0
  const up = sim.upNodes().map(n => n.id)
  const slowCount = Math.round(opts.slowFraction * up.length)
  for (let i = 0; i < slowCount; i++) sim.slowDown(up[(i * 7919) % up.length]!)
  sim.runUntil(sim.now + opts.slowSeconds * 1000)
  const slowFalse = sim.transitions.filter(t => t.nodeId !== victim)

  return {
    nodes: opts.nodes,
    seed: opts.seed,
    msgsPerNodePerSecond: traffic.msgs / traffic.nodes / opts.steadySeconds,
    bytesPerNodePerSecond: traffic.bytes / traffic.nodes / opts.steadySeconds,
    maxActiveView: sim.maxActiveView(),
    falseSuspects,
    falseDeaths,
    joinKnownBy99Ms: join.p99,
    joinKnownByAllMs: join.all,
    crashDeadBy99Ms: crash.p99,
    crashDeadByAllMs: crash.all,
    slowFalseSuspects: slowFalse.filter(t => t.to === 'suspect').length,
    slowFalseDeaths: slowFalse.filter(t => t.to === 'dead').length,
    wallSeconds: (performance.now() - wallStart) / 1000,
  }
}
