// The write path: commits a command through the leader, wherever it is, and answers only once this
// node has applied it. On the leader the command is proposed locally (after the ProposalAmender
// had its say); elsewhere it is forwarded over /meshos/rpc, and the leader answers where it
// appended it. Retries through leader changes until writeTimeoutMs.
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { RequestNotSentError } from '../p2p/host.js'
import type { ElectionConfig } from '../election/config.js'
import type { RaftNode } from '../election/driver/raft-node.js'
import { NotLeaderError, ProposalDroppedError } from '../election/driver/raft-node-errors.js'
import type { Clock } from '../util/clock.js'
import type { NodeMetrics, WriteOutcome } from '../metrics/node-metrics.js'
import { CommandRefusedError } from '../tasks/cluster-port.js'
import { assignTermOf, parseCommand, type ClusterCommand } from './commands.js'
import { InvalidCommandError, NoLeaderError, WriteOutcomeUnknownError } from './errors.js'
import { authorizeForward } from './forward-policy.js'
import type { Replica } from './replica.js'
import type { RpcConsumers, RpcEndpoint } from './rpc-endpoint.js'
import {
  RPC_WIRE_VERSION,
  parseRefusal,
  refusalMessage,
  type ProposeRequest,
  type ProposeResponse,
  type ProposeResult,
} from './write-rpc.js'

export interface WriteResult {
  index: number
  term: number
}

export interface WriteOptions {
  /** Applying it twice changes nothing more than once: it is also sent again after an unknown
   * outcome, so a leader dying mid-write costs a retry, not an error. */
  idempotent?: boolean
}

/** A command as the leader proposes it, and what to call once the proposal is settled. */
export interface AmendedProposal {
  command: ClusterCommand
  done: () => void
}

/** Lets a layer above amend a command on the leader just before it is proposed (the master's
 * placer puts new tasks' placements in the submission entry itself), or refuse it by throwing
 * CommandRefusedError (a cap). */
export type ProposalAmender = (command: ClusterCommand) => AmendedProposal

export interface WritePathInit {
  replica: Replica
  rpc: RpcEndpoint
  amend: ProposalAmender
  /** Whether this node's membership counts `peerId` as alive or suspect: only such a peer may
   * forward writes to this node. */
  isMember: (peerId: string) => boolean
  /** Who leads: Raft's answer on a node that holds the log, the locator's on a worker. */
  leader: () => string | null
  /** A forward to `leader` found it gone: ask again who leads. */
  leaderLost: (leader: string) => void
  config: Pick<ElectionConfig, 'writeTimeoutMs' | 'tickMs'>
  clock: Clock
  logger: Logger
  /** Times every write by outcome (meshos_cluster_write_duration_seconds). */
  metrics?: NodeMetrics
}

interface PendingForward {
  leader: string
  resolve: (res: ProposeResponse) => void
  reject: (err: Error) => void
}

type Settled = { ok: true } | { ok: false; code: 'retry' | 'unknown'; message: string }

export class WritePath implements RpcConsumers {
  /** Writes forwarded to a leader and not answered yet, by request id. */
  private readonly forwards = new Map<string, PendingForward>()
  private forwardSeq = 0
  /** Differs per process: an answer meant for this node's previous life (a restart reuses the
   * peer id and restarts the sequence) must not match a request of this one. */
  private readonly forwardPrefix = randomBytes(4).toString('hex')
  private readonly log: Logger

  constructor(private readonly init: WritePathInit) {
    this.log = init.logger.child({ component: 'cluster' })
  }

  async start(): Promise<void> {
    await this.init.rpc.start(this)
  }

  /** Commits `command` through the leader and resolves once it is applied here (so this node's
   * reads show it). NoLeaderError after writeTimeoutMs without a commit; WriteOutcomeUnknownError
   * when a non-idempotent write may or may not have committed; InvalidCommandError when the leader
   * refuses the command itself. */
  async write(command: ClusterCommand, opts: WriteOptions = {}): Promise<WriteResult> {
    const startedMs = performance.now()
    let outcome: WriteOutcome = 'error'
    try {
      const result = await this.commit(command, opts)
      outcome = 'committed'
      return result
    } catch (err) {
      outcome = writeOutcomeOf(err)
      throw err
    } finally {
      this.init.metrics?.writeDuration.observe({ outcome }, (performance.now() - startedMs) / 1000)
    }
  }

