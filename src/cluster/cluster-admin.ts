// An operator's changes to the Raft side of the cluster, asked through any node: move leadership
// to a voter (the hand-over a graceful stop uses, RaftNode.transferLeadership), and remove a voter
// that will never return (a configuration change, refused when it would leave no quorum). The
// leader carries them out; any other node forwards them to it (admin-rpc.ts).
import type { Logger } from 'pino'
import type { P2PHost } from '../p2p/host.js'
import type { MemberDirectory } from '../gossip/member-directory.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import type { ElectionConfig } from '../election/config.js'
import { ConfigChangeError, NotLeaderError } from '../election/driver/raft-node-errors.js'
import type { RaftNode } from '../election/driver/raft-node.js'
import { normalizeConfig } from '../election/core/raft-config.js'
import { voterRemovalProblem } from '../election/voter-removal.js'
import type { Clock } from '../util/clock.js'
import { askAdmin, NOT_LEADER, serveAdmin, type AdminAnswer, type AdminRequest } from './admin-rpc.js'
import { clusterView, type ClusterView } from './cluster-view.js'
import type { LeaderTransferView } from './cluster-view-schema.js'
import {
  ClusterOperationError,
  ConfigChangePendingError,
  LastVoterError,
  LeaderRemovalError,
  NoLeaderError,
  NotCaughtUpError,
  NotVoterError,
  QuorumLossError,
  TransferInProgressError,
  TransferTimeoutError,
  operationError,
} from './errors.js'
import type { LeaderLocator } from './leader-locator.js'
import { knownNodes, resolveNode, type NamedNode } from './node-ref.js'
import type { Replica } from './replica.js'

/** Election timeouts (at most 600 ms each at the defaults) a transfer waits for its target to
 * hold the whole log, and then for the election: a voter within reach needs a round trip or two. */
const TRANSFER_WAIT_ELECTIONS = 5
/** Beyond the time the leader takes, for finding the leader and following it through a change:
 * the whole request stays within the client's 10 s. */
const FORWARD_SLACK_MS = 2000

export interface ClusterAdminInit {
  host: P2PHost
  replica: Replica
  members: MemberDirectory
  leaders: LeaderLocator
  /** Told of every voter removed here, so the autopilot does not take it straight back. */
  onVoterRemoved: (id: string) => void
  config: Pick<ElectionConfig, 'tickMs' | 'electionTicks' | 'writeTimeoutMs'>
  clock: Clock
  metrics: NodeMetrics
  logger: Logger
}

export class ClusterAdmin {
  private readonly log: Logger
  /** How long a transfer may wait for its target to catch up, and then for the election. */
  private readonly transferWaitMs: number

  constructor(private readonly init: ClusterAdminInit) {
    this.log = init.logger.child({ component: 'admin' })
    this.transferWaitMs = TRANSFER_WAIT_ELECTIONS * 2 * init.config.electionTicks * init.config.tickMs
  }

  /** Longest a request takes on the leader: a transfer's two waits, or a removal's write. */
  private get operationMs(): number {
    return Math.max(2 * this.transferWaitMs, this.init.config.writeTimeoutMs)
  }

  async start(): Promise<void> {
    await serveAdmin({
      host: this.init.host,
      isMember: peerId => this.init.members.isLiveMember(peerId),
      answer: async request => await this.answer(request),
      timeoutMs: this.operationMs + 1000,
      metrics: this.init.metrics,
      logger: this.init.logger,
    })
  }

  /** Moves leadership to the voter `to` names (a peer id or a name), or to the most up-to-date
   * voter when null; resolves once a leader of a later term is known. */
  async transferLeader(to: string | null): Promise<LeaderTransferView> {
    return (await this.onLeader({ op: 'transferLeader', to })) as LeaderTransferView
  }

  /** Removes the voter `node` names from the configuration; resolves with the cluster after it. */
  async removeVoter(node: string): Promise<ClusterView> {
    return (await this.onLeader({ op: 'removeVoter', node })) as ClusterView
  }

