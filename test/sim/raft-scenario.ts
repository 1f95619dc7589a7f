// One randomized simulation run, fully determined by its seed: a chaos phase
// (drops, delays, duplicates, reordering, partitions, crashes and restarts,
// proposals, optionally compaction and membership changes) with safety
// checked after every event, then a calm phase that must reach liveness: a
// leader, and a final proposal applied by every member of the final config.

import { ConfigChangeError, NotLeaderError } from '../../src/election/core/raft-errors.js'
import { RaftCore } from '../../src/election/core/raft.js'
import type { NodeId } from '../../src/election/core/types.js'
import { Prng } from '../../harness/sim/prng.js'
import { SafetyChecker } from './raft-invariants.js'
import { RaftNetwork, type NetworkFaults } from './raft-network.js'

export interface ScenarioOptions {
  seed: number
  voterCount: number
  /** Steps of the chaos phase; every live node ticks about once per step. */
  chaosSteps: number
  /** Budget of the calm phase to elect a leader and commit the final proposal. */
  calmSteps: number
  /** Add a spare node as learner, promote it, then remove another voter. */
  configChange: boolean
  /** Nodes snapshot and compact their logs, so lagging ones get InstallSnapshot. */
  compaction: boolean
  faults: NetworkFaults
  /** Per-step probability of each kind of disruption, scaled per seed. */
  chaos: { partition: number; heal: number; crash: number; restart: number; propose: number }
  /** Safety must hold without these too; some seeds turn them off. */
  preVote: boolean
  checkQuorum: boolean
  /** Small batches make leaders replicate old-term entries without their own (Figure 8). */
  maxEntriesPerAppend: number
}

export interface ScenarioResult {
  seed: number
  steps: number
  terms: number
  committedIndex: number
  messagesDelivered: number
  snapshotsInstalled: number
  finalConfig: { voters: NodeId[]; learners: NodeId[] }
}

/** The variant a seed runs, derived from the seed alone so `SEED=n` replays it. */
export function scenarioForSeed(seed: number, overrides: Partial<ScenarioOptions> = {}): ScenarioOptions {
  const rng = new Prng(seed ^ 0x5eed)
  const intensity = 0.5 + 2 * rng.next() // some seeds calm, some stormy
  return {
    seed,
    voterCount: rng.chance(0.5) ? 3 : 5,
    chaosSteps: 400,
    calmSteps: 400,
    configChange: rng.chance(0.35),
    compaction: rng.chance(0.4),
    faults: { dropRate: 0.2 * rng.next(), duplicateRate: 0.05 * rng.next(), maxDelaySteps: rng.int(4) },
    chaos: {
      partition: 0.02 * intensity,
      heal: 0.03,
      crash: 0.02 * intensity,
      restart: 0.05,
      propose: 0.1 + 0.2 * rng.next(),
    },
    preVote: !rng.chance(0.15),
    checkQuorum: !rng.chance(0.15),
    maxEntriesPerAppend: rng.pick([1, 2, 4, 64]),
    ...overrides,
  }
}

export function runScenario(options: ScenarioOptions): ScenarioResult {
  try {
    return runUnchecked(options)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const replay = new Error(`raft sim seed ${options.seed} failed (replay with SEED=${options.seed}): ${message}`)
    if (error instanceof Error && error.stack) replay.stack = `${replay.message}\n${error.stack}`
    throw replay
  }
}

