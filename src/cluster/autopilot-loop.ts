// On the leader: reconsiders the voter set every autopilotIntervalMs and proposes the one change
// the pure planner (election/autopilot.ts) asks for, if any.
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

export class AutopilotLoop {
  private timer: TimerHandle | undefined
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
