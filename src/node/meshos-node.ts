// The composition root of a meshos node: builds the services in dependency order, starts them,
// and stops them in reverse. Views for the HTTP API are assembled here so the HTTP layer never
// reaches into the services.
import os from 'node:os'
import { mkdir } from 'node:fs/promises'
import type { Logger } from 'pino'
import { P2PHost } from '../p2p/host.js'
import { loadOrCreatePrivateKey } from '../p2p/identity.js'
import { Membership } from '../gossip/membership.js'
import { decodeGossip, encodeGossip, MEMBERSHIP_WIRE_VERSION, type NodeInfo } from '../gossip/heartbeat.js'
import { WIRE_LIMITS, type NodeConfig } from './config.js'
import { NodeMetrics } from './metrics.js'
import { nextIncarnation, saveIncarnation } from './incarnation-file.js'
import { MESHOS_VERSION } from './version.js'
import { StartupError } from './startup-error.js'
import { ClusterService, type ClusterView } from '../cluster/cluster-service.js'
import type { NodeApi, NodeView, StatusView } from '../http/node-api.js'
import { createAgentExecutor } from '../executor/agent-executor.js'
import type { TaskExecutor } from '../executor/executor.js'
import { Master } from '../tasks/master.js'
import { Worker } from '../tasks/worker.js'
import { TaskService } from '../tasks/task-service.js'


export class MeshosNode implements NodeApi {
  private incarnationWrites: Promise<void> = Promise.resolve()

  private constructor (
    readonly config: NodeConfig,
    readonly host: P2PHost,
    readonly membership: Membership,
    readonly cluster: ClusterService,
    readonly executor: TaskExecutor,
    readonly master: Master,
    readonly worker: Worker,
    readonly tasks: TaskService,
    readonly metrics: NodeMetrics,
    private readonly log: Logger,
    private readonly startedAtMs: number
  ) {}

  /** Claims the identity and the p2p listen address; the node stays silent until start(), so the
   * caller can bind its HTTP port first and fail cleanly before anyone has heard of this node. */
  static async create (config: NodeConfig, log: Logger): Promise<MeshosNode> {
    try {
      await mkdir(config.dataDir, { recursive: true })
    } catch (err) {
      throw new StartupError(`data dir ${config.dataDir} cannot be created: ${(err as Error).message}`)
    }
    const privateKey = await loadOrCreatePrivateKey(config.dataDir)
    const incarnation = await nextIncarnation(config.dataDir)
    let host: P2PHost
    try {
      host = await P2PHost.create({ privateKey, listen: config.listen, logger: log })
    } catch (err) {
      throw new StartupError(`cannot listen on ${config.listen.join(', ')}: ${describeListenError(err)}`)
    }
    const startedAtMs = Date.now()
    const metrics = new NodeMetrics()
    const self: NodeInfo = {
      nodeId: host.peerId,
      name: config.name,
      // A host listening on 0.0.0.0 with many interfaces could list more than peers accept.
      addrs: host.multiaddrs().slice(0, WIRE_LIMITS.maxAddrs),
      incarnation,
      seq: 0,
      capacity: { cpus: config.cpus, memoryMb: config.memoryMb },
      allocated: { cpus: 0, memoryMb: 0 },
      running: 0,
      load: os.loadavg()[0] ?? 0,
      labels: config.labels,
      version: MESHOS_VERSION,
      startedAt: startedAtMs
    }
    // What peers would refuse, we refuse to start with: otherwise the node would be invisible.
    const check = decodeGossip(encodeGossip({ v: MEMBERSHIP_WIRE_VERSION, type: 'heartbeat', node: self, suspects: [] }))
    if (!check.ok) {
      await host.stop()
      throw new StartupError(`this node's description would be refused by its peers (${check.detail}); check --name and --label`)
    }
    const membership = new Membership({
      host,
      self,
      membership: config.membership,
      join: config.join,
      bootstrap: config.bootstrap,
      logger: log,
      metrics,
      sampleSelf: () => ({ load: os.loadavg()[0] ?? 0, allocated: executor.allocated(), running: executor.running().length }),
      onIncarnation: n => { node.persistIncarnation(n) }
    })
    const cluster = new ClusterService({
      host, membership, config: config.election, dataDir: config.dataDir, bootstrap: config.bootstrap.length === 0, metrics, logger: log
    })
    const t = config.tasks
    const executor: TaskExecutor = createAgentExecutor({
      dataDir: config.dataDir,
      capacity: { cpus: config.cpus, memoryMb: config.memoryMb },
      maxLogBytes: t.maxLogBytes,
      killGraceMs: t.killGraceMs,
      memoryPollMs: t.memoryPollMs,
      spawner: t.spawner,
      onStarted: task => { worker.onStarted(task) },
      onFinished: outcome => { worker.onFinished(outcome) },
      logger: log.child({ component: 'executor' })
    })
    const table = cluster.state.tasks
    const master = new Master({
      self: host.peerId,
      table,
      members: membership.table,
      policy: t.policy,
      isReadyLeader: () => cluster.isReadyLeader(),
      term: () => cluster.term ?? 0,
      write: async command => await cluster.write(command, { idempotent: true }),
      pollMs: t.masterPollMs,
      maxTasksPerRound: t.maxTasksPerRound,
      unknownWorkerGraceMs: t.unknownWorkerGraceMs,
      logger: log
    })
    cluster.setProposalHook(command => master.placeOnSubmit(command))
    const worker: Worker = new Worker({
      self: host.peerId,
      dataDir: config.dataDir,
      table,
      executor,
      caughtUp: () => cluster.caughtUp(),
      write: async (command, opts) => await cluster.write(command, opts),
      maxEventsPerReport: t.maxEventsPerReport,
      startReportDelayMs: t.startReportDelayMs,
      reconcileMs: t.reconcileMs,
      taskDirRetentionMs: t.taskDirRetentionMs,
      taskDirGcIntervalMs: t.taskDirGcIntervalMs,
      logger: log
    })
    const tasks = new TaskService({
      host, cluster, members: membership.table, executor, master, policy: t.policy, metrics, logger: log, logRequestTimeoutMs: t.logRequestTimeoutMs
    })
    const node: MeshosNode = new MeshosNode(config, host, membership, cluster, executor, master, worker, tasks, metrics, log, startedAtMs)
    return node
  }