function runUnchecked(options: ScenarioOptions): ScenarioResult {
  const { seed, voterCount } = options
  const checker = new SafetyChecker()
  const voters = Array.from({ length: voterCount }, (_, i) => `n${i + 1}`)
  const spare = `n${voterCount + 1}`
  const net = RaftNetwork.cluster(voters, {
    seed,
    faults: options.faults,
    observer: checker,
    raft: {
      maxEntriesPerAppend: options.maxEntriesPerAppend,
      preVote: options.preVote,
      checkQuorum: options.checkQuorum,
    },
  })
  const { chaos } = options
  if (options.configChange) net.addNode(spare, RaftCore.emptyState(), voters)
  const rng = new Prng(seed * 7919 + 1)
  const ids = [...net.nodes.keys()]
  let proposalCount = 0

  const proposeAtSomeLeader = (data: string): boolean => {
    const leaders = net.leaders()
    if (leaders.length === 0) return false
    try {
      const { index, term } = net.propose(rng.pick(leaders), data)
      checker.recordProposal(index, term, data)
      return true
    } catch (error) {
      if (error instanceof NotLeaderError) return false
      throw error
    }
  }

  // -------------------------------------------------------------- chaos phase
  for (let step = 0; step < options.chaosSteps; step++) {
    net.now++
    for (const node of net.liveNodes()) if (rng.chance(0.95)) net.tick(node.id) // slightly skewed clocks
    net.deliverDue()

    if (rng.chance(chaos.partition)) {
      const leaders = net.leaders()
      if (leaders.length > 0 && rng.chance(0.3)) {
        net.isolate(rng.pick(leaders)) // the classic: cut the leader off
      } else {
        const shuffled = rng.shuffle([...ids])
        const cutAt = 1 + rng.int(shuffled.length - 1)
        net.partition([shuffled.slice(0, cutAt), shuffled.slice(cutAt)])
      }
    }
    if (rng.chance(chaos.heal)) net.heal()
    if (rng.chance(chaos.crash)) {
      const leaders = net.leaders()
      const live = net.liveNodes().map(n => n.id)
      // Leaders crash more often than their share, to force elections.
      const victims = leaders.length > 0 && rng.chance(0.5) ? leaders : live
      if (victims.length > 0) net.crash(rng.pick(victims))
    }
    if (rng.chance(chaos.restart)) {
      const crashed = ids.filter(id => net.node(id).core === null)
      if (crashed.length > 0) {
        const id = rng.pick(crashed)
        checker.forget(id)
        net.restart(id)
      }
    }
    if (rng.chance(chaos.propose)) proposeAtSomeLeader(`s${seed}-p${proposalCount++}`)
    if (options.compaction && rng.chance(0.04)) {
      const live = net.liveNodes()
      if (live.length > 0) {
        const node = rng.pick(live)
        if (node.appliedIndex - (node.core!.firstIndex - 1) >= 3) net.compact(node.id)
      }
    }
    if (options.configChange && step % 20 === 10) tryNextConfigChange(net, rng, voterCount, spare)

    // Persist lazily, so a crash can catch a node with unpersisted state.
    for (const node of net.liveNodes()) if (rng.chance(0.8)) net.processReady(node.id)
    if (step % 50 === 49) checker.fullCheck(net.nodes.values())
  }

  // --------------------------------------------------------------- calm phase
  net.heal()
  net.faults = { dropRate: 0, duplicateRate: 0, maxDelaySteps: 1 }
  for (const id of ids) {
    if (net.node(id).core === null) {
      checker.forget(id)
      net.restart(id)
    }
  }
  const finalData = `s${seed}-final`
  let proposedAt = -Infinity
  for (let step = 0; step < options.calmSteps; step++) {
    net.now++
    net.tickAll()
    net.deliverDue()
    net.processAll()
    if (options.configChange && step % 20 === 10) tryNextConfigChange(net, rng, voterCount, spare)

    const leader = currentLeader(net)
    if (!leader) continue
    const config = net.core(leader).config
    const members = [...config.voters, ...config.learners]
    const configDone = !options.configChange || isFinalConfig(config, voterCount, spare)
    if (configDone && members.every(id => net.node(id).stateMachine.includes(finalData))) {
      checker.fullCheck(net.nodes.values())
      return {
        seed,
        steps: options.chaosSteps + step + 1,
        terms: checker.leaderOfTerm.size,
        committedIndex: checker.maxCommittedIndex,
        messagesDelivered: net.delivered,
        snapshotsInstalled: checker.snapshotsInstalled,
        finalConfig: config,
      }
    }
    // Re-propose if a leader change may have lost the earlier attempt.
    if (configDone && step - proposedAt >= 60 && proposeAtSomeLeader(finalData)) proposedAt = step
  }
  const summary = ids
    .map(id => {
      const core = net.node(id).core!
      return `${id}:${core.role}/t${core.term}/c${core.commitIndex}/l${core.lastIndex}/leader=${core.leader}/cfg=${JSON.stringify(core.config)}`
    })
    .join(' ')
  throw new Error(`no liveness after ${options.calmSteps} calm steps: ${summary}`)
}

/** The leader with the highest term among live nodes that is a voter in its own config. */
function currentLeader(net: RaftNetwork): NodeId | null {
  let best: NodeId | null = null
  for (const id of net.leaders()) {
    const core = net.core(id)
    if (!core.config.voters.includes(id)) continue
    if (best === null || core.term > net.core(best).term) best = id
  }
  return best
}

function isFinalConfig(config: { voters: NodeId[]; learners: NodeId[] }, voterCount: number, spare: NodeId): boolean {
  return config.voters.includes(spare) && config.voters.length === voterCount
}

/** Drive the scripted membership change one step further, if the leader allows it now. */
function tryNextConfigChange(net: RaftNetwork, rng: Prng, voterCount: number, spare: NodeId): void {
  const leader = currentLeader(net)
  if (!leader) return
  const core = net.core(leader)
  const { voters, learners } = core.config
  let next: { voters: NodeId[]; learners: NodeId[] } | null = null
  if (!voters.includes(spare) && !learners.includes(spare)) {
    next = { voters, learners: [...learners, spare] }
  } else if (learners.includes(spare)) {
    next = { voters: [...voters, spare], learners: learners.filter(id => id !== spare) }
  } else if (voters.length > voterCount) {
    const victim = rng.pick(voters.filter(id => id !== spare)) // may be the leader itself
    next = { voters: voters.filter(id => id !== victim), learners }
  }
  if (!next) return
  try {
    core.proposeConfig(next)
    net.processReady(leader)
  } catch (error) {
    if (!(error instanceof ConfigChangeError)) throw error
  }
}
