// Peers that hold the cluster key but are not voters attack a 3-node cluster of real `meshos
// agent` processes that has elected a leader and runs tasks: a stranger claims leadership (at
// higher and equal terms, in chunks, with impossible numbers and junk configs); a stranger and
// then a member ask the leader for privileged writes; members that the autopilot makes learners
// stay learners and get no vote when the leader stops answering; fresh peers advertise impossible
// records and announce endless gossip topics. Each attempt must show in a rejection counter of
// the nodes it reached; afterwards every node serves, follows the genuine leader at a genuine
// term, has run nothing for the rogues, and its data dir opens after a graceful restart and
// after SIGKILL. Invalid gossip costs its sender the connection, so each attack comes from a
// fresh identity.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { chmod } from 'node:fs/promises'
import path from 'node:path'
import { fromString } from 'uint8arrays'
import { AgentProcess } from '../../harness/agent-process.js'
import { waitFor } from '../../harness/wait-for.js'
import {
  RAFT_CHUNK_BYTES,
  RAFT_FRAME_MAX_BYTES,
  RAFT_PROTOCOL,
  decodeRaftFrame,
  encodeRaftFrames,
} from '../../src/election/transport/raft-wire.js'
import type { RaftMessage } from '../../src/election/core/types.js'
import {
  RPC_PROTOCOL,
  RPC_WIRE_VERSION,
  decodeRpcFrame,
  encodeRpcFrame,
  type RpcFrame,
} from '../../src/cluster/write-rpc.js'
import { MEMBERSHIP_PROTOCOL, MEMBERSHIP_TOPIC } from '../../src/gossip/wire.js'
import { MEMBERSHIP_LIMITS } from '../../src/gossip/config.js'
import type { MemberSnapshot } from '../../src/gossip/core/types.js'
import { parseTaskSpec } from '../../src/tasks/spec.js'
import type { TaskRecord } from '../../src/tasks/task-table.js'
import {
  ElectionCluster,
  FAILOVER_BOUND_MS,
  clusterOf,
  describeStatuses,
  listKv,
  waitAgreement,
  waitClusterReady,
  waitSameKv,
} from '../helpers/election.js'
import { api, getTask, waitState, waitTerminal } from '../helpers/tasks.js'
import { RogueMember } from '../helpers/rogue-member.js'
import { loopbackHost } from '../helpers/fixtures.js'
import { DEFAULT_ELECTION } from '../../src/election/config.js'
import { FOREIGN_TOPIC_REJECTION } from '../../src/p2p/host.js'

/** A task's life, a counter's update, a member's appearance: bounds for a loaded 2-core machine. */
const SETTLE_MS = 10_000
/** A restarted node: it opens its data dir, rejoins membership, and the leader catches it up. */
const REJOIN_BOUND_MS = 20_000
/** A term no genuine election reaches during this suite: the rogue's "higher term". */
const ROGUE_TERM_AHEAD = 1000

const FRAME_LIMITS = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxQueuedBytes: 8 * 1024 * 1024,
  dialTimeoutMs: 5000,
  redialBackoffMs: 100,
}

interface CounterRef {
  name: string
  labels: Record<string, string>
}
const raftRejected = (type: string, reason: string): CounterRef => ({
  name: 'meshos_raft_messages_rejected_total',
  labels: { type, reason },
})
const wireRejected = (protocol: string, reason: string): CounterRef => ({
  name: 'meshos_wire_messages_rejected_total',
  labels: { protocol, reason },
})
const peersRefused = (reason: string): CounterRef => ({ name: 'meshos_p2p_peers_refused_total', labels: { reason } })

function describeCounter(c: CounterRef): string {
  return `${c.name}{${Object.entries(c.labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`
}

/** The sum of `c`'s series whose labels include all of `c.labels`, as `agent` exports it. */
async function counterValue(agent: AgentProcess, c: CounterRef): Promise<number> {
  const res = await fetch(`${agent.client.baseUrl}/metrics`)
  assert.equal(res.status, 200, `${agent.opts.name} /metrics`)
  let total = 0
  for (const line of (await res.text()).split('\n')) {
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line)
    if (m?.[1] !== c.name) continue
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map(l => [l[1], l[2]]))
    if (Object.entries(c.labels).every(([k, v]) => labels[k] === v)) total += Number(m[3])
  }
  return total
}

