// The composition root of a meshos node: builds the services in dependency order (each from what
// was built before it), starts them, and stops them in reverse. Views for the HTTP API are
// assembled here so the HTTP layer never reaches into the services.
import os from 'node:os'
import { mkdir } from 'node:fs/promises'
import type { Logger } from 'pino'
import { FOREIGN_TOPIC_REJECTION, P2PHost } from '../p2p/host.js'
import { loadOrCreatePrivateKey, peerIdOfKey } from '../p2p/identity.js'
import { Membership, MEMBERSHIP_TOPIC } from '../gossip/membership.js'
import { MEMBERSHIP_LIMITS } from '../gossip/config.js'
import { memberInfoProblem } from '../gossip/wire.js'
import type { MemberInfo } from '../gossip/core/types.js'
import type { MemberDirectory } from '../gossip/member-directory.js'
import { PeersInUse } from '../gossip/peers-in-use.js'
import { RecordSigner } from '../p2p/record-signer.js'
import type { MemberState } from '../gossip/member-state.js'
import { NodeMetrics } from '../metrics/node-metrics.js'
import { systemClock, type Clock } from '../util/clock.js'
import { isoOrNull } from '../util/epoch.js'
import { ClusterStateMachine } from '../cluster/state-machine.js'
import { Replica } from '../cluster/replica.js'
import { RpcEndpoint } from '../cluster/rpc-endpoint.js'
import { WritePath, type ProposalAmender } from '../cluster/write-path.js'
import { AutopilotLoop } from '../cluster/autopilot-loop.js'
import { LeaderLocator } from '../cluster/leader-locator.js'
import { ReadClient, ReadServer, type ReadQuestion } from '../cluster/read-rpc.js'
import { LeaderUnreachableError } from '../tasks/errors.js'
import { NotFoundError } from '../http/errors.js'
import { answerRead, heldByNode, type NodeHolding } from './read-answers.js'
import { ClusterAdmin } from '../cluster/cluster-admin.js'
import type { LeaderTransferView } from '../cluster/cluster-view-schema.js'
import { drainRoomProblem } from '../tasks/drain-table.js'
import { CommandRefusedError, RemoteReadError } from '../tasks/cluster-port.js'
import { DrainRequests } from './drain-requests.js'
import { clusterView, type ClusterView } from '../cluster/cluster-view.js'
import { taskCluster, taskClusterView } from '../cluster/task-cluster.js'
import { createAgentExecutor } from '../executor/agent-executor.js'
import { meteredExecutor } from '../executor/metered-executor.js'
import type { TaskExecutor } from '../executor/executor.js'
import { isolationView, type IsolationView, type TaskSandbox } from '../executor/sandbox.js'
import { Placer } from '../tasks/placer.js'
import { Master } from '../tasks/master.js'
import { Worker } from '../tasks/worker.js'
import { AssignmentFeed } from '../tasks/assignment-feed.js'
import { AssignmentStream } from '../tasks/assignment-stream.js'
import { startAssignEndpoint } from '../tasks/assign-endpoint.js'
import { roleAwareAssignments, tableAssignments } from '../tasks/assignments.js'
import { TaskService } from '../tasks/task-service.js'
import { meterTaskQueue } from '../tasks/queue-metrics.js'
import { checkTaskCaps } from '../tasks/task-caps.js'
import type { NodeApi, NodeView, StatusView } from '../http/node-api.js'
import { EventHub } from '../events/event-hub.js'
import { DEFAULT_EVENTS } from '../events/config.js'
import { feedEvents } from './event-feeds.js'
import type { NodeConfig } from './config.js'
import { IncarnationFile } from './incarnation-file.js'
import { MESHOS_VERSION } from './version.js'
import { StartupError } from './startup-error.js'
import { secureDataDir } from './data-dir.js'
import { prepareTaskSandbox, releaseTaskSandbox, releaseTaskSandboxNow } from './task-sandbox.js'

export interface MeshosNodeHooks {
  /** The node can no longer run or report tasks (its launcher or executor process died): the
   * caller must stop the process. Task processes were already killed where that was possible. */
  onFatal: (reason: string) => void
}

