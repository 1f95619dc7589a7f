// The replicated cluster on one node: the Raft node over libp2p, the state machine it applies
// to, the leader's voter management (autopilot), and the write path that forwards a write from
// any node to the leader and answers only once it is committed.
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import type { Logger } from 'pino'
import { RequestNotSentError, type P2PHost } from '../p2p/host.js'
import type { Membership } from '../gossip/membership.js'
import type { ElectionConfig } from '../node/config.js'
import { WIRE_LIMITS } from '../node/config.js'
import type { NodeMetrics } from '../node/metrics.js'
import { RaftNode } from '../election/raft-node.js'
import { P2PRaftTransport } from '../election/raft-transport-p2p.js'
import { NotLeaderError, ProposalDroppedError } from '../election/raft-node-errors.js'
import { planAutopilot, type AutopilotMember } from '../election/autopilot.js'
import { ClusterStateMachine } from './state-machine.js'
import { parseCommand, type ClusterCommand } from './commands.js'
import { InvalidCommandError, NoLeaderError, WriteOutcomeUnknownError } from './errors.js'
import { RPC_PROTOCOL, RPC_WIRE_VERSION, decodeRpcFrame, encodeRpcFrame, type ProposeResponse } from './write-rpc.js'

/** Forwarded writes ride a long-lived channel per peer, like Raft's own messages. */
const RPC_CHANNEL_LIMITS = {
  maxFrameBytes: WIRE_LIMITS.rpcRequestBytes,
  /** A few full batches of task specs; beyond that the leader is not keeping up, and a write
   * refused here (never sent) is retried, where one queued forever would only time out. */
  maxQueuedBytes: 4 * WIRE_LIMITS.rpcRequestBytes,
  dialTimeoutMs: 2000,
  redialBackoffMs: 250
}

interface PendingForward { leader: string, resolve: (res: ProposeResponse) => void, reject: (err: Error) => void }

export type RaftRoleView = 'leader' | 'follower' | 'candidate' | 'learner'

export interface PeerView { id: string, name: string | null, lastContactMs: number | null, matchIndex: number | null }

export interface ClusterView {
  leader: string | null
  term: number
  commitIndex: number
  voters: PeerView[]
  learners: PeerView[]
}

export interface WriteResult { index: number, term: number }

/** Lets a layer above amend a command on the leader just before it is proposed (the master
 * places new tasks in the submission entry itself); `done` runs once the proposal is settled. */
export type ProposalHook = (command: ClusterCommand) => { command: ClusterCommand, done: () => void }

export interface ClusterServiceInit {
  host: P2PHost
  membership: Membership
  config: ElectionConfig
  dataDir: string
  /** The first node of a cluster (started without --bootstrap) starts as a one-voter cluster. */
  bootstrap: boolean
  metrics: NodeMetrics
  logger: Logger
}