/** Sends an attack and waits until `counter` rose by at least `times` on every one of `targets`. */
async function expectCounted(
  what: string,
  targets: AgentProcess[],
  counter: CounterRef,
  times: number,
  send: () => void | Promise<void>,
): Promise<void> {
  const before = await Promise.all(targets.map(async t => await counterValue(t, counter)))
  await send()
  let seen: number[] = []
  await waitFor(
    `${what}: ${describeCounter(counter)} +${times} on ${targets.map(t => t.opts.name).join(',')}`,
    async () => {
      seen = await Promise.all(targets.map(async (t, i) => (await counterValue(t, counter)) - before[i]!))
      return seen.every(d => d >= times)
    },
    SETTLE_MS,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; increments seen: ${seen.join(',')}`)
  })
}

/** Every node's process runs and its /v1/nodes, /v1/tasks and /v1/status answer 200. */
async function assertServing(agents: AgentProcess[], when: string): Promise<void> {
  for (const a of agents) {
    assert.equal(a.child.exitCode, null, `${a.opts.name} exited ${when}: ${a.logs.slice(-2000)}`)
    assert.equal(a.child.signalCode, null, `${a.opts.name} was killed ${when}`)
    for (const p of ['/v1/nodes', '/v1/tasks', '/v1/status']) {
      const res = await api(a, 'GET', p)
      assert.equal(res.status, 200, `${a.opts.name} GET ${p} ${when}: ${JSON.stringify(res.body)}`)
    }
  }
}

describe('a hostile peer that holds the cluster key', function () {
  this.timeout(120_000)
  const cluster = new ElectionCluster()
  let agents: AgentProcess[] = []
  /** The genuine leader and term once the cluster formed. */
  let leader: AgentProcess
  let genuineTerm: number
  /** Every id a genuine node has: tasks may run only on these. */
  let genuineIds: Set<string>
  /** Every peer the rogue side made, stopped at the end. */
  const rogues: RogueMember[] = []
  const others: Array<{ stop: () => Promise<void> }> = []
  /** Tasks the test submitted: the only ones that may exist. */
  const submitted: string[] = []
  /** Running for the whole attack, so forged commands have something to act on. */
  let longTasks: string[] = []
  /** A ghost task would create this file (the directory is writable by any task user). */
  let ghostMarker: string

  async function rogue(): Promise<RogueMember> {
    const r = await RogueMember.create()
    rogues.push(r)
    for (const a of agents) await r.host.dial([a.addr], 5000)
    return r
  }

  before(async () => {
    agents = await cluster.start(3)
    const ready = await waitClusterReady(agents, 3)
    leader = ready.leader
    genuineTerm = ready.term
    genuineIds = new Set(agents.map(a => a.peerId))
    const markerDir = await cluster.dirs.make('meshos-hostile-marker-')
    await chmod(markerDir, 0o777)
    ghostMarker = path.join(markerDir, 'ghost-ran')

    await leader.client.kvPut('before-attack', 'kept')
    const quick = await leader.client.submitTask({ command: 'echo genuine', name: 'quick' })
    submitted.push(quick.id)
    longTasks = (
      await leader.client.submitTasks([
        { command: 'sleep 120', name: 'long-1' },
        { command: 'sleep 120', name: 'long-2' },
      ])
    ).tasks.map(t => t.id)
    submitted.push(...longTasks)
    assert.equal((await waitTerminal(leader, quick.id, SETTLE_MS * 3)).state, 'succeeded')
    for (const id of longTasks) await waitState(leader, id, ['running'], SETTLE_MS * 3)
  })

  after(async function () {
    for (const r of rogues) await r.stop().catch(() => {})
    for (const o of others) await o.stop().catch(() => {})
    await cluster.cleanup()
  })

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.logs())
  })

  it('Raft: leader claims from a stranger, at any term, whole or in chunks, and impossible frames are refused and counted on every node', async () => {
    const stranger = await rogue()
    const view = await clusterOf(leader)
    const T = view.term
    const ahead = T + ROGUE_TERM_AHEAD
    const prev = view.commitIndex
    const spec = parseTaskSpec({ command: `touch ${ghostMarker}`, name: 'ghost' })
    assert.ok(spec.ok)
    const ghostTask = (victim: string): TaskRecord => ({
      id: 'ghost-snapshot',
      seq: prev + 1,
      spec: spec.spec,
      state: 'assigned',
      attempt: 1,
      node: victim,
      exitCode: null,
      signal: null,
      reason: null,
      message: null,
      submittedAt: Date.now(),
      startedAt: null,
      finishedAt: null,
      placement: 'the rogue says so',
      assignTerm: ahead,
      cancelRequested: false,
      failures: 0,
      refusals: 0,
      history: [],
    })
    /** A snapshot that makes the stranger the only voter and gives the victim a task; `pad` bytes
     * of padding make it travel in chunks. */
    const snapshot = (to: string, pad = 0): RaftMessage => ({
      type: 'snapshot',
      from: stranger.peerId,
      to,
      term: ahead,
      snapshot: {
        index: prev + 1000,
        term: ahead,
        config: { voters: [stranger.peerId], learners: [] },
        data: {
          version: 2,
          kv: [['pwned', 'by the rogue']],
          tasks: { tasks: [ghostTask(to)], finishedOrder: [], maxAssignTerm: 1e15 },
          ...(pad > 0 ? { pad: 'x'.repeat(pad) } : {}),
        },
      },
    })
    const append = (to: string, term: number, entries: unknown[] = []): RaftMessage =>
      ({
        type: 'append',
        from: stranger.peerId,
        to,
        term,
        prevLogIndex: prev,
        prevLogTerm: T,
        entries,
        commit: prev + entries.length,
      }) as RaftMessage
    const heartbeat = (to: string, term: number, commit = prev, from = stranger.peerId): RaftMessage => ({
      type: 'heartbeat',
      from,
      to,
      term,
      commit,
    })
    const raw = (value: object): Uint8Array => fromString(JSON.stringify(value))
    const send = (to: AgentProcess, frames: Uint8Array[]): void => {
      for (const frame of frames) assert.ok(stranger.host.sendFrame(to.peerId, RAFT_PROTOCOL, frame, FRAME_LIMITS))
    }
    const whole = (msg: RaftMessage): Uint8Array[] => encodeRaftFrames(msg, 0)
    const chunked = encodeRaftFrames(snapshot(agents[0]!.peerId, RAFT_CHUNK_BYTES), 1).length
    assert.ok(chunked >= 2, 'the padded snapshot travels in chunks')
    let transfer = 10

    const attacks: Array<[string, CounterRef, number, (to: AgentProcess) => Uint8Array[]]> = [
      [
        `a snapshot at term T+${ROGUE_TERM_AHEAD} naming the stranger the only voter and assigning a task to the victim`,
        raftRejected('snapshot', 'not_voter'),
        1,
        to => whole(snapshot(to.peerId)),
      ],
      [
        'the same snapshot in chunks (each chunk refused before it is buffered)',
        raftRejected('snapshot', 'not_voter'),
        chunked,
        to => encodeRaftFrames(snapshot(to.peerId, RAFT_CHUNK_BYTES), transfer++),
      ],
      [
        'an append at a higher term',
        raftRejected('append', 'not_voter'),
        1,
        to => whole(append(to.peerId, ahead, [{ term: ahead, index: prev + 1, type: 'normal', data: null }])),
      ],
      [
        'a heartbeat at a higher term',
        raftRejected('heartbeat', 'not_voter'),
        1,
        to => whole(heartbeat(to.peerId, ahead)),
      ],
      [
        'a transfer vote request at a higher term',
        raftRejected('vote', 'not_voter'),
        1,
        to =>
          whole({
            type: 'vote',
            from: stranger.peerId,
            to: to.peerId,
            term: ahead,
            lastLogIndex: prev + 1000,
            lastLogTerm: ahead,
            transfer: true,
          }),
      ],
      [
        'an append at the current term (an equal-term leader claim)',
        raftRejected('append', 'not_leader'),
        1,
        to =>
          whole(
            append(to.peerId, T, [
              { term: T, index: prev + 1, type: 'normal', data: { type: 'kv.put', key: 'pwned', value: 'x' } },
            ]),
          ),
      ],
      [
        'a heartbeat at the current term',
        raftRejected('heartbeat', 'not_leader'),
        1,
        to => whole(heartbeat(to.peerId, T)),
      ],
      [
        'a timeoutNow at the current term',
        raftRejected('timeoutNow', 'not_leader'),
        1,
        to => whole({ type: 'timeoutNow', from: stranger.peerId, to: to.peerId, term: T }),
      ],
      [
        'a heartbeat whose commit is past the log',
        raftRejected('heartbeat', 'not_leader'),
        1,
        to => whole(heartbeat(to.peerId, T, prev + 2 ** 40)),
      ],
      [
        // A voter's identity cannot be borrowed (the connection authenticates the sender), so
        // the closest a stranger gets to an equal-term claim by a voter is to name one.
        "a heartbeat at the current term in a voter's name (the leader's, or a follower's for the leader)",
        wireRejected(RAFT_PROTOCOL, 'wrong_sender'),
        1,
        to => {
          const voter = to === leader ? agents.find(a => a !== leader)! : leader
          return whole(heartbeat(to.peerId, T, prev, voter.peerId))
        },
      ],
      [
        'an append with a junk config entry',
        wireRejected(RAFT_PROTOCOL, 'invalid_schema'),
        1,
        to =>
          whole(
            append(to.peerId, ahead, [
              { term: ahead, index: prev + 1, type: 'config', data: { voters: 'junk', learners: [] } },
            ]),
          ),
      ],
      [
        'a heartbeat at term 2^53',
        wireRejected(RAFT_PROTOCOL, 'invalid_schema'),
        1,
        to => [raw({ type: 'heartbeat', from: stranger.peerId, to: to.peerId, term: 2 ** 53, commit: 0 })],
      ],
      [
        'an append at term 1e15',
        wireRejected(RAFT_PROTOCOL, 'invalid_schema'),
        1,
        to => [
          raw({
            type: 'append',
            from: stranger.peerId,
            to: to.peerId,
            term: 1e15,
            prevLogIndex: prev,
            prevLogTerm: T,
            entries: [],
            commit: prev,
          }),
        ],
      ],
    ]
    for (const [what, counter, times, frames] of attacks) {
      await expectCounted(what, agents, counter, times, () => {
        for (const a of agents) send(a, frames(a))
      })
      await assertServing(agents, `after ${what}`)
    }

    // Nobody follows the stranger, no term came from it, and nothing it sent was applied.
    const after = await waitAgreement(agents, FAILOVER_BOUND_MS, 'a genuine leader')
    assert.ok(genuineIds.has(after.leader.peerId), describeStatuses(after.statuses))
    assert.ok(after.term < ahead, `term ${after.term} came from the stranger: ${describeStatuses(after.statuses)}`)
    for (const a of agents) {
      assert.equal((await listKv(a)).pwned, undefined, `${a.opts.name} applied the stranger's state`)
      assert.equal(await getTask(a, 'ghost-snapshot'), undefined, `${a.opts.name} has the stranger's task`)
      const c = await clusterOf(a)
      assert.ok(!c.voters.some(v => v.id === stranger.peerId), `${a.opts.name} counts the stranger a voter`)
    }
  })

  it('rpc: privileged commands are refused, as a non-member (not_member) and as a member (by what they ask)', async () => {
    const asker = await rogue()
    const results = new Map<string, RpcFrame>()
    await asker.host.handleFrames(RPC_PROTOCOL, 1024 * 1024, (_from, bytes) => {
      const frame = decodeRpcFrame(bytes)
      if (frame.ok && frame.value.type === 'result') results.set(frame.value.id, frame.value)
    })
    let n = 0
    const ask = async (command: unknown): Promise<RpcFrame> => {
      const id = `hostile-${++n}`
      assert.ok(
        asker.host.sendFrame(
          leader.peerId,
          RPC_PROTOCOL,
          encodeRpcFrame({ v: RPC_WIRE_VERSION, type: 'propose', id, command }),
          FRAME_LIMITS,
        ),
      )
      return await waitFor(`the answer to ${id}`, async () => results.get(id), SETTLE_MS)
    }
    const spec = parseTaskSpec({ command: `touch ${ghostMarker}` })
    assert.ok(spec.ok)
    const running = await getTask(leader, longTasks[0]!)
    assert.ok(running?.node != null && running.state === 'running', JSON.stringify(running))
    const privileged: Array<[string, unknown, string]> = [
      [
        'an assignment to itself with term 1e15',
        {
          type: 'task.assign',
          term: 1e15,
          assignments: [{ id: 'ghost-assign', attempt: 1, node: asker.peerId, placement: 'mine' }],
        },
        'leader_only',
      ],
      [
        'a loss report of a running task',
        { type: 'task.lost', node: running.node, tasks: [{ id: running.id, attempt: 1 }], at: 1, message: 'lost' },
        'leader_only',
      ],
      ['an expiry of a running task', { type: 'task.expire', ids: [running.id], at: 1 }, 'leader_only'],
      [
        'a submission with its own placement and term',
        {
          type: 'task.submit',
          tasks: [
            { id: 'ghost-submit', spec: spec.spec, submittedAt: 1, assign: { node: asker.peerId, placement: 'mine' } },
          ],
          term: 1e15,
        },
        'preassigned',
      ],
      [
        "a report finishing another node's task",
        {
          type: 'task.report',
          node: running.node,
          events: [
            {
              kind: 'finished',
              id: running.id,
              attempt: 1,
              at: 2,
              startedAt: 1,
              reason: 'exited',
              exitCode: 1,
              signal: null,
              message: 'forged',
            },
          ],
        },
        'foreign_report',
      ],
    ]
    for (const [what, command] of privileged) {
      let answer: RpcFrame | undefined
      await expectCounted(
        `${what}, from a non-member`,
        [leader],
        wireRejected(RPC_PROTOCOL, 'not_member'),
        1,
        async () => {
          answer = await ask(command)
        },
      )
      assert.ok(
        answer?.type === 'result' && !answer.ok && answer.code === 'retry',
        `${what}: ${JSON.stringify(answer)}`,
      )
    }

    // A member advertising the most a node may is a member like any other.
    const max = { cpus: MEMBERSHIP_LIMITS.maxCpus, memoryMb: MEMBERSHIP_LIMITS.maxMemoryMb }
    await asker.join(leader, { capacity: max })
    assert.deepEqual((await leader.client.node(asker.peerId)).capacity, max)
    for (const [what, command, reason] of privileged) {
      let answer: RpcFrame | undefined
      await expectCounted(`${what}, from a member`, [leader], wireRejected(RPC_PROTOCOL, reason), 1, async () => {
        answer = await ask(command)
      })
      assert.ok(
        answer?.type === 'result' && !answer.ok && answer.code === 'invalid',
        `${what}: ${JSON.stringify(answer)}`,
      )
      assert.match(answer.message, /^forbidden: /, what)
    }
    // Its claim of 1e300 cpus, in an update of its own record, is refused: it keeps the maximum.
    await expectCounted(
      'an update of its own record claiming 1e300 cpus',
      [leader],
      wireRejected(MEMBERSHIP_PROTOCOL, 'invalid_schema'),
      1,
      () => {
        const record = asker.record({ capacity: { cpus: 1e300, memoryMb: 1e300 } }, asker.joinedIncarnation, 1)
        asker.sendJson(leader, { type: 'syncPush', members: [asker.snapshot(record)], last: true })
      },
    )
    assert.deepEqual((await leader.client.node(asker.peerId)).capacity, max)
    await asker.leave(leader)

    const running2 = await getTask(leader, longTasks[0]!)
    assert.deepEqual([running2?.state, running2?.attempt, running2?.node], ['running', 1, running.node])
  })

  it('autopilot: two members that never answer Raft become learners, never voters, and leave the configuration with them', async () => {
    const silent = [await rogue(), await rogue()]
    for (const r of silent) await r.join(leader)
    const ids = new Set(silent.map(r => r.peerId))
    await waitFor(
      'the autopilot to make both members learners',
      async () => (await clusterOf(leader)).learners.filter(l => ids.has(l.id)).length === 2,
      SETTLE_MS,
    )
    // With both, a young 3-voter cluster would grow to 5 if acknowledging nothing counted as
    // caught up; the autopilot looks every autopilotIntervalMs, so give it four looks.
    const watchUntil = Date.now() + 4 * DEFAULT_ELECTION.autopilotIntervalMs
    while (Date.now() < watchUntil) {
      const c = await clusterOf(leader)
      assert.deepEqual(
        c.voters.filter(v => ids.has(v.id)),
        [],
        `a member that never answered Raft became a voter: ${JSON.stringify(c)}`,
      )
      assert.ok(c.commitIndex < DEFAULT_ELECTION.learnerCatchUpLag, 'the log is still shorter than the lag')
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    for (const r of silent) await r.leave(leader)
    await waitFor(
      'the autopilot to drop both learners once they left',
      async () => !(await clusterOf(leader)).learners.some(l => ids.has(l.id)),
      SETTLE_MS,
    )
  })

  it('Raft: a member the autopilot made a learner, claiming a longer log, gets no vote during a failover and leads nobody', async () => {
    const learner = await rogue()
    const granted: string[] = []
    await learner.host.handleFrames(RAFT_PROTOCOL, RAFT_FRAME_MAX_BYTES, (from, bytes) => {
      const frame = decodeRaftFrame(bytes)
      if (frame.ok && frame.value.kind === 'message' && frame.value.message.type === 'voteResp')
        if (frame.value.message.granted) granted.push(from)
    })
    await learner.join(leader)
    await waitFor(
      'the autopilot to make the rogue a learner',
      async () => (await clusterOf(leader)).learners.some(l => l.id === learner.peerId),
      SETTLE_MS,
    )
    const before = await waitAgreement(agents, FAILOVER_BOUND_MS, 'a genuine leader')
    const ahead = before.term + ROGUE_TERM_AHEAD
    const followers = agents.filter(a => a !== before.leader)
    const refusedBefore = await Promise.all(
      followers.map(async f => await counterValue(f, raftRejected('vote', 'not_voter'))),
    )
    // Every 20 ms, to every node: a transfer vote at a far term, claiming a log far ahead, and
    // the leader's messages it would send once elected.
    const spam = setInterval(() => {
      for (const a of agents) {
        const base = { from: learner.peerId, to: a.peerId, term: ahead }
        const vote: RaftMessage = { ...base, type: 'vote', lastLogIndex: 2 ** 40, lastLogTerm: ahead, transfer: true }
        const heartbeat: RaftMessage = { ...base, type: 'heartbeat', commit: 0 }
        for (const msg of [vote, heartbeat])
          learner.host.sendFrame(a.peerId, RAFT_PROTOCOL, encodeRaftFrames(msg, 0)[0]!, FRAME_LIMITS)
      }
    }, 20)
    try {
      // The leader stops answering (a pause, a slow disk): the followers go without a leader
      // and hold an election, the window a learner's vote request is waiting for.
      before.leader.signal('SIGSTOP')
      try {
        await waitAgreement(
          followers,
          FAILOVER_BOUND_MS * 2,
          'a new leader among the followers',
          a => a.term > before.term,
        )
      } finally {
        before.leader.signal('SIGCONT')
      }
      const after = await waitAgreement(agents, FAILOVER_BOUND_MS, 'one genuine leader after the pause')
      assert.ok(genuineIds.has(after.leader.peerId), describeStatuses(after.statuses))
      assert.ok(after.term < ahead, `the learner's term was taken: ${describeStatuses(after.statuses)}`)
      leader = after.leader
    } finally {
      clearInterval(spam)
    }
    assert.deepEqual(granted, [], 'a node voted for the learner')
    const refusedAfter = await Promise.all(
      followers.map(async f => await counterValue(f, raftRejected('vote', 'not_voter'))),
    )
    for (const [i, f] of followers.entries())
      assert.ok(refusedAfter[i]! > refusedBefore[i]!, `${f.opts.name}: the learner's vote requests were not counted`)
    await learner.leave(leader)
  })

  it('membership: records with numbers no node could send are dropped and counted, by frame and by gossip; the sender of invalid gossip is cut off', async () => {
    const impossible: Array<[string, (p: RogueMember) => MemberSnapshot]> = [
      ['capacity 1e300', p => p.snapshot(p.record({ capacity: { cpus: 1e300, memoryMb: 1e300 } }))],
      ['startedAt 2^53', p => p.snapshot(p.record({ startedAt: 2 ** 53 }))],
      [
        'incarnation 1e300',
        p => ({ ...p.snapshot(), stateIncarnation: 1e300, record: { ...p.record(), incarnation: 1e300 } }),
      ],
    ]
    for (const [what, joining] of impossible) {
      const joiner = await rogue()
      await expectCounted(`a join with ${what}`, agents, wireRejected(MEMBERSHIP_PROTOCOL, 'invalid_schema'), 1, () => {
        for (const a of agents) joiner.sendJson(a, { type: 'syncHello', root: [0, 0], joining: joining(joiner) })
      })
      await assertServing(agents, `after a join with ${what}`)
      for (const a of agents) assert.equal(await a.stateOf(joiner.peerId), undefined, `${a.opts.name} lists ${what}`)
    }

    // The same records as gossip: refused, counted, and after three the sender is disconnected.
    const gossiper = await rogue()
    gossiper.host.subscribe(
      MEMBERSHIP_TOPIC,
      () => 'accept',
      () => {},
    )
    await waitFor(
      'the gossiper to see every node subscribed',
      async () => agents.every(a => gossiper.host.topicPeers(MEMBERSHIP_TOPIC).includes(a.peerId)),
      SETTLE_MS,
    )
    const refusedBefore = await Promise.all(agents.map(async a => await counterValue(a, peersRefused('gossip_score'))))
    for (const [what, record] of impossible) {
      const event = { v: 2, kind: 'alive', record: record(gossiper).record }
      await expectCounted(
        `an alive event with ${what}`,
        agents,
        wireRejected(MEMBERSHIP_TOPIC, 'invalid_schema'),
        1,
        async () => {
          await gossiper.host.publish(MEMBERSHIP_TOPIC, fromString(JSON.stringify(event)))
        },
      )
    }
    await waitFor(
      'every node to cut the sender of invalid gossip (meshos_p2p_peers_refused_total{reason="gossip_score"})',
      async () => {
        const now = await Promise.all(agents.map(async a => await counterValue(a, peersRefused('gossip_score'))))
        return now.every((v, i) => v > refusedBefore[i]!)
      },
      SETTLE_MS,
    )
    await waitFor(
      'the gossiper to lose its connections',
      async () => gossiper.host.connectedPeers().length === 0,
      SETTLE_MS,
    )
    for (const a of agents) assert.equal(await a.stateOf(gossiper.peerId), undefined)
  })

  it('gossipsub: endless topic announcements are dropped and counted, and the node keeps serving', async () => {
    const topics = Array.from({ length: 300 }, (_, i) => `junk/${i}/${Math.random().toString(36).slice(2)}`)
    const announcer = await loopbackHost({ topics: [MEMBERSHIP_TOPIC, ...topics] })
    others.push(announcer)
    for (const a of agents) await announcer.dial([a.addr], 5000)
    await waitFor(
      'the announcer to see every node subscribed',
      async () => agents.every(a => announcer.topicPeers(MEMBERSHIP_TOPIC).includes(a.peerId)),
      SETTLE_MS,
    )
    await expectCounted(
      `${topics.length} announcements of foreign topics`,
      agents,
      wireRejected(FOREIGN_TOPIC_REJECTION.protocol, FOREIGN_TOPIC_REJECTION.reason),
      topics.length,
      () => {
        for (const topic of topics)
          announcer.subscribe(
            topic,
            () => 'accept',
            () => {},
          )
      },
    )
    await assertServing(agents, 'after endless topic announcements')
  })

  it('after all of it: every node serves and follows the genuine leader, no task ran for the rogue, and a new task succeeds', async () => {
    await assertServing(agents, 'after the attacks')
    const now = await waitAgreement(agents, FAILOVER_BOUND_MS, 'a genuine leader')
    assert.ok(genuineIds.has(now.leader.peerId), describeStatuses(now.statuses))
    assert.ok(
      now.term >= genuineTerm && now.term < genuineTerm + ROGUE_TERM_AHEAD,
      `term ${now.term} (genuine ${genuineTerm}): ${describeStatuses(now.statuses)}`,
    )
    leader = now.leader
    // The rogue joined and left as a member: once the leader drops it, the voters are the genuine three.
    await waitFor(
      'the configuration to be the three genuine voters and nobody else',
      async () => {
        const c = await clusterOf(leader)
        return c.learners.length === 0 && c.voters.length === 3 && c.voters.every(v => genuineIds.has(v.id))
      },
      SETTLE_MS * 2,
    )

    const after = await leader.client.submitTask({ command: 'echo after', name: 'after' })
    submitted.push(after.id)
    assert.equal((await waitTerminal(leader, after.id, SETTLE_MS * 3)).state, 'succeeded')

    type Listed = { tasks: Array<{ id: string; node: string | null; attempts: Array<{ node: string }> }> }
    for (const a of agents) {
      // A follower applies the last task's outcome a heartbeat after the leader.
      const tasks = await waitFor(
        `${a.opts.name} to list exactly the submitted tasks`,
        async () => {
          const listed = await api<Listed>(a, 'GET', '/v1/tasks?limit=1000')
          assert.equal(listed.status, 200)
          const ids = listed.body.tasks.map(t => t.id).sort()
          return JSON.stringify(ids) === JSON.stringify([...submitted].sort()) ? listed.body.tasks : undefined
        },
        SETTLE_MS,
      )
      for (const t of tasks) {
        const nodes = [t.node, ...t.attempts.map(h => h.node)].filter(n => n !== null)
        assert.ok(
          nodes.every(n => genuineIds.has(n)),
          `${a.opts.name}: task ${t.id} ran on ${nodes.join(',')}`,
        )
      }
    }
    assert.ok(!existsSync(ghostMarker), 'a ghost task ran')
  })

  it('restarts: a graceful one and one after SIGKILL; each data dir opens, the node rejoins, the data is kept', async () => {
    for (const id of longTasks) await leader.client.cancelTask(id)
    for (const id of longTasks) assert.equal((await waitTerminal(leader, id, SETTLE_MS * 3)).state, 'cancelled')
    await leader.client.kvPut('after-attack', 'kept too')
    await waitSameKv(agents, SETTLE_MS, kv => kv['after-attack'] === 'kept too')

    // Graceful: SIGTERM, then the same data dir and ports.
    const follower = agents.find(a => a !== leader)!
    follower.signal('SIGTERM')
    assert.equal(await follower.waitExit(), 0, follower.logs.slice(-2000))
    const back = await AgentProcess.start(follower.opts)
    cluster.agents[cluster.agents.indexOf(follower)] = back
    agents = [...cluster.agents]
    await waitClusterReady(agents, 3, REJOIN_BOUND_MS)

    // SIGKILL, of the leader this time.
    const killed = (await waitAgreement(agents, FAILOVER_BOUND_MS)).leader
    const reborn = await cluster.restart(killed)
    agents = [...cluster.agents]
    const ready = await waitClusterReady(agents, 3, REJOIN_BOUND_MS)
    assert.ok(genuineIds.has(ready.leader.peerId))
    assert.equal(back.peerId, follower.peerId)
    assert.equal(reborn.peerId, killed.peerId)

    await waitSameKv(
      agents,
      REJOIN_BOUND_MS,
      kv => kv['before-attack'] === 'kept' && kv['after-attack'] === 'kept too' && kv.pwned === undefined,
    )
    for (const a of [back, reborn]) {
      const ids = (await api<{ tasks: Array<{ id: string }> }>(a, 'GET', '/v1/tasks?limit=1000')).body.tasks.map(
        t => t.id,
      )
      assert.deepEqual([...ids].sort(), [...submitted].sort(), `${a.opts.name} after its restart`)
    }
    await assertServing(agents, 'after the restarts')
    const last = await ready.leader.client.submitTask({ command: 'echo restarted' })
    submitted.push(last.id)
    assert.equal((await waitTerminal(ready.leader, last.id, SETTLE_MS * 3)).state, 'succeeded')
  })
})
