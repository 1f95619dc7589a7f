// Each series of NodeMetrics moves when its event happens, fed by the code that sees the event:
// a one-voter Replica and its WritePath on disk (Raft and writes), the transports and membership
// over a stub host (messages sent and dropped), the task table (queue), a wrapped executor
// (outcomes), the master (lost tasks) and the HTTP app (requests).
import assert from 'node:assert/strict'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { NodeMetrics } from '../../src/metrics/node-metrics.js'
import { Replica } from '../../src/cluster/replica.js'
import { RpcEndpoint } from '../../src/cluster/rpc-endpoint.js'
import { WritePath, type ProposalAmender } from '../../src/cluster/write-path.js'
import { ClusterStateMachine } from '../../src/cluster/state-machine.js'
import { NoLeaderError, InvalidCommandError } from '../../src/cluster/errors.js'
import { RPC_PROTOCOL, RPC_WIRE_VERSION } from '../../src/cluster/write-rpc.js'
import { DEFAULT_ELECTION } from '../../src/election/config.js'
import { P2PRaftTransport } from '../../src/election/transport/raft-transport-p2p.js'
import { RAFT_CHUNK_BYTES, RAFT_PROTOCOL } from '../../src/election/transport/raft-wire.js'
import type { AppendMessage } from '../../src/election/core/types.js'
import { Membership, MEMBERSHIP_PROTOCOL, MEMBERSHIP_TOPIC } from '../../src/gossip/membership.js'
import { DEFAULT_MEMBERSHIP } from '../../src/gossip/config.js'
import type { P2PHost } from '../../src/p2p/host.js'
import { peerIdOfKey } from '../../src/p2p/identity.js'
import { RecordSigner } from '../../src/p2p/record-signer.js'
import { meteredExecutor } from '../../src/executor/metered-executor.js'
import type { ExecutorListener, TaskExecutor } from '../../src/executor/executor.js'
import type { TaskOutcome } from '../../src/executor/types.js'
import { CommandRefusedError, type TaskCluster, type TaskClusterView } from '../../src/tasks/cluster-port.js'
import { TaskTable } from '../../src/tasks/task-table.js'
import { meterTaskQueue } from '../../src/tasks/queue-metrics.js'
import { Master } from '../../src/tasks/master.js'
import { Placer } from '../../src/tasks/placer.js'
import { parseTaskSpec, type TaskSpec } from '../../src/tasks/spec.js'
import type { TaskCommand } from '../../src/tasks/commands.js'
import { TaskNotFoundError } from '../../src/tasks/errors.js'
import { buildHttpApp } from '../../src/http/app.js'
import type { NodeApi } from '../../src/http/node-api.js'
import { systemClock } from '../../src/util/clock.js'
import { waitFor } from '../../harness/wait-for.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { memberInfo, memberView, staticMembers } from '../helpers/fixtures.js'

const silent = pino({ level: 'silent' })

interface Sampled {
  get(): Promise<{
    name: string
    values: Array<{ value: number; labels: object; metricName?: string }>
  }>
}

/** The value of one series of `metric` (a histogram's `_count` or `_sum` with `suffix`); 0 when
 * the series does not exist yet. */
async function valueOf(metric: Sampled, labels: Record<string, string> = {}, suffix = ''): Promise<number> {
  const { name, values } = await metric.get()
  const hit = values.find(
    v =>
      (v.metricName ?? name) === name + suffix &&
      Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x),
  )
  return hit?.value ?? 0
}

const countOf = async (metric: Sampled, labels: Record<string, string> = {}): Promise<number> =>
  await valueOf(metric, labels, '_count')

/** A P2PHost that accepts every registration and answers sendFrame as told. */
function stubHost(peerId: string, sendFrame: (frame: Uint8Array) => boolean = () => true) {
  const published: string[] = []
  const host = {
    peerId,
    handleFrames: async () => {},
    handle: async () => {},
    subscribe: () => {},
    onChannelClosed: () => {},
    onPeerDisconnect: () => {},
    rememberAddrs: async () => {},
    connectedPeers: () => [],
    dial: async () => {},
    hangUp: async () => {},
    connectedSinceMs: () => null,
    sendFrame: (_peer: string, _protocol: string, frame: Uint8Array) => sendFrame(frame),
    publish: async (topic: string) => {
      published.push(topic)
    },
  }
  return { host: host as unknown as P2PHost, published }
}

