// On the leader: reconsiders the voter set every autopilotIntervalMs and proposes the one change
// the pure planner (election/autopilot.ts) asks for, if any. Voters an operator removed are kept
// out for a while (retire), since the membership may still count a crashed one alive.
import type { Logger } from 'pino'
import type { MemberDirectory } from '../gossip/member-directory.js'
import type { ElectionConfig } from '../election/config.js'
import { planAutopilot, type AutopilotMember } from '../election/autopilot.js'
import type { Clock, TimerHandle } from '../util/clock.js'
import type { Replica } from './replica.js'

export interface AutopilotLoopInit {
  replica: Replica
  members: MemberDirectory
  config: ElectionConfig
  clock: Clock
  logger: Logger
}

/** An operator-removed node is kept out of the configuration until the membership sees it dead or
 * gone, or this long: far longer than detecting a crash takes, and a node that is in fact still
 * running after it is taken back as a learner. */
export const RETIRED_HOLD_MS = 120_000

export class AutopilotLoop {
  private timer: TimerHandle | undefined
  /** Nodes an operator removed from the voters, and when. */
  private readonly retired = new Map<string, number>()
  private busy = false
  private readonly log: Logger

  constructor(private readonly init: AutopilotLoopInit) {
    this.log = init.logger.child({ component: 'autopilot' })
  }

  start(): void {
    this.timer = this.init.clock.setInterval(() => {
      void this.run()
    }, this.init.config.autopilotIntervalMs)
  }

  stop(): void {
    this.init.clock.clear(this.timer)
  }

  /** An operator removed `id` from the voters: do not add it back while it may only look alive. */
  retire(id: string): void {
    this.retired.set(id, this.init.clock.nowMs())
  }

  /** The retired nodes still kept out as of `nowMs`. */
  private excluded(nowMs: number): string[] {
    for (const [id, sinceMs] of this.retired) {
      const state = this.init.members.get(id)?.state
      if (nowMs - sinceMs >= RETIRED_HOLD_MS || state === undefined || state === 'dead' || state === 'left')
        this.retired.delete(id)
    }
    return [...this.retired.keys()]
  }

  /** One voter-set change at a time, as the planner decides. */
  private async run(): Promise<void> {
    const raft = this.init.replica.raftNode
    if (raft == null || this.busy || raft.stopped || raft.role !== 'leader') return
    this.busy = true
    try {
      const nowMs = this.init.clock.nowMs()
      const members: AutopilotMember[] = this.init.members.others().map(m => ({
        id: m.record.info.nodeId,
        state: m.state,
        stateForMs: Math.max(0, nowMs - m.stateSinceMs),
      }))
      members.push({ id: raft.id, state: 'alive', stateForMs: 0 })
      const cfg = this.init.config
      const action = planAutopilot({
        config: raft.config,
        changePending: raft.configChangePending,
        leaderId: raft.id,
        leaderLastIndex: raft.lastIndex,
        progress: raft.progress() ?? [],
        members,
        maxVoters: cfg.maxVoters,
        maxStandbys: cfg.maxStandbys,
        replaceDeadVoterAfterMs: cfg.replaceDeadVoterAfterMs,
        removeDeadLearnerAfterMs: cfg.removeDeadLearnerAfterMs,
        learnerCatchUpLag: cfg.learnerCatchUpLag,
        excluded: this.excluded(nowMs),
      })
      if (action == null) return
      this.log.info(
        {
          action: action.kind,
          peer: action.id,
          reason: 'reason' in action ? action.reason : undefined,
          voters: action.config.voters.length,
        },
        'changing the voter set',
      )
      await raft.proposeConfig(action.config)
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'voter set change failed; will retry')
    } finally {
      this.busy = false
    }
  }
}