  /** Carries the request out here if this node leads, else asks the leader, following a
   * not_leader answer to the leader it names, until an answer or the deadline. */
  private async onLeader(request: AdminRequest): Promise<unknown> {
    const { clock, replica } = this.init
    const deadline = clock.nowMs() + this.operationMs + FORWARD_SLACK_MS
    let problem = 'no leader known'
    while (clock.nowMs() < deadline) {
      const leader = this.init.leaders.leader()
      if (leader !== null && leader === replica.self && replica.raftNode?.role === 'leader') {
        const answer = await this.answer(request)
        if (answer.ok) return answer.value
        if (answer.code !== NOT_LEADER) throw errorOf(answer)
        problem = answer.message
      } else if (leader !== null) {
        try {
          const timeoutMs = Math.max(1, deadline - clock.nowMs())
          const answer = await askAdmin(this.init.host, leader, request, timeoutMs, this.init.metrics)
          if (answer.ok) return answer.value
          if (answer.code !== NOT_LEADER) throw errorOf(answer)
          problem = `${leader} no longer leads`
        } catch (err) {
          if (err instanceof ClusterOperationError || err instanceof NoLeaderError) throw err
          problem = `the leader ${leader} did not answer: ${(err as Error).message}`
        }
        this.init.leaders.leaderLost()
      }
      await new Promise<void>(resolve => {
        clock.setTimeout(resolve, this.init.config.tickMs)
      })
    }
    throw new NoLeaderError(`no leader carried the request out: ${problem}; ${replica.reachableVoters()}`)
  }

  /** This node's answer, as the leader: the value, or the error code and message. */
  private async answer(request: AdminRequest): Promise<AdminAnswer> {
    const raft = this.init.replica.raftNode
    if (raft === null || raft.stopped || raft.role !== 'leader')
      return { ok: false, code: NOT_LEADER, message: 'not the leader', leader: this.init.leaders.leader() }
    try {
      const value =
        request.op === 'transferLeader'
          ? await this.transferHere(raft, request.to)
          : await this.removeHere(raft, request.node)
      return { ok: true, value }
    } catch (err) {
      if (err instanceof NotLeaderError)
        return { ok: false, code: NOT_LEADER, message: err.message, leader: err.leader ?? null }
      if (err instanceof ClusterOperationError || err instanceof NoLeaderError)
        return {
          ok: false,
          code: err instanceof NoLeaderError ? 'no_leader' : err.code,
          message: err.message,
          leader: null,
        }
      this.log.warn({ err: (err as Error).message, op: request.op }, 'operator request failed')
      return { ok: false, code: 'no_leader', message: (err as Error).message, leader: null }
    }
  }

  /** Voters (named where the membership knows them) and every other known node. */
  private nodes(raft: RaftNode): NamedNode[] {
    const voters = raft.config.voters.map(id => ({ id, name: this.init.members.nameOf(id) }))
    const ids = new Set(raft.config.voters)
    return [...voters, ...knownNodes(this.init.members).filter(n => !ids.has(n.id))]
  }

  private label(id: string): string {
    const name = this.init.members.nameOf(id)
    return name === null ? id : `${name} (${id})`
  }