function spec(extra: Record<string, unknown> = {}): TaskSpec {
  const r = parseTaskSpec({ command: 'true', ...extra })
  if (!r.ok) throw new Error(r.message)
  return r.spec
}

describe('metrics', function () {
  this.timeout(20_000)

  describe('Raft and the write path (one voter, on disk)', () => {
    let dir: string
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'meshos-metrics-'))
    })
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    async function oneVoter(opts: { bootstrap: boolean; amend?: ProposalAmender; writeTimeoutMs?: number }) {
      const metrics = new NodeMetrics(false)
      const { host } = stubHost('n1')
      const config = {
        ...DEFAULT_ELECTION,
        tickMs: 10,
        compactEvery: 4,
        writeTimeoutMs: opts.writeTimeoutMs ?? 5000,
      }
      const replica = new Replica({
        host,
        state: new ClusterStateMachine(),
        members: staticMembers(memberInfo('n1'), []),
        config,
        dataDir: dir,
        bootstrap: opts.bootstrap,
        bootstrapPeers: [],
        metrics,
        logger: silent,
      })
      const writes = new WritePath({
        replica,
        rpc: new RpcEndpoint(host, metrics, silent),
        amend: opts.amend ?? (command => ({ command, done: () => {} })),
        isMember: () => false,
        leader: () => replica.leader,
        leaderLost: () => {},
        config,
        clock: systemClock,
        logger: silent,
        metrics,
      })
      await replica.start()
      await writes.start()
      return { metrics, replica, writes }
    }

    it('counts the first leader, reports the term, and times each commit and write', async () => {
      const { metrics, replica, writes } = await oneVoter({ bootstrap: true })
      try {
        assert.equal(await valueOf(metrics.leaderChanges), 0)
        await waitFor('a leader', async () => replica.isReadyLeader(), 5000, 10)
        assert.equal(await valueOf(metrics.leaderChanges), 1)
        const committedBefore = await countOf(metrics.commitDuration)
        for (let i = 0; i < 3; i++) await writes.write({ type: 'kv.put', key: `k${i}`, value: 'v' })
        assert.equal(await countOf(metrics.commitDuration), committedBefore + 3)
        assert.equal(await countOf(metrics.writeDuration, { outcome: 'committed' }), 3)
        assert.ok((await valueOf(metrics.writeDuration, { outcome: 'committed' }, '_sum')) > 0)
        await metrics.scrape()
        assert.equal(await valueOf(metrics.raftTerm), replica.term)
        assert.ok(replica.term !== null && replica.term >= 1)
        // A leader keeps leading: no further change counted.
        assert.equal(await valueOf(metrics.leaderChanges), 1)
      } finally {
        await replica.stop(false)
      }
    })

    it('reports the entries after the snapshot and the snapshot size, which compaction moves', async () => {
      const { metrics, replica, writes } = await oneVoter({ bootstrap: true })
      try {
        await waitFor('a leader', async () => replica.isReadyLeader(), 5000, 10)
        await metrics.scrape()
        assert.equal(await valueOf(metrics.raftSnapshotBytes), 0)
        const entries = await valueOf(metrics.raftLogEntries)
        assert.ok(entries >= 1 && entries < 4, `entries before compaction: ${entries}`)
        // compactEvery is 4: enough writes for a snapshot, taken right after an apply.
        for (let i = 0; i < 6; i++) await writes.write({ type: 'kv.put', key: `k${i}`, value: 'x'.repeat(100) })
        await waitFor('a compaction', async () => replica.raftNode!.stats.compactions > 0, 5000, 10)
        await metrics.scrape()
        const raft = replica.raftNode!
        assert.ok(raft.snapshotBytes > 0)
        assert.equal(await valueOf(metrics.raftSnapshotBytes), raft.snapshotBytes)
        assert.equal(raft.snapshotBytes, (await stat(join(dir, 'raft', 'snapshot.rec'))).size)
        assert.equal(await valueOf(metrics.raftLogEntries), raft.logEntries)
        assert.ok(raft.logEntries < raft.lastIndex, 'compaction dropped entries')
      } finally {
        await replica.stop(false)
      }
      // Opened again: the size is read from the file.
      const again = await oneVoter({ bootstrap: true })
      try {
        await again.metrics.scrape()
        const bytes = (await stat(join(dir, 'raft', 'snapshot.rec'))).size
        assert.equal(await valueOf(again.metrics.raftSnapshotBytes), bytes)
      } finally {
        await again.replica.stop(false)
      }
    })

    it('labels a refused write and one without a leader by how they ended', async () => {
      const refusing = await oneVoter({
        bootstrap: true,
        amend: () => {
          throw new CommandRefusedError('no')
        },
      })
      try {
        await waitFor('a leader', async () => refusing.replica.isReadyLeader(), 5000, 10)
        await assert.rejects(refusing.writes.write({ type: 'kv.put', key: 'k', value: 'v' }), InvalidCommandError)
        assert.equal(await countOf(refusing.metrics.writeDuration, { outcome: 'refused' }), 1)
        assert.equal(await countOf(refusing.metrics.writeDuration, { outcome: 'committed' }), 0)
      } finally {
        await refusing.replica.stop(false)
      }
      await rm(dir, { recursive: true, force: true })
      // Not the first node of a cluster, and nobody to join: no leader ever.
      const alone = await oneVoter({ bootstrap: false, writeTimeoutMs: 100 })
      try {
        await assert.rejects(alone.writes.write({ type: 'kv.put', key: 'k', value: 'v' }), NoLeaderError)
        assert.equal(await countOf(alone.metrics.writeDuration, { outcome: 'no_leader' }), 1)
        assert.ok((await valueOf(alone.metrics.writeDuration, { outcome: 'no_leader' }, '_sum')) >= 0.09)
        assert.equal(await valueOf(alone.metrics.leaderChanges), 0)
      } finally {
        await alone.replica.stop(false)
      }
    })
  })

  describe('messages sent', () => {
    const append = (to: string, dataBytes: number): AppendMessage => ({
      type: 'append',
      from: 'n1',
      to,
      term: 1,
      prevLogIndex: 0,
      prevLogTerm: 0,
      commit: 0,
      entries: [{ index: 1, term: 1, type: 'normal', data: 'x'.repeat(dataBytes) }],
    })

    it('raft: a message counts once when all of it is queued, as dropped when any frame is not', async () => {
      const metrics = new NodeMetrics(false)
      let frames = 0
      let refuseAfter = Infinity
      const { host } = stubHost('n1', () => ++frames <= refuseAfter)
      const transport = new P2PRaftTransport(host, metrics, silent)
      transport.send(append('n2', 10))
      assert.equal(frames, 1)
      // Over two chunks: three frames, one message.
      transport.send(append('n2', 2 * RAFT_CHUNK_BYTES + 10))
      assert.equal(frames, 4)
      assert.equal(await valueOf(metrics.wireSent, { protocol: RAFT_PROTOCOL }), 2)
      refuseAfter = frames + 1 // the second frame of the next message finds the queue full
      transport.send(append('n2', 2 * RAFT_CHUNK_BYTES + 10))
      assert.equal(await valueOf(metrics.wireSent, { protocol: RAFT_PROTOCOL }), 2)
      assert.equal(await valueOf(metrics.wireSendDropped, { protocol: RAFT_PROTOCOL }), 1)
    })

    it('rpc: a frame counts as sent when queued, as dropped when there is no channel', async () => {
      const metrics = new NodeMetrics(false)
      let open = true
      const { host } = stubHost('n1', () => open)
      const rpc = new RpcEndpoint(host, metrics, silent)
      const frame = {
        v: RPC_WIRE_VERSION,
        type: 'propose',
        id: 'a-1',
        command: { type: 'kv.put', key: 'k', value: 'v' },
      } as const
      assert.equal(rpc.send('n2', frame), true)
      open = false
      assert.equal(rpc.send('n2', frame), false)
      assert.equal(await valueOf(metrics.wireSent, { protocol: RPC_PROTOCOL }), 1)
      assert.equal(await valueOf(metrics.wireSendDropped, { protocol: RPC_PROTOCOL }), 1)
    })

    it('membership: probes and syncs count per frame, events per publication', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'meshos-metrics-'))
      const key = await generateKeyPair('Ed25519')
      const self = peerIdOfKey(key)
      const other = peerIdOfKey(await generateKeyPair('Ed25519'))
      const metrics = new NodeMetrics(false)
      const { host, published } = stubHost(self)
      const membership = new Membership({
        host,
        signer: new RecordSigner(key),
        info: memberInfo(self),
        incarnation: 1,
        dataDir: dir,
        config: { ...DEFAULT_MEMBERSHIP, leaveFlushMs: 0 },
        bootstrap: [`/ip4/127.0.0.1/tcp/1/p2p/${other}`],
        clock: systemClock,
        random: Math.random,
        logger: silent,
        metrics,
        onIncarnation: () => {},
        inUse: () => false,
      })
      try {
        await membership.start()
        // Joining asks the bootstrap peer for its members.
        assert.ok((await valueOf(metrics.wireSent, { protocol: MEMBERSHIP_PROTOCOL })) >= 1)
        assert.equal(await valueOf(metrics.wireSent, { protocol: MEMBERSHIP_TOPIC }), 0)
        await membership.stop(true)
        // A graceful leave is announced on the topic.
        assert.ok(published.includes(MEMBERSHIP_TOPIC))
        assert.equal(
          await valueOf(metrics.wireSent, { protocol: MEMBERSHIP_TOPIC }),
          published.filter(t => t === MEMBERSHIP_TOPIC).length,
        )
      } finally {
        await membership.stop(false)
        await rm(dir, { recursive: true, force: true })
      }
    })
  })

  describe('the task queue', () => {
    function queue(leader = true) {
      const metrics = new NodeMetrics(false)
      const clock = new FakeClock()
      const table = new TaskTable()
      let index = 0
      const apply = (command: TaskCommand): void => {
        table.apply(command, ++index)
      }
      const view: TaskClusterView = {
        table,
        leader: () => 'n1',
        term: () => 2,
        isReadyLeader: () => leader,
        caughtUp: () => true,
        holdsLog: () => true,
      }
      meterTaskQueue(view, clock, metrics)
      return { metrics, clock, apply }
    }
    const submit = (id: string, extra: Record<string, unknown> = {}, assign?: string): TaskCommand => ({
      type: 'task.submit',
      term: 2,
      tasks: [
        { id, spec: spec(extra), submittedAt: 1, ...(assign ? { assign: { node: assign, placement: 'p' } } : {}) },
      ],
    })
    const assign = (id: string, attempt = 1): TaskCommand => ({
      type: 'task.assign',
      term: 2,
      assignments: [{ id, attempt, node: 'n1', placement: 'p' }],
    })

    it('times a task from its submission to its assignment, on the leader', async () => {
      const { metrics, clock, apply } = queue()
      apply(submit('a'))
      clock.advance(250)
      apply(assign('a'))
      assert.equal(await countOf(metrics.schedulingLatency), 1)
      assert.equal(await valueOf(metrics.schedulingLatency, {}, '_sum'), 0.25)
      // Placed in its own submission entry: no wait at all.
      apply(submit('b', {}, 'n1'))
      assert.equal(await countOf(metrics.schedulingLatency), 2)
      assert.equal(await valueOf(metrics.schedulingLatency, {}, '_sum'), 0.25)
    })

    it('times a retry from its return to the queue', async () => {
      const { metrics, clock, apply } = queue()
      apply(submit('a', { retries: 1 }, 'n1'))
      clock.advance(1000)
      apply({
        type: 'task.report',
        node: 'n1',
        events: [
          {
            kind: 'finished',
            id: 'a',
            attempt: 1,
            at: clock.nowMs(),
            startedAt: null,
            reason: 'exited',
            exitCode: 1,
            signal: null,
            message: '',
          },
        ],
      })
      clock.advance(40)
      apply(assign('a', 2))
      assert.equal(await countOf(metrics.schedulingLatency), 2)
      assert.equal(await valueOf(metrics.schedulingLatency, {}, '_sum'), 0.04)
    })

    it('a follower times nothing: scheduling is the leader’s', async () => {
      const { metrics, clock, apply } = queue(false)
      apply(submit('a'))
      clock.advance(100)
      apply(assign('a'))
      assert.equal(await countOf(metrics.schedulingLatency), 0)
    })

    it('counts pending tasks per tenant at each scrape, and drops a tenant with none', async () => {
      const { metrics, apply } = queue()
      apply(submit('a1', { tenant: 'alpha' }))
      apply(submit('a2', { tenant: 'alpha' }))
      apply(submit('b1', { tenant: 'beta' }))
      await metrics.scrape()
      assert.equal(await valueOf(metrics.tasksPending, { tenant: 'alpha' }), 2)
      assert.equal(await valueOf(metrics.tasksPending, { tenant: 'beta' }), 1)
      apply(assign('b1'))
      await metrics.scrape()
      const { values } = await metrics.tasksPending.get()
      assert.deepEqual(
        values.map(v => [v.labels.tenant, v.value]),
        [['alpha', 2]],
      )
    })
  })

  describe('task attempts on this node', () => {
    const outcome = (over: Partial<TaskOutcome>): TaskOutcome => ({
      taskId: 't',
      attempt: 1,
      reason: 'exited',
      exitCode: 0,
      signal: null,
      message: '',
      startedAtMs: 1000,
      finishedAtMs: 3500,
      ...over,
    })

    it('counts outcomes, spawn failures and run time, and passes every callback on', async () => {
      const metrics = new NodeMetrics(false)
      let inner: ExecutorListener | null = null
      let refuse = false
      const executor = meteredExecutor(
        {
          listen: (l: ExecutorListener) => {
            inner = l
          },
          launch: () => (refuse ? { ok: false, reason: 'not enough cpus' } : { ok: true }),
          spawnerKind: 'launcher',
        } as unknown as TaskExecutor,
        metrics,
      )
      const heard: string[] = []
      executor.listen({
        onStarted: task => heard.push(`started ${task.taskId}`),
        onFinished: o => heard.push(`finished ${o.taskId}`),
      })
      inner!.onStarted({ taskId: 't', attempt: 1, pid: 1, startedAtMs: 1000, cpus: 1, memoryMb: 1 })
      inner!.onFinished(outcome({}))
      inner!.onFinished(outcome({ exitCode: 3 }))
      inner!.onFinished(outcome({ reason: 'timeout', exitCode: null, signal: 'SIGTERM' }))
      inner!.onFinished(outcome({ reason: 'spawn_error', exitCode: null, startedAtMs: null }))
      assert.deepEqual(heard, ['started t', 'finished t', 'finished t', 'finished t', 'finished t'])
      const launch = { taskId: 'u', attempt: 1, command: 'true', env: {}, cpus: 1, memoryMb: 1, timeoutMs: null }
      assert.equal(executor.launch(launch).ok, true)
      refuse = true
      assert.equal(executor.launch(launch).ok, false)
      assert.equal(executor.spawnerKind, 'launcher')

      const outcomes = Object.fromEntries(
        (await metrics.taskOutcomes.get()).values.map(v => [v.labels.outcome, v.value]),
      )
      assert.deepEqual(outcomes, { succeeded: 1, exit_code: 1, timeout: 1, spawn_error: 1, refused: 1 })
      assert.equal(await valueOf(metrics.spawnFailures), 1)
      // Three attempts ran (2.5 s each); the one that never started has no run time.
      assert.equal(await countOf(metrics.taskRunDuration), 3)
      assert.equal(await valueOf(metrics.taskRunDuration, {}, '_sum'), 7.5)
    })

    it('the master counts the attempts it declares lost and the tasks whose deadline passed', async () => {
      const metrics = new NodeMetrics(false)
      const table = new TaskTable()
      let index = 0
      const apply = (command: TaskCommand): void => {
        table.apply(command, ++index)
      }
      apply({
        type: 'task.submit',
        term: 2,
        tasks: [
          { id: 'x', spec: spec(), submittedAt: 1, assign: { node: 'n2', placement: 'p' } },
          { id: 'y', spec: spec(), submittedAt: 1, assign: { node: 'n2', placement: 'p' } },
          { id: 'late', spec: spec({ deadline: 1000 }), submittedAt: 1 },
        ],
      })
      const cluster: TaskCluster = {
        table,
        leader: () => 'n1',
        term: () => 2,
        isReadyLeader: () => true,
        caughtUp: () => true,
        holdsLog: () => true,
        write: async command => {
          apply(command)
        },
      }
      const members = staticMembers(memberInfo('n1'), [memberView(memberInfo('n2'), 'dead')])
      const master = new Master({
        cluster,
        members,
        placer: new Placer({ self: 'n1', cluster, members, policy: 'spread', maxTasksPerRound: 100 }),
        clock: new FakeClock(),
        pollMs: 60_000,
        unknownWorkerGraceMs: 0,
        logger: silent,
        metrics,
      })
      try {
        master.poke()
        await waitFor('the lost tasks', async () => table.get('x')?.state === 'failed', 2000, 5)
        await waitFor('the late task', async () => table.get('late')?.state === 'failed', 2000, 5)
        assert.equal(await valueOf(metrics.taskOutcomes, { outcome: 'lost' }), 2)
        assert.equal(await valueOf(metrics.taskOutcomes, { outcome: 'deadline_missed' }), 1)
      } finally {
        master.stop()
      }
    })
  })

  describe('HTTP requests', () => {
    const metrics = new NodeMetrics(false)
    const node = {
      status: () => ({ nodeId: 'n1' }),
      metricsText: async () => await metrics.scrape(),
      metrics,
      tasks: {
        get: (id: string) => {
          throw new TaskNotFoundError(`no task ${id}`)
        },
      },
    } as unknown as NodeApi
    const app = buildHttpApp(node, silent, { host: '127.0.0.1', port: 80, token: null, refusedUids: [] })
    after(async () => {
      await app.close()
    })

    it('labels by route pattern and status, never by the URL sent', async () => {
      assert.equal((await app.inject({ method: 'GET', url: '/v1/health' })).statusCode, 200)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/tasks/abc' })).statusCode, 404)
      assert.equal((await app.inject({ method: 'GET', url: '/v1/tasks/def' })).statusCode, 404)
      assert.equal((await app.inject({ method: 'GET', url: '/no/such/route?x=1' })).statusCode, 404)
      const requests = (await metrics.httpRequests.get()).values.map(v => ({ ...v.labels, n: v.value }))
      assert.deepEqual(
        requests.sort((a, b) => String(a.route).localeCompare(String(b.route))),
        [
          { method: 'GET', route: '/v1/health', status: '200', n: 1 },
          { method: 'GET', route: '/v1/tasks/:id', status: '404', n: 2 },
          { method: 'GET', route: 'unmatched', status: '404', n: 1 },
        ],
      )
      assert.equal(await countOf(metrics.httpDuration, { method: 'GET', route: '/v1/tasks/:id' }), 2)
      assert.ok((await valueOf(metrics.httpDuration, { method: 'GET', route: '/v1/tasks/:id' }, '_sum')) > 0)
    })

    it('counts a refusal of the access rules', async () => {
      const before = await valueOf(metrics.httpRequests, { route: '/v1/health', status: '403' })
      const res = await app.inject({ method: 'GET', url: '/v1/health', headers: { origin: 'http://evil.example' } })
      assert.equal(res.statusCode, 403)
      assert.equal(await valueOf(metrics.httpRequests, { route: '/v1/health', status: '403' }), before + 1)
    })
  })

  describe('the registry', () => {
    it("has prom-client's process metrics under meshos_, event-loop lag included, without gauges named _total", async () => {
      const metrics = new NodeMetrics(true)
      const { body } = await metrics.scrape()
      for (const name of [
        'meshos_nodejs_eventloop_lag_seconds',
        'meshos_nodejs_eventloop_lag_p99_seconds',
        'meshos_process_cpu_seconds_total',
        'meshos_nodejs_active_handles',
      ])
        assert.match(body, new RegExp(`^# TYPE ${name} `, 'm'))
      assert.doesNotMatch(body, /^# TYPE \S+_total (gauge|histogram)/m)
    })

    it('runs every scrape hook before it renders', async () => {
      const metrics = new NodeMetrics(false)
      let term = 4
      metrics.onScrape(() => metrics.raftTerm.set(term))
      assert.match((await metrics.scrape()).body, /^meshos_raft_term 4$/m)
      term = 5
      assert.match((await metrics.scrape()).body, /^meshos_raft_term 5$/m)
    })
  })
})