/** Everything a node is made of, in the order create() builds it. */
interface Parts {
  config: NodeConfig
  log: Logger
  clock: Clock
  startedAtMs: number
  incarnations: IncarnationFile
  host: P2PHost
  metrics: NodeMetrics
  sandbox: TaskSandbox
  isolation: IsolationView
  executor: TaskExecutor
  membership: Membership
  replica: Replica
  leaders: LeaderLocator
  reads: ReadClient
  readServer: ReadServer
  feed: AssignmentFeed
  stream: AssignmentStream
  placer: Placer
  writes: WritePath
  autopilot: AutopilotLoop
  master: Master
  worker: Worker
  tasks: TaskService
  events: EventHub
  admin: ClusterAdmin
  drains: DrainRequests
}

export class MeshosNode implements NodeApi {
  private constructor(private readonly parts: Parts) {}

  get host(): P2PHost {
    return this.parts.host
  }

  get tasks(): TaskService {
    return this.parts.tasks
  }

  get metrics(): NodeMetrics {
    return this.parts.metrics
  }

  get events(): EventHub {
    return this.parts.events
  }

  /** Claims the identity and the p2p listen address; the node stays silent until start(), so the
   * caller can bind its HTTP port first and fail cleanly before anyone has heard of this node. */
  static async create(config: NodeConfig, log: Logger, hooks: MeshosNodeHooks): Promise<MeshosNode> {
    const clock = systemClock
    try {
      await mkdir(config.dataDir, { recursive: true })
    } catch (err) {
      throw new StartupError(`data dir ${config.dataDir} cannot be created: ${(err as Error).message}`)
    }
    await secureDataDir(config.dataDir, log)
    const privateKey = await loadOrCreatePrivateKey(config.dataDir)
    // Every line this node logs from here names it; a line about another node names it `peer`.
    log = log.child({ nodeId: peerIdOfKey(privateKey) })
    const agentUid = process.geteuid?.() ?? -1
    const sandbox = prepareTaskSandbox(
      {
        dataDir: config.dataDir,
        taskUser: config.executor.taskUser,
        peerId: peerIdOfKey(privateKey),
        agentUid,
      },
      log,
    )
    const incarnations = new IncarnationFile(config.dataDir, log)
    const incarnation = await incarnations.next()
    const metrics = new NodeMetrics()
    let host: P2PHost
    try {
      host = await P2PHost.create({
        privateKey,
        listen: config.listen,
        logger: log,
        topics: [MEMBERSHIP_TOPIC],
        clusterKey: config.clusterKey?.psk,
        onPeerRefused: reason => {
          metrics.peersRefused.inc({ reason })
        },
        onForeignTopics: count => {
          metrics.wireRejected.inc(FOREIGN_TOPIC_REJECTION, count)
        },
      })
    } catch (err) {
      await releaseTaskSandbox(sandbox)
      throw new StartupError(`cannot listen on ${config.listen.join(', ')}: ${describeListenError(err)}`)
    }
    const startedAtMs = clock.nowMs()
    const info: MemberInfo = {
      nodeId: host.peerId,
      name: config.name,
      // A host listening on 0.0.0.0 with many interfaces could list more than peers accept.
      addrs: host.multiaddrs().slice(0, MEMBERSHIP_LIMITS.maxAddrs),
      capacity: { cpus: config.cpus, memoryMb: config.memoryMb },
      labels: config.labels,
      version: MESHOS_VERSION,
      startedAt: startedAtMs,
    }
    // What peers would refuse, we refuse to start with: otherwise the node would be invisible.
    const problem = memberInfoProblem(info)
    if (problem !== null) {
      await host.stop()
      await releaseTaskSandbox(sandbox)
      throw new StartupError(
        `this node's description would be refused by its peers (${problem}); check --name and --label`,
      )
    }
    const agentExecutor = createAgentExecutor({
      ...config.executor,
      dataDir: config.dataDir,
      capacity: { cpus: config.cpus, memoryMb: config.memoryMb },
      sandbox,
      onFatal: reason => {
        releaseTaskSandboxNow(sandbox)
        hooks.onFatal(reason)
      },
      logger: log.child({ component: 'executor' }),
    })
    const executor = meteredExecutor(agentExecutor, metrics)
    const peersInUse = new PeersInUse()
    const membership = new Membership({
      host,
      signer: new RecordSigner(privateKey),
      info,
      incarnation,
      dataDir: config.dataDir,
      config: config.membership,
      bootstrap: config.bootstrap,
      clock,
      random: Math.random,
      logger: log,
      metrics,
      onIncarnation: n => {
        incarnations.save(n)
      },
      inUse: peer => peersInUse.has(peer),
    })
    const members: MemberDirectory = membership
    // Built after the replica, which it asks; the replica asks it which voters a worker knows.
    let leaders: LeaderLocator | null = null
    const replica = new Replica({
      host,
      state: new ClusterStateMachine(),
      members,
      config: config.election,
      dataDir: config.dataDir,
      bootstrap: config.bootstrap.length === 0,
      bootstrapPeers: config.bootstrap,
      knownVoters: () => leaders?.voters() ?? [],
      metrics,
      logger: log,
    })
    peersInUse.add(() => replica.peers())
    leaders = new LeaderLocator({
      host,
      replica,
      members,
      bootstrap: config.bootstrap,
      queryIntervalMs: config.election.workerLeaderQueryMs,
      requestTimeoutMs: config.membership.dialTimeoutMs,
      clock,
      metrics,
      logger: log,
    })
    const view = taskClusterView(replica, leaders)
    const t = config.tasks
    const placer = new Placer({
      self: host.peerId,
      cluster: view,
      members,
      policy: t.policy,
      maxTasksPerRound: t.maxTasksPerRound,
    })
    // New tasks are placed in their own submission entry when the queue is empty (placer.ts), once
    // the leader has checked the caps on unfinished tasks (task-caps.ts).
    const amend: ProposalAmender = command => {
      const room = command.type === 'node.drain' ? drainRoomProblem(view.table.drains, command.node) : null
      if (room !== null) throw new CommandRefusedError(room)
      if (command.type !== 'task.submit') return { command, done: () => {} }
      checkTaskCaps(view.table, command.tasks, t)
      return placer.placeSubmission(command, clock.nowMs())
    }
    const writes = new WritePath({
      replica,
      rpc: new RpcEndpoint(host, metrics, log),
      amend,
      isMember: peerId => members.isLiveMember(peerId),
      leader: () => leaders.leader(),
      leaderLost: () => {
        leaders.leaderLost()
      },
      config: config.election,
      clock,
      logger: log,
      metrics,
    })
    const autopilot = new AutopilotLoop({ replica, members, config: config.election, clock, logger: log })
    const cluster = taskCluster(view, writes)
    const master = new Master({
      cluster,
      members,
      placer,
      clock,
      pollMs: t.masterPollMs,
      unknownWorkerGraceMs: t.unknownWorkerGraceMs,
      logger: log,
      metrics,
    })
    // Workers outside the Raft configuration learn their assignments from the leader's feed.
    const feed = new AssignmentFeed({
      host,
      cluster,
      isMember: peerId => members.isLiveMember(peerId),
      holdsLog: peerId => replica.peers().includes(peerId),
      resendMs: t.assignmentResendMs,
      clock,
      metrics,
      logger: log,
    })
    const stream = new AssignmentStream({
      host,
      cluster: view,
      checkMs: t.assignmentCheckMs,
      clock,
      metrics,
      logger: log,
    })
    const assignments = roleAwareAssignments(
      () => replica.holdsLog(),
      tableAssignments(view.table, host.peerId, () => replica.caughtUp()),
      stream,
    )
    meterTaskQueue(view, clock, metrics)
    const worker = new Worker({
      self: host.peerId,
      dataDir: config.dataDir,
      cluster,
      assignments,
      executor,
      clock,
      maxEventsPerReport: t.maxEventsPerReport,
      startReportDelayMs: t.startReportDelayMs,
      reconcileMs: t.reconcileMs,
      taskDirRetentionMs: t.taskDirRetentionMs,
      taskDirGcIntervalMs: t.taskDirGcIntervalMs,
      taskDirsMaxBytes: t.taskDirsMaxBytes,
      logger: log,
    })
    const reads = new ReadClient({ host, leaders, requestTimeoutMs: t.logRequestTimeoutMs, metrics })
    const tasks = new TaskService({
      host,
      cluster,
      remote: reads,
      dataDir: config.dataDir,
      members,
      executor,
      placer,
      policy: t.policy,
      metrics,
      logger: log,
      logRequestTimeoutMs: t.logRequestTimeoutMs,
      caps: t,
      clock,
    })
    const readServer = new ReadServer({
      host,
      replica,
      members,
      answer: async question =>
        await answerRead(question, { tasks, replica, members, placer, tickMs: config.election.tickMs }),
      requestTimeoutMs: t.logRequestTimeoutMs,
      metrics,
      logger: log,
    })
    const events = new EventHub({ clock, config: DEFAULT_EVENTS, life: incarnation })
    feedEvents(events, { membership, replica, table: view.table })
    const admin = new ClusterAdmin({
      host,
      replica,
      members,
      leaders,
      onVoterRemoved: id => {
        autopilot.retire(id)
      },
      config: config.election,
      clock,
      metrics,
      logger: log,
    })
    // Assigned below, before anything can ask for a drain: the view is the node's own method.
    let node: MeshosNode | null = null
    const drains = new DrainRequests({ writes, members, clock, view: async id => await node?.node(id) })
    node = new MeshosNode({
      config,
      log,
      clock,
      startedAtMs,
      incarnations,
      host,
      metrics,
      sandbox,
      isolation: isolationView(sandbox, agentUid),
      executor,
      membership,
      replica,
      leaders,
      reads,
      readServer,
      feed,
      stream,
      placer,
      writes,
      autopilot,
      master,
      worker,
      tasks,
      events,
      admin,
      drains,
    })
    return node
  }