  /** Starts heartbeats and joining, then the replicated cluster. */
  async start (): Promise<void> {
    // Processes of tasks from an earlier life of this node hold resources nobody accounts for;
    // the worker reports those attempts lost once it has caught up with the log.
    const orphans = await this.executor.killOrphans()
    if (orphans.length > 0) this.log.warn({ orphans: orphans.length }, 'killed task processes left by an earlier run of this node')
    await this.membership.start()
    await this.cluster.start()
    await this.tasks.start()
    this.master.start()
    this.worker.start()
  }

  /** Graceful stop announces `left`; an abrupt one (tests, crashes) just goes silent. */
  async stop (graceful = true): Promise<void> {
    // Tasks die with the node; the master re-queues them once it sees this node leave.
    this.worker.stop()
    this.master.stop()
    await this.executor.stop()
    await this.cluster.stop(graceful)
    await this.membership.stop(graceful)
    await this.host.stop()
    await this.incarnationWrites
  }

  private persistIncarnation (incarnation: number): void {
    this.incarnationWrites = this.incarnationWrites
      .then(async () => { await saveIncarnation(this.config.dataDir, incarnation) })
      .catch(err => { this.log.error({ err }, 'cannot persist incarnation') })
  }

  status (): StatusView {
    return {
      nodeId: this.host.peerId,
      name: this.config.name,
      version: MESHOS_VERSION,
      addrs: this.host.multiaddrs(),
      uptimeMs: Date.now() - this.startedAtMs,
      role: this.cluster.role,
      leader: this.cluster.leader,
      term: this.cluster.term
    }
  }

  nodes (): NodeView[] {
    const nowMs = Date.now()
    const self = this.membership.table.selfInfo
    const views: NodeView[] = [toView(self, 'alive', 0)]
    for (const m of this.membership.table.others()) {
      views.push(toView(m.info, m.state, Math.max(0, nowMs - m.lastSeenAtMs)))
    }
    return views.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
  }

  node (id: string): NodeView | undefined {
    return this.nodes().find(n => n.id === id)
  }

  clusterView (): ClusterView {
    return this.cluster.view()
  }

  async kvPut (key: string, value: string): Promise<{ key: string, value: string, index: number, term: number }> {
    const { index, term } = await this.cluster.write({ type: 'kv.put', key, value })
    return { key, value, index, term }
  }

  async kvDelete (key: string): Promise<{ key: string, index: number, term: number }> {
    const { index, term } = await this.cluster.write({ type: 'kv.delete', key })
    return { key, index, term }
  }

  kvGet (key: string): string | undefined {
    return this.cluster.state.get(key)
  }

  kvList (): Record<string, string> {
    return Object.fromEntries(this.cluster.state.list().map(({ key, value }) => [key, value]))
  }

  async metricsText (): Promise<{ contentType: string, body: string }> {
    for (const [state, n] of Object.entries(this.cluster.state.tasks.counts())) this.metrics.tasks.set({ state }, n)
    this.metrics.taskReportsQueued.set(this.worker.queuedReports)
    this.metrics.tasksRunningHere.set(this.executor.running().length)
    if (this.executor.spawnerKind !== null) this.metrics.executorSpawner.set({ kind: this.executor.spawnerKind }, 1)
    return { contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }
  }
}

function toView (info: NodeInfo, state: NodeView['state'], lastSeenMs: number): NodeView {
  return {
    id: info.nodeId,
    name: info.name,
    addrs: info.addrs,
    state,
    capacity: info.capacity,
    allocated: info.allocated,
    running: info.running,
    load: info.load,
    labels: info.labels,
    version: info.version,
    incarnation: info.incarnation,
    startedAt: new Date(info.startedAt).toISOString(),
    lastSeenMs
  }
}

function describeListenError (err: unknown): string {
  const msg = (err as Error).message ?? String(err)
  if (/EADDRINUSE/.test(msg)) return 'address already in use (is another meshos node running? pick another port with --listen)'
  if (/EADDRNOTAVAIL/.test(msg)) return 'address not available on this machine'
  return msg
}