  private async commit(command: ClusterCommand, opts: WriteOptions): Promise<WriteResult> {
    const { replica, clock, config } = this.init
    const raft = replica.started()
    const deadline = clock.nowMs() + config.writeTimeoutMs
    let problem = 'no leader elected'
    const unknown = (message: string): void => {
      if (opts.idempotent !== true) throw new WriteOutcomeUnknownError(message)
      problem = message
    }
    while (clock.nowMs() < deadline) {
      const leader = this.init.leader()
      // A worker holds no log to wait in: the leader answers once the entry is applied there.
      const untilApplied = !replica.holdsLog()
      if (leader === replica.self && raft.role === 'leader') {
        const outcome = await this.proposeLocally(command, deadline)
        if (outcome.ok) return { index: outcome.index, term: outcome.term }
        problem = outcome.message
        if (outcome.code === 'unknown') unknown(outcome.message)
        if (outcome.code === 'invalid') throw refused('this node, the leader, refused the write', outcome.message)
      } else if (leader != null) {
        let res: ProposeResponse | undefined
        try {
          res = await this.forward(leader, command, deadline, untilApplied)
        } catch (err) {
          // Once the request may have reached the leader, it may commit: never claim it failed.
          if (err instanceof RequestNotSentError) {
            problem = `leader ${leader} unreachable (${(err as Error).message})`
            this.init.leaderLost(leader)
          } else
            unknown(
              `forwarded to leader ${leader} but no answer (${(err as Error).message}); the write may still commit`,
            )
        }
        if (res?.ok === true && untilApplied) return { index: res.index, term: res.term }
        if (res?.ok === true) {
          const applied = await this.awaitAppliedHere(raft, res.index, res.term, deadline)
          if (applied.ok) return { index: res.index, term: res.term }
          problem = applied.message
          if (applied.code === 'unknown') unknown(applied.message)
        }
        if (res?.ok === false) {
          problem = res.message
          if (res.code === 'not_leader') this.init.leaderLost(leader)
          if (res.code === 'unknown') unknown(res.message)
          if (res.code === 'invalid') throw refused('the leader refused the write', res.message)
        }
      }
      await new Promise<void>(resolve => {
        clock.setTimeout(resolve, config.tickMs)
      })
    }
    throw new NoLeaderError(
      `write not committed within ${config.writeTimeoutMs} ms: ${problem}; ${replica.reachableVoters()}`,
    )
  }

  /** The leader told us it appended our write at (index, term): wait until this node applies that
   * entry (then it committed, and local reads see it) or learns it never will. */
  private async awaitAppliedHere(raft: RaftNode, index: number, term: number, deadline: number): Promise<Settled> {
    try {
      await this.beforeDeadline(
        raft.awaitApplied(index, term),
        deadline,
        () => new NoLeaderError(`entry ${index} not applied here in time; it may still commit`),
      )
      return { ok: true }
    } catch (err) {
      // Overwritten: another entry committed at that index, so ours never did and may be resent.
      const retry = err instanceof ProposalDroppedError && err.reason === 'overwritten'
      return { ok: false, code: retry ? 'retry' : 'unknown', message: (err as Error).message }
    }
  }

  /** Proposes on this node (the leader) and resolves once the entry is applied here. `onAppended`
   * hears the entry's place in the log as soon as it is appended. */
  private async proposeLocally(
    original: ClusterCommand,
    deadline: number,
    onAppended?: (index: number, term: number) => void,
  ): Promise<ProposeResponse> {
    const { replica } = this.init
    const raft = replica.started()
    const leader = raft.leader
    let prepared: AmendedProposal
    try {
      prepared = this.init.amend(original)
    } catch (err) {
      if (!(err instanceof CommandRefusedError)) throw err
      return { ok: false, code: 'invalid', message: refusalMessage(err.reason, err.message), leader }
    }
    try {
      // Replicas skip an assignment claiming a later term than its entry's; never propose one.
      const claimed = assignTermOf(prepared.command)
      if (claimed !== null && claimed > raft.term)
        return {
          ok: false,
          code: 'invalid',
          message: `${prepared.command.type}: term ${claimed} is past this leader's term ${raft.term}`,
          leader,
        }
      const appended = raft.append(prepared.command)
      onAppended?.(appended.index, appended.term)
      const { index, term } = await this.beforeDeadline(
        appended.applied,
        deadline,
        () => new NoLeaderError('not committed in time; it may still commit'),
      )
      return { ok: true, index, term }
    } catch (err) {
      if (err instanceof NotLeaderError)
        return { ok: false, code: 'not_leader', message: 'not the leader', leader: err.leader ?? null }
      if (err instanceof ProposalDroppedError) {
        // 'overwritten' never commits, so sending it again is safe; the others may have committed.
        const code = err.reason === 'overwritten' ? 'retry' : 'unknown'
        return { ok: false, code, message: err.message, leader }
      }
      if (err instanceof NoLeaderError)
        return { ok: false, code: 'unknown', message: `${err.message} (${replica.reachableVoters()})`, leader }
      // Thrown before anything was appended (the node is stopping): nothing committed.
      return { ok: false, code: 'retry', message: (err as Error).message, leader }
    } finally {
      prepared.done()
    }
  }