  private async transferHere(raft: RaftNode, to: string | null): Promise<LeaderTransferView> {
    const self = this.init.replica.self
    const previous = { leader: self, name: this.init.members.nameOf(self), term: raft.term }
    let target: string | null = null
    if (to !== null) {
      target = resolveNode(to, this.nodes(raft))
      if (target === self) return { leader: self, name: previous.name, term: raft.term, previous }
      if (!raft.config.voters.includes(target))
        throw new NotVoterError(
          `${this.label(target)} is not a voter: leadership goes only to one of the ${raft.config.voters.length} voters (meshos cluster lists them)`,
        )
    }
    const wait = this.transferWaitMs
    const outcome = await raft.transferLeadership(target, { catchUpMs: wait, electMs: wait })
    if (outcome.ok) {
      this.log.info({ peer: outcome.leader, term: outcome.term }, 'leadership transferred on request')
      return { leader: outcome.leader, name: this.init.members.nameOf(outcome.leader), term: outcome.term, previous }
    }
    switch (outcome.problem) {
      case 'not_leader':
        throw new NotLeaderError(raft.leader)
      case 'busy':
        throw new TransferInProgressError('another leadership transfer is under way: try again once it is done')
      case 'no_other_voter':
      case 'not_voter':
        throw new NotVoterError('this node is the only voter: there is no other voter to hand leadership to')
      case 'not_caught_up': {
        const who = target === null ? 'no other voter' : this.label(target)
        const verb = target === null ? 'caught up' : 'did not catch up'
        throw new NotCaughtUpError(`${who} ${verb} with the leader's log within ${wait} ms: behind or unreachable`)
      }
      case 'timeout':
        throw new TransferTimeoutError(
          `${this.label(outcome.target)} was asked to take over, but no new leader was elected within ${wait} ms`,
        )
    }
  }

  private async removeHere(raft: RaftNode, ref: string): Promise<ClusterView> {
    const { members, clock, config } = this.init
    const id = resolveNode(ref, this.nodes(raft))
    const who = this.label(id)
    const deadline = clock.nowMs() + config.writeTimeoutMs
    for (let first = true; ; first = false) {
      const current = raft.config
      // Taken out meanwhile (by the autopilot, or a request sent twice): what was asked is done.
      if (!first && !current.voters.includes(id)) break
      const problem = voterRemovalProblem({
        config: current,
        leaderId: raft.id,
        id,
        isAlive: v => members.get(v)?.state === 'alive',
      })
      if (problem === 'not_voter')
        throw new NotVoterError(`${who} is not a voter (meshos cluster lists the ${current.voters.length} voters)`)
      if (problem === 'last_voter') throw new LastVoterError(`${who} is the only voter: a cluster needs one`)
      if (problem === 'is_leader')
        throw new LeaderRemovalError(`${who} is the leader: move leadership first (meshos leader transfer)`)
      if (problem === 'no_quorum')
        throw new QuorumLossError(
          `without ${who}, fewer than a majority of the ${current.voters.length - 1} voters left are alive: the change could never commit`,
        )
      if (first) {
        this.init.onVoterRemoved(id)
        this.log.info({ peer: id }, 'removing a voter on request')
      }
      try {
        const next = normalizeConfig({ voters: current.voters.filter(v => v !== id), learners: current.learners })
        await this.beforeDeadline(raft.proposeConfig(next), deadline)
        break
      } catch (err) {
        if (!(err instanceof ConfigChangeError) || err.reason === 'invalidConfig') throw err
        // The autopilot's change (or a new leader's first entry) is not committed yet.
        if (clock.nowMs() >= deadline)
          throw new ConfigChangePendingError(
            `another configuration change did not commit within ${config.writeTimeoutMs} ms: try again (${err.message})`,
          )
        await new Promise<void>(resolve => {
          clock.setTimeout(resolve, config.tickMs)
        })
      }
    }
    return clusterView(this.init.replica, members, config.tickMs)
  }

  private async beforeDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
    const { clock } = this.init
    let timer
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = clock.setTimeout(
        () => {
          reject(new NoLeaderError('the change was not committed in time; it may still commit'))
        },
        Math.max(0, deadline - clock.nowMs()),
      )
    })
    try {
      return await Promise.race([promise, timeout])
    } finally {
      clock.clear(timer)
    }
  }
}

/** The error an answer names; an unknown code (a leader of another version) is a 503. */
function errorOf(answer: Extract<AdminAnswer, { ok: false }>): Error {
  return operationError(answer.code, answer.message) ?? new NoLeaderError(`${answer.code}: ${answer.message}`)
}