  /** Starts heartbeats and joining, then the replicated cluster, then the task roles. */
  async start(): Promise<void> {
    const p = this.parts
    // Processes of tasks from an earlier life of this node hold resources nobody accounts for;
    // the worker reports those attempts lost once it has caught up with the log.
    const orphans = await p.executor.killOrphans()
    if (orphans.length > 0)
      p.log.warn({ orphans: orphans.length }, 'killed task processes left by an earlier run of this node')
    await p.membership.start()
    try {
      await p.replica.start()
    } catch (err) {
      // Damaged or foreign data under the data dir: one line naming the file, not a stack trace.
      throw new StartupError(`cannot open the Raft state in ${p.config.dataDir}: ${(err as Error).message}`)
    }
    await p.writes.start()
    await p.leaders.start()
    await p.readServer.start()
    await p.admin.start()
    p.autopilot.start()
    await p.tasks.start()
    await startAssignEndpoint(p.host, p.metrics, p.feed, p.stream)
    p.feed.start()
    p.stream.start()
    p.master.start()
    p.worker.start()
  }

  /** Graceful stop announces `left`; an abrupt one (tests, crashes) just goes silent. */
  async stop(graceful = true): Promise<void> {
    const p = this.parts
    p.events.close()
    // Tasks die with the node; the master re-queues them once it sees this node leave.
    p.worker.stop()
    p.master.stop()
    p.autopilot.stop()
    p.leaders.stop()
    p.feed.stop()
    p.stream.stop()
    await p.executor.stop()
    await releaseTaskSandbox(p.sandbox)
    await p.replica.stop(graceful)
    await p.membership.stop(graceful)
    await p.host.stop()
    await p.incarnations.flushed()
  }