  /** Sends `command` to the leader and waits for its result. RequestNotSentError when it could
   * not even be queued (the channel to the leader is down): then it certainly did not commit. */
  private async forward(
    leader: string,
    command: unknown,
    deadline: number,
    untilApplied: boolean,
  ): Promise<ProposeResponse> {
    const { clock } = this.init
    const id = `${this.forwardPrefix}-${++this.forwardSeq}`
    const timeoutMs = Math.max(1, deadline - clock.nowMs())
    return await new Promise<ProposeResponse>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        this.forwards.delete(id)
        reject(new Error(`no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.forwards.set(id, {
        leader,
        resolve: res => {
          clock.clear(timer)
          this.forwards.delete(id)
          resolve(res)
        },
        reject: err => {
          clock.clear(timer)
          this.forwards.delete(id)
          reject(err)
        },
      })
      const request = untilApplied
        ? { v: RPC_WIRE_VERSION, type: 'propose' as const, id, command, untilApplied }
        : { v: RPC_WIRE_VERSION, type: 'propose' as const, id, command }
      if (!this.init.rpc.send(leader, request)) {
        clock.clear(timer)
        this.forwards.delete(id)
        reject(new RequestNotSentError(`no channel to the leader ${leader}`))
      }
    })
  }

  /** A frame on a channel that broke may be lost: do not leave its write waiting for a timeout. */
  onChannelClosed(peerId: string, opened: boolean): void {
    for (const pending of [...this.forwards.values()]) {
      if (pending.leader !== peerId) continue
      pending.reject(
        opened
          ? new Error(`the channel to leader ${peerId} closed`)
          : new RequestNotSentError(`cannot reach leader ${peerId}`),
      )
    }
  }

  onResult(from: string, msg: ProposeResult): void {
    const pending = this.forwards.get(msg.id)
    // Only the leader it was sent to may answer a request.
    if (pending?.leader !== from) {
      this.init.rpc.rejected('wrong_sender')
      return
    }
    this.init.rpc.accepted()
    const { v: _v, type: _type, id: _id, ...res } = msg
    pending.resolve(res)
  }

  onPropose(from: string, msg: ProposeRequest): void {
    void this.answerForwardedWrite(from, msg.id, msg.command, msg.untilApplied === true)
  }

  /** Answers once: where the write was appended, as soon as it is (the asker waits for the entry
   * itself), or why it was not. What happens to the entry later is not reported. */
  private async answerForwardedWrite(from: string, id: string, data: unknown, untilApplied: boolean): Promise<void> {
    const answer = (res: ProposeResponse): void => {
      this.init.rpc.send(from, { v: RPC_WIRE_VERSION, type: 'result', id, ...res })
    }
    const leader = this.init.replica.leader
    // The forwarding node validated it too, but a peer of another version (or a rogue one) must
    // not get an entry into the log that every replica would then skip.
    const command = parseCommand(data)
    if (!command.ok) {
      this.init.rpc.rejected('invalid_schema')
      answer({ ok: false, code: 'invalid', message: `command: ${command.reason}`, leader })
      return
    }
    const verdict = authorizeForward(from, command.command, this.init.isMember)
    if (!verdict.ok) {
      this.init.rpc.rejected(verdict.reason)
      this.log.debug({ peer: from, id, reason: verdict.reason }, 'refused a forwarded write')
      // A node not (yet) seen as a member may be one whose heartbeat is still on its way: it may
      // ask again. A command no peer may send is refused for good.
      answer(
        verdict.reason === 'not_member'
          ? { ok: false, code: 'retry', message: verdict.message, leader }
          : { ok: false, code: 'invalid', message: refusalMessage('forbidden', verdict.message), leader },
      )
      return
    }
    this.init.rpc.accepted()
    this.log.debug({ peer: from, id }, 'forwarded write')
    let answered = false
    const outcome = await this.proposeLocally(
      command.command,
      this.init.clock.nowMs() + this.init.config.writeTimeoutMs,
      (index, term) => {
        if (untilApplied) return
        answered = true
        answer({ ok: true, index, term })
      },
    )
    if (!answered) answer(outcome)
  }

  /** `promise`, unless `deadline` (epoch ms) passes first: then the error `onTimeout` makes. */
  private async beforeDeadline<T>(promise: Promise<T>, deadline: number, onTimeout: () => Error): Promise<T> {
    const { clock } = this.init
    let timer
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = clock.setTimeout(
        () => {
          reject(onTimeout())
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

function writeOutcomeOf(err: unknown): WriteOutcome {
  if (err instanceof NoLeaderError) return 'no_leader'
  if (err instanceof WriteOutcomeUnknownError) return 'unknown'
  if (err instanceof InvalidCommandError) return 'refused'
  return 'error'
}

/** The error for a write the leader refused, its reason (if it named one) kept for the layers above. */
function refused(prefix: string, message: string): InvalidCommandError {
  const { reason, detail } = parseRefusal(message)
  return new InvalidCommandError(`${prefix}: ${message}`, reason, detail)
}