const delay = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** `promise`, unless `deadline` (epoch ms) passes first: then the error `onTimeout` makes. */
async function beforeDeadline<T> (promise: Promise<T>, deadline: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(onTimeout()) }, Math.max(0, deadline - Date.now()))
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export class ClusterService {
  readonly state = new ClusterStateMachine()
  /** Undefined until start(): the HTTP API answers (with nulls) before the cluster is up. */
  private raft: RaftNode | undefined
  private autopilotTimer: NodeJS.Timeout | undefined
  private autopilotBusy = false
  private proposalHook: ProposalHook | null = null
  /** Writes forwarded to a leader and not answered yet, by request id. */
  private readonly forwards = new Map<string, PendingForward>()
  private forwardSeq = 0
  /** Differs per process: an answer meant for this node's previous life (a restart reuses the
   * peer id and restarts the sequence) must not match a request of this one. */
  private readonly forwardPrefix = randomBytes(4).toString('hex')
  private readonly log: Logger
  private readonly self: string

  constructor (private readonly init: ClusterServiceInit) {
    this.log = init.logger.child({ component: 'cluster' })
    this.self = init.host.peerId
  }

  async start (): Promise<void> {
    const transport = new P2PRaftTransport(this.init.host, this.init.metrics, this.log)
    await transport.start()
    const cfg = this.init.config
    this.raft = await RaftNode.open({
      id: this.self,
      dataDir: path.join(this.init.dataDir, 'raft'),
      transport,
      stateMachine: this.state,
      tickMs: cfg.tickMs,
      electionTicks: cfg.electionTicks,
      heartbeatTicks: cfg.heartbeatTicks,
      bootstrap: this.init.bootstrap,
      compactEvery: cfg.compactEvery,
      logger: this.log
    })
    await this.init.host.handleFrames(RPC_PROTOCOL, WIRE_LIMITS.rpcRequestBytes, (from, frame) => { this.onRpcFrame(from, frame) })
    // A frame on a channel that broke may be lost: do not leave its write waiting for a timeout.
    this.init.host.onChannelClosed((peerId, protocol, opened) => {
      if (protocol !== RPC_PROTOCOL) return
      for (const pending of [...this.forwards.values()]) {
        if (pending.leader !== peerId) continue
        pending.reject(opened ? new Error(`the channel to leader ${peerId} closed`) : new RequestNotSentError(`cannot reach leader ${peerId}`))
      }
    })
    this.autopilotTimer = setInterval(() => { void this.runAutopilot() }, cfg.autopilotIntervalMs)
  }

  /** A graceful stop of the leader hands leadership over first, so the cluster is without a
   * leader for a round trip instead of an election timeout. */
  async stop (graceful = false): Promise<void> {
    clearInterval(this.autopilotTimer)
    if (graceful) await this.raft?.handOver(this.init.config.tickMs * this.init.config.heartbeatTicks)
    await this.raft?.stop()
  }

  get role (): RaftRoleView | null {
    if (this.raft == null) return null
    const role = this.raft.role
    if (role === 'precandidate') return 'candidate'
    // A node the leader has not added yet is a non-voting member-to-be.
    if (role === 'follower' && !this.raft.config.voters.includes(this.self)) return 'learner'
    return role
  }

  get leader (): string | null {
    return this.raft?.leader ?? null
  }

  get term (): number | null {
    return this.raft?.term ?? null
  }

  setProposalHook (hook: ProposalHook): void {
    this.proposalHook = hook
  }

  /** Leads, and has applied an entry of its own term: its view of the state is complete. */
  isReadyLeader (): boolean {
    const raft = this.raft
    return raft != null && !raft.stopped && raft.role === 'leader' && this.state.appliedTerm === raft.term
  }

  /** Knows a leader and has applied everything committed that it knows of. */
  caughtUp (): boolean {
    const raft = this.raft
    return raft != null && !raft.stopped && raft.leader != null && raft.appliedIndex >= raft.commitIndex
  }

  view (): ClusterView {
    const raft = this.started()
    const progress = new Map((raft.progress() ?? []).map(p => [p.id, p]))
    const peer = (id: string): PeerView => {
      const p = progress.get(id)
      const isSelfLeader = id === this.self && raft.role === 'leader'
      return {
        id,
        name: this.memberName(id),
        lastContactMs: isSelfLeader ? 0 : (p?.lastContactTick == null ? null : Math.max(0, raft.tickCount - p.lastContactTick) * this.init.config.tickMs),
        matchIndex: isSelfLeader ? raft.lastIndex : (p?.matchIndex ?? null)
      }
    }
    const config = raft.config
    return {
      leader: raft.leader,
      term: raft.term,
      commitIndex: raft.commitIndex,
      voters: config.voters.map(peer),
      learners: config.learners.map(peer)
    }
  }

  /** Commits `command` through the leader, wherever it is, and answers once it is applied here
   * (so this node's reads show it). Retries through leader changes until writeTimeoutMs, then
   * NoLeaderError. An `idempotent` command (applying it twice changes nothing more than once) is
   * also sent again after an unknown outcome, so a leader dying mid-write costs a retry, not an
   * error. */
  async write (command: ClusterCommand, opts: { idempotent?: boolean } = {}): Promise<WriteResult> {
    const raft = this.started()
    const deadline = Date.now() + this.init.config.writeTimeoutMs
    let problem = 'no leader elected'
    const unknown = (message: string): void => {
      if (opts.idempotent !== true) throw new WriteOutcomeUnknownError(message)
      problem = message
    }
    while (Date.now() < deadline) {
      const leader = raft.leader
      if (leader === this.self && raft.role === 'leader') {
        const outcome = await this.proposeLocally(command, deadline)
        if (outcome.ok) return { index: outcome.index, term: outcome.term }
        problem = outcome.message
        if (outcome.code === 'unknown') unknown(outcome.message)
      } else if (leader != null) {
        let res: ProposeResponse | undefined
        try {
          res = await this.forward(leader, command, deadline)
        } catch (err) {
          // Once the request may have reached the leader, it may commit: never claim it failed.
          if (err instanceof RequestNotSentError) problem = `leader ${leader} unreachable (${(err as Error).message})`
          else unknown(`forwarded to leader ${leader} but no answer (${(err as Error).message}); the write may still commit`)
        }
        if (res?.ok === true) {
          const applied = await this.awaitAppliedHere(raft, res.index, res.term, deadline)
          if (applied.ok) return { index: res.index, term: res.term }
          problem = applied.message
          if (applied.code === 'unknown') unknown(applied.message)
        }
        if (res?.ok === false) {
          problem = res.message
          if (res.code === 'unknown') unknown(res.message)
          if (res.code === 'invalid') throw new InvalidCommandError(`the leader refused the write: ${res.message}`)
        }
      }
      await delay(this.init.config.tickMs)
    }
    throw new NoLeaderError(`write not committed within ${this.init.config.writeTimeoutMs} ms: ${problem}; ${this.reachableVoters()}`)
  }

  private started (): RaftNode {
    if (this.raft == null) throw new NoLeaderError('this node is still starting')
    return this.raft
  }

  /** "2 of 5 voters reachable", from the membership view (this node included). */
  reachableVoters (): string {
    const voters = this.raft?.config.voters ?? []
    const reachable = voters.filter(id => id === this.self || this.init.membership.table.get(id)?.state === 'alive').length
    return `${reachable} of ${voters.length} voters reachable`
  }

  /** The leader told us it appended our write at (index, term): wait until this node applies that
   * entry (then it committed, and local reads see it) or learns it never will. */
  private async awaitAppliedHere (raft: RaftNode, index: number, term: number, deadline: number): Promise<{ ok: true } | { ok: false, code: 'retry' | 'unknown', message: string }> {
    try {
      await beforeDeadline(raft.awaitApplied(index, term), deadline, () => new NoLeaderError(`entry ${index} not applied here in time; it may still commit`))
      return { ok: true }
    } catch (err) {
      // Overwritten: another entry committed at that index, so ours never did and may be resent.
      const retry = err instanceof ProposalDroppedError && err.reason === 'overwritten'
      return { ok: false, code: retry ? 'retry' : 'unknown', message: (err as Error).message }
    }
  }

  /** Proposes on this node (the leader) and resolves once the entry is applied here. `onAppended`
   * hears the entry's place in the log as soon as it is appended. */
  private async proposeLocally (original: ClusterCommand, deadline: number, onAppended?: (index: number, term: number) => void): Promise<ProposeResponse> {
    const raft = this.started()
    const leader = raft.leader
    const prepared = this.proposalHook?.(original) ?? { command: original, done: () => {} }
    try {
      const appended = raft.append(prepared.command)
      onAppended?.(appended.index, appended.term)
      const { index, term } = await beforeDeadline(appended.applied, deadline, () => new NoLeaderError('not committed in time; it may still commit'))
      return { ok: true, index, term }
    } catch (err) {
      if (err instanceof NotLeaderError) return { ok: false, code: 'not_leader', message: 'not the leader', leader: err.leader ?? null }
      if (err instanceof ProposalDroppedError) {
        // 'overwritten' never commits, so sending it again is safe; the others may have committed.
        const code = err.reason === 'overwritten' ? 'retry' : 'unknown'
        return { ok: false, code, message: err.message, leader }
      }
      if (err instanceof NoLeaderError) return { ok: false, code: 'unknown', message: `${err.message} (${this.reachableVoters()})`, leader }
      return { ok: false, code: 'invalid', message: (err as Error).message, leader }
    } finally {
      prepared.done()
    }
  }

  /** Sends `command` to the leader and waits for its result. RequestNotSentError when it could
   * not even be queued (the channel to the leader is down): then it certainly did not commit. */
  private async forward (leader: string, command: unknown, deadline: number): Promise<ProposeResponse> {
    const id = `${this.forwardPrefix}-${++this.forwardSeq}`
    const timeoutMs = Math.max(1, deadline - Date.now())
    return await new Promise<ProposeResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.forwards.delete(id)
        reject(new Error(`no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.forwards.set(id, {
        leader,
        resolve: res => { clearTimeout(timer); this.forwards.delete(id); resolve(res) },
        reject: err => { clearTimeout(timer); this.forwards.delete(id); reject(err) }
      })
      const queued = this.init.host.sendFrame(leader, RPC_PROTOCOL, encodeRpcFrame({ v: RPC_WIRE_VERSION, type: 'propose', id, command }), RPC_CHANNEL_LIMITS)
      if (!queued) {
        clearTimeout(timer)
        this.forwards.delete(id)
        reject(new RequestNotSentError(`no channel to the leader ${leader}`))
      }
    })
  }

  private onRpcFrame (from: string, bytes: Uint8Array): void {
    const frame = decodeRpcFrame(bytes)
    if (!frame.ok) {
      // Without a parseable id there is nobody to answer; the sender's write times out.
      this.init.metrics.wireRejected.inc({ protocol: RPC_PROTOCOL, reason: frame.reason })
      this.log.debug({ from, detail: frame.detail }, 'dropped invalid rpc frame')
      return
    }
    const msg = frame.value
    if (msg.type === 'result') {
      const pending = this.forwards.get(msg.id)
      // Only the leader it was sent to may answer a request.
      if (pending?.leader !== from) {
        this.init.metrics.wireRejected.inc({ protocol: RPC_PROTOCOL, reason: 'wrong_sender' })
        return
      }
      this.init.metrics.wireAccepted.inc({ protocol: RPC_PROTOCOL })
      const { v: _v, type: _type, id: _id, ...res } = msg
      pending.resolve(res)
      return
    }
    void this.answerForwardedWrite(from, msg.id, msg.command)
  }

  /** Answers once: where the write was appended, as soon as it is (the asker waits for the entry
   * itself), or why it was not. What happens to the entry later is not reported. */
  private async answerForwardedWrite (from: string, id: string, data: unknown): Promise<void> {
    const answer = (res: ProposeResponse): void => {
      this.init.host.sendFrame(from, RPC_PROTOCOL, encodeRpcFrame({ v: RPC_WIRE_VERSION, type: 'result', id, ...res }), RPC_CHANNEL_LIMITS)
    }
    // The forwarding node validated it too, but a peer of another version (or a rogue one) must
    // not get an entry into the log that every replica would then skip.
    const command = parseCommand(data)
    if (!command.ok) {
      this.init.metrics.wireRejected.inc({ protocol: RPC_PROTOCOL, reason: 'invalid_schema' })
      answer({ ok: false, code: 'invalid', message: `command: ${command.reason}`, leader: this.leader })
      return
    }
    this.init.metrics.wireAccepted.inc({ protocol: RPC_PROTOCOL })
    this.log.debug({ from, id }, 'forwarded write')
    let answered = false
    const outcome = await this.proposeLocally(command.command, Date.now() + this.init.config.writeTimeoutMs, (index, term) => {
      answered = true
      answer({ ok: true, index, term })
    })
    if (!answered) answer(outcome)
  }

  private memberName (id: string): string | null {
    if (id === this.self) return this.init.membership.table.selfInfo.name
    return this.init.membership.table.get(id)?.info.name ?? null
  }

  /** On the leader: one voter-set change at a time, as the autopilot planner decides. */
  private async runAutopilot (): Promise<void> {
    const raft = this.raft
    if (raft == null || this.autopilotBusy || raft.stopped || raft.role !== 'leader') return
    this.autopilotBusy = true
    try {
      const nowMs = Date.now()
      const members: AutopilotMember[] = this.init.membership.table.others().map(m => ({
        id: m.info.nodeId, state: m.state, stateForMs: Math.max(0, nowMs - m.stateSinceAtMs)
      }))
      members.push({ id: this.self, state: 'alive', stateForMs: 0 })
      const cfg = this.init.config
      const action = planAutopilot({
        config: raft.config,
        changePending: raft.configChangePending,
        leaderId: this.self,
        leaderLastIndex: raft.lastIndex,
        progress: raft.progress() ?? [],
        members,
        maxVoters: cfg.maxVoters,
        replaceDeadVoterAfterMs: cfg.replaceDeadVoterAfterMs,
        removeDeadLearnerAfterMs: cfg.removeDeadLearnerAfterMs,
        learnerCatchUpLag: cfg.learnerCatchUpLag
      })
      if (action == null) return
      this.log.info({ action: action.kind, nodeId: action.id, reason: 'reason' in action ? action.reason : undefined, voters: action.config.voters.length }, 'changing the voter set')
      await raft.proposeConfig(action.config)
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'voter set change failed; will retry')
    } finally {
      this.autopilotBusy = false
    }
  }
}