  status(): StatusView {
    const p = this.parts
    return {
      nodeId: p.host.peerId,
      name: p.config.name,
      version: MESHOS_VERSION,
      addrs: p.host.multiaddrs(),
      uptimeMs: p.clock.nowMs() - p.startedAtMs,
      role: p.replica.role,
      leader: p.leaders.leader(),
      term: p.leaders.term(),
      insecure: p.config.insecure,
      isolation: p.isolation,
    }
  }

  /** Members from this node's membership view; allocations and running tasks from its replica of
   * the log (what the scheduler counts); load only for this node (it is not gossiped). */
  async nodes(): Promise<NodeView[]> {
    const { clock, membership } = this.parts
    const nowMs = clock.nowMs()
    const held = new Map((await this.held()).map(n => [n.id, n]))
    const view = (
      info: MemberInfo,
      state: MemberState,
      incarnation: number,
      lastSeenMs: number,
      load: number | null,
    ): NodeView => {
      const h = held.get(info.nodeId)
      return {
        id: info.nodeId,
        name: info.name,
        addrs: info.addrs,
        state,
        capacity: info.capacity,
        allocated: h?.allocated ?? { cpus: 0, memoryMb: 0 },
        running: h?.taskCount ?? 0,
        load,
        labels: info.labels,
        version: info.version,
        incarnation,
        startedAt: isoOrNull(info.startedAt),
        lastSeenMs,
        drain: h?.drain ?? null,
        activeView: membership.activePeersOf(info.nodeId),
      }
    }
    const self = membership.selfRecord
    const views = [view(self.info, 'alive', self.incarnation, 0, os.loadavg()[0] ?? 0)]
    for (const m of membership.others()) {
      views.push(view(m.record.info, m.state, m.record.incarnation, Math.max(0, nowMs - m.lastSeenMs), null))
    }
    return views.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
  }

