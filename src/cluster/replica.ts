// This node's replica of the cluster log: the Raft node over libp2p (its lifecycle) and the state
// machine it applies to, with the read-only questions the rest of the node asks of it.
import path from 'node:path'
import type { Logger } from 'pino'
import type { P2PHost } from '../p2p/host.js'
import type { MemberDirectory } from '../gossip/member-directory.js'
import type { ElectionConfig } from '../election/config.js'
import type { ClusterConfig, SoftState } from '../election/core/types.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import { RaftNode } from '../election/driver/raft-node.js'
import { P2PRaftTransport } from '../election/transport/raft-transport-p2p.js'
import { peerIdOf } from '../p2p/addresses.js'
import type { ClusterStateMachine } from './state-machine.js'
import { NoLeaderError } from './errors.js'
import type { RaftRoleView } from './cluster-view-schema.js'

export type { RaftRoleView } from './cluster-view-schema.js'

export interface ReplicaInit {
  host: P2PHost
  state: ClusterStateMachine
  members: MemberDirectory
  config: ElectionConfig
  dataDir: string
  /** The first node of a cluster (started without --bootstrap) starts as a one-voter cluster. */
  bootstrap: boolean
  /** The --bootstrap addresses: with the voters this node knows, they vouch for a leader it does
   * not know yet (election/core/raft-gate.ts). */
  bootstrapPeers: string[]
  metrics: NodeMetrics
  logger: Logger
}

export class Replica {
  readonly state: ClusterStateMachine
  /** Undefined until start(): the HTTP API answers (with nulls) before the cluster is up. */
  private raft: RaftNode | undefined
  private transport: P2PRaftTransport | undefined
  private readonly log: Logger
  readonly self: string
  private readonly softStateListeners: Array<(soft: SoftState) => void> = []
  private readonly configListeners: Array<(config: ClusterConfig, previous: ClusterConfig) => void> = []

  constructor(private readonly init: ReplicaInit) {
    this.state = init.state
    this.log = init.logger.child({ component: 'cluster' })
    this.self = init.host.peerId
    const metrics = init.metrics
    metrics.onScrape(() => {
      metrics.raftTerm.set(this.raft?.term ?? 0)
      metrics.raftLogEntries.set(this.raft?.logEntries ?? 0)
      metrics.raftSnapshotBytes.set(this.raft?.snapshotBytes ?? 0)
    })
  }

  async start(): Promise<void> {
    const transport = new P2PRaftTransport(this.init.host, this.init.metrics, this.log)
    this.transport = transport
    await transport.start()
    const cfg = this.init.config
    const metrics = this.init.metrics
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
      vouchers: this.init.bootstrapPeers.filter(addr => peerIdOf(addr) !== this.self),
      onRejected: (type, reason) => {
        metrics.raftRejected.inc({ type, reason })
      },
      onLeaderChange: () => {
        metrics.leaderChanges.inc()
      },
      onCommitted: latencyMs => {
        metrics.commitDuration.observe(latencyMs / 1000)
      },
      onSoftState: soft => {
        for (const listener of this.softStateListeners) listener(soft)
      },
      onConfigCommitted: (config, previous) => {
        for (const listener of this.configListeners) listener(config, previous)
      },
      logger: this.log,
    })
  }

  /** This node's role, the leader it knows, or the term changed. */
  onSoftState(listener: (soft: SoftState) => void): void {
    this.softStateListeners.push(listener)
  }

  /** A different set of voters and learners was committed. */
  onConfigCommitted(listener: (config: ClusterConfig, previous: ClusterConfig) => void): void {
    this.configListeners.push(listener)
  }

  /** Entries up to this index were committed in an earlier run of the node: applying them again
   * at start is replay, not news. Infinite until started. */
  get replayedThroughIndex(): number {
    return this.raft?.openedCommitIndex ?? Number.POSITIVE_INFINITY
  }

  /** A graceful stop of the leader hands leadership over first, so the cluster is without a
   * leader for a round trip instead of an election timeout. */
  async stop(graceful: boolean): Promise<void> {
    if (graceful) await this.raft?.handOver(this.init.config.tickMs * this.init.config.heartbeatTicks)
    await this.raft?.stop()
    this.transport?.stop()
  }

  /** The Raft node, once started; NoLeaderError before. */
  started(): RaftNode {
    if (this.raft == null) throw new NoLeaderError('this node is still starting')
    return this.raft
  }

  /** Null before start(). */
  get raftNode(): RaftNode | null {
    return this.raft ?? null
  }

  get role(): RaftRoleView | null {
    if (this.raft == null) return null
    const role = this.raft.role
    if (role === 'precandidate') return 'candidate'
    if (!this.holdsLog()) return 'worker'
    if (role === 'follower' && !this.raft.config.voters.includes(this.self)) return 'learner'
    return role
  }

  get leader(): string | null {
    return this.raft?.leader ?? null
  }

  get term(): number | null {
    return this.raft?.term ?? null
  }

  /** Leads, and has applied an entry of its own term: its view of the state is complete. */
  isReadyLeader(): boolean {
    const raft = this.raft
    return raft != null && !raft.stopped && raft.role === 'leader' && this.state.appliedTerm === raft.term
  }

  /** Knows a leader and has applied everything committed that it knows of. */
  caughtUp(): boolean {
    const raft = this.raft
    return raft != null && !raft.stopped && raft.leader != null && raft.appliedIndex >= raft.commitIndex
  }

  /** In the Raft configuration (a voter or a standby learner): this node holds the log. A node
   * outside it is a worker: it hears no Raft message and learns its work from the leader. */
  holdsLog(): boolean {
    const config = this.raft?.config
    return config !== undefined && (config.voters.includes(this.self) || config.learners.includes(this.self))
  }

  /** The peers Raft talks to from here: the configuration's members and the leader. */
  peers(): string[] {
    const raft = this.raft
    if (raft == null) return []
    const config = raft.config
    return [...config.voters, ...config.learners, ...(raft.leader === null ? [] : [raft.leader])]
  }

  /** "2 of 5 voters reachable", from the membership view (this node included). */
  reachableVoters(): string {
    const voters = this.raft?.config.voters ?? []
    const reachable = voters.filter(id => id === this.self || this.init.members.get(id)?.state === 'alive').length
    return `${reachable} of ${voters.length} voters reachable`
  }
}