  async node(id: string): Promise<NodeView | undefined> {
    return (await this.nodes()).find(n => n.id === id)
  }

  async clusterView(): Promise<ClusterView> {
    if (!this.parts.replica.holdsLog()) return (await this.fromLeader({ op: 'cluster' })) as ClusterView
    return clusterView(this.parts.replica, this.parts.membership, this.parts.config.election.tickMs)
  }

  /** What each node holds, and its drain, as the log says (the leader's log on a worker; nothing
   * if unreachable). */
  private async held(): Promise<NodeHolding[]> {
    const { replica, placer } = this.parts
    if (replica.holdsLog()) return heldByNode(placer, replica.state.tasks.drains)
    return ((await this.fromLeader({ op: 'held' }).catch(() => [])) as NodeHolding[] | null) ?? []
  }

  /** A read this node cannot answer itself (it holds no log), asked of the leader. */
  private async fromLeader(question: ReadQuestion): Promise<unknown> {
    try {
      return await this.parts.reads.ask(question)
    } catch (err) {
      if (err instanceof RemoteReadError && err.code === 'not_found') throw new NotFoundError(err.message)
      throw new LeaderUnreachableError(
        `this node holds no log and could not read from the leader: ${(err as Error).message}`,
      )
    }
  }

  async kvPut(key: string, value: string): Promise<{ key: string; value: string; index: number; term: number }> {
    const { index, term } = await this.parts.writes.write({ type: 'kv.put', key, value })
    return { key, value, index, term }
  }

  async kvDelete(key: string): Promise<{ key: string; index: number; term: number }> {
    const { index, term } = await this.parts.writes.write({ type: 'kv.delete', key })
    return { key, index, term }
  }

  async drainNode(ref: string, deadlineSeconds: number | undefined): Promise<NodeView> {
    return await this.parts.drains.drain(ref, deadlineSeconds)
  }

  async undrainNode(ref: string): Promise<NodeView> {
    return await this.parts.drains.undrain(ref)
  }

  async transferLeader(to: string | undefined): Promise<LeaderTransferView> {
    return await this.parts.admin.transferLeader(to ?? null)
  }

  async removeVoter(ref: string): Promise<ClusterView> {
    return await this.parts.admin.removeVoter(ref)
  }

  async kvGet(key: string): Promise<string | undefined> {
    if (!this.parts.replica.holdsLog()) return ((await this.fromLeader({ op: 'kv', key })) as { value?: string }).value
    return this.parts.replica.state.get(key)
  }

  async kvList(): Promise<Record<string, string>> {
    if (!this.parts.replica.holdsLog()) return (await this.fromLeader({ op: 'kvList' })) as Record<string, string>
    return Object.fromEntries(this.parts.replica.state.list().map(({ key, value }) => [key, value]))
  }

  async metricsText(): Promise<{ contentType: string; body: string }> {
    const { metrics, replica, worker, executor } = this.parts
    for (const [state, n] of Object.entries(replica.state.tasks.counts())) metrics.tasks.set({ state }, n)
    metrics.taskReportsQueued.set(worker.queuedReports)
    metrics.tasksRunningHere.set(executor.running().length)
    if (executor.spawnerKind !== null) metrics.executorSpawner.set({ kind: executor.spawnerKind }, 1)
    const { isolation } = this.parts
    metrics.executorIsolation.set(
      {
        task_user: isolation.taskUser ?? 'agent',
        cgroups: isolation.cgroups ?? 'none',
        memory_limit: isolation.memoryLimit,
      },
      1,
    )
    return await metrics.scrape()
  }
}

function describeListenError(err: unknown): string {
  const msg = (err as Error).message ?? String(err)
  if (/EADDRINUSE/.test(msg))
    return 'address already in use (is another meshos node running? pick another port with --listen)'
  if (/EADDRNOTAVAIL/.test(msg)) return 'address not available on this machine'
  return msg
}
