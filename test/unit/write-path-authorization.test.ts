// What the leader does with writes other nodes forward over /meshos/rpc: only members may forward,
// and only what a node that is not the leader has reason to write; the leader never proposes an
// assignment term past its own, and a cap it enforces reaches the forwarding node as a 429 error.
// The Raft node and the rpc endpoint are hand-driven fakes.
import assert from 'node:assert/strict'
import pino from 'pino'
import { WritePath, type ProposalAmender } from '../../src/cluster/write-path.js'
import { authorizeForward } from '../../src/cluster/forward-policy.js'
import type { ClusterCommand } from '../../src/cluster/commands.js'
import type { Replica } from '../../src/cluster/replica.js'
import type { RpcEndpoint } from '../../src/cluster/rpc-endpoint.js'
import type { RpcFrame } from '../../src/cluster/write-rpc.js'
import { InvalidCommandError } from '../../src/cluster/errors.js'
import { taskCluster } from '../../src/cluster/task-cluster.js'
import type { TaskClusterView } from '../../src/tasks/cluster-port.js'
import { TooManyTasksError } from '../../src/tasks/errors.js'
import { checkTaskCaps } from '../../src/tasks/task-caps.js'
import { TaskTable } from '../../src/tasks/task-table.js'
import { parseTaskSpec, type TaskSpec } from '../../src/tasks/spec.js'
import { FakeClock } from '../helpers/fake-clock.js'

const LEADER = 'leader'
const MEMBER = 'member'
const STRANGER = 'stranger'

function spec(extra: Record<string, unknown> = {}): TaskSpec {
  const r = parseTaskSpec({ command: 'true', ...extra })
  if (!r.ok) throw new Error(r.message)
  return r.spec
}

const submit = (id: string, over: Record<string, unknown> = {}): ClusterCommand => ({
  type: 'task.submit',
  tasks: [{ id, spec: spec(), submittedAt: 1, ...over }],
})

interface Harness {
  writes: WritePath
  /** Commands the fake Raft node appended, in order. */
  appended: unknown[]
  /** Frames the fake rpc endpoint sent. */
  sent: Array<{ to: string; frame: RpcFrame }>
  rejected: string[]
  /** Sends `command` as a forwarded write from `from` and resolves with the leader's answer. */
  ask: (from: string, command: unknown) => Promise<RpcFrame>
}

function harness(opts: { role: 'leader' | 'follower'; term?: number; amend?: ProposalAmender }): Harness {
  const appended: unknown[] = []
  const sent: Array<{ to: string; frame: RpcFrame }> = []
  const rejected: string[] = []
  const term = opts.term ?? 3
  const raft = {
    role: opts.role,
    leader: LEADER,
    term,
    append: (command: unknown) => {
      appended.push(command)
      const at = { index: appended.length, term }
      return { ...at, applied: Promise.resolve(at) }
    },
    awaitApplied: async (index: number, t: number) => ({ index, term: t }),
  }
  const self = opts.role === 'leader' ? LEADER : MEMBER
  const replica = {
    self,
    leader: LEADER,
    started: () => raft,
    holdsLog: () => true,
    reachableVoters: () => '1 of 1 voters reachable',
  } as unknown as Replica
  const waiting = new Map<string, (frame: RpcFrame) => void>()
  const rpc = {
    start: async () => {},
    send: (to: string, frame: RpcFrame) => {
      sent.push({ to, frame })
      waiting.get(frame.id)?.(frame)
      return true
    },
    rejected: (reason: string) => rejected.push(reason),
    accepted: () => {},
  } as unknown as RpcEndpoint
  const writes = new WritePath({
    replica,
    rpc,
    amend: opts.amend ?? (command => ({ command, done: () => {} })),
    isMember: peerId => peerId === MEMBER,
    leader: () => replica.leader,
    leaderLost: () => {},
    config: { writeTimeoutMs: 5000, tickMs: 50 },
    clock: new FakeClock(),
    logger: pino({ level: 'silent' }),
  })
  let seq = 0
  const ask = async (from: string, command: unknown): Promise<RpcFrame> => {
    const id = `q${++seq}`
    const answered = new Promise<RpcFrame>(resolve => waiting.set(id, resolve))
    writes.onPropose(from, { v: 4, type: 'propose', id, command })
    return await answered
  }
  return { writes, appended, sent, rejected, ask }
}

function refusal(frame: RpcFrame): { code: string; message: string } {
  assert.ok(frame.type === 'result' && !frame.ok, JSON.stringify(frame))
  return { code: frame.code, message: frame.message }
}

describe('forwarded writes: authorization on the leader', () => {
  it('a stranger may ask nothing, not even a key-value write; it may ask again later', async () => {
    const h = harness({ role: 'leader' })
    const answer = refusal(await h.ask(STRANGER, { type: 'kv.put', key: 'k', value: 'v' }))
    assert.equal(answer.code, 'retry')
    assert.match(answer.message, /stranger is not a member/)
    assert.deepEqual(h.appended, [])
    assert.deepEqual(h.rejected, ['not_member'])
  })

  it('a member may submit, cancel, write keys and report its own tasks', async () => {
    const h = harness({ role: 'leader' })
    const allowed: unknown[] = [
      submit('t1'),
      { type: 'task.cancel', ids: ['t1'], at: 5 },
      { type: 'kv.put', key: 'k', value: 'v' },
      { type: 'kv.delete', key: 'k' },
      { type: 'task.report', node: MEMBER, events: [{ kind: 'started', id: 't1', attempt: 1, at: 5 }] },
    ]
    for (const command of allowed) {
      const frame = await h.ask(MEMBER, command)
      assert.ok(frame.type === 'result' && frame.ok, JSON.stringify(frame))
    }
    assert.equal(h.appended.length, allowed.length)
    assert.deepEqual(h.rejected, [])
  })

  it('refuses what only the leader decides, placements, a report for another node, and a term of 1e15', async () => {
    const h = harness({ role: 'leader' })
    const forged: Array<[unknown, string]> = [
      [
        { type: 'task.assign', term: 3, assignments: [{ id: 't1', attempt: 1, node: MEMBER, placement: 'x' }] },
        'leader_only',
      ],
      [
        { type: 'task.assign', term: 1e15, assignments: [{ id: 't1', attempt: 1, node: MEMBER, placement: 'x' }] },
        'leader_only',
      ],
      [{ type: 'task.lost', node: LEADER, tasks: [{ id: 't1', attempt: 1 }], at: 5, message: 'gone' }, 'leader_only'],
      [{ type: 'task.expire', ids: ['t1'], at: 5 }, 'leader_only'],
      [submit('t2', { assign: { node: MEMBER, placement: 'mine' } }), 'preassigned'],
      [{ ...submit('t3'), term: 1e15 }, 'preassigned'],
      [
        {
          type: 'task.report',
          node: LEADER,
          events: [{ kind: 'started', id: 't1', attempt: 1, at: 5 }],
        },
        'foreign_report',
      ],
    ]
    for (const [command, reason] of forged) {
      const answer = refusal(await h.ask(MEMBER, command))
      assert.equal(answer.code, 'invalid', JSON.stringify(command))
      assert.match(answer.message, /^forbidden: /)
      assert.equal(h.rejected.at(-1), reason)
    }
    assert.deepEqual(h.appended, [], 'nothing reached the log')
  })

  it('refuses a forwarded spec the HTTP API would refuse, and unbounded lists', async () => {
    const h = harness({ role: 'leader' })
    const base = spec()
    const bad: unknown[] = [
      { type: 'task.submit', tasks: [{ id: 'a', spec: { ...base, cpus: 1e300 }, submittedAt: 1 }] },
      { type: 'task.submit', tasks: [{ id: 'a', spec: { ...base, command: 'x'.repeat(20_000) }, submittedAt: 1 }] },
      { type: 'task.submit', tasks: [{ id: 'a', spec: { ...base, tenant: 'no spaces' }, submittedAt: 1 }] },
      { type: 'task.submit', tasks: [{ id: 'a', spec: { ...base, argv: ['x'] }, submittedAt: 1 }] },
      {
        type: 'task.submit',
        tasks: [
          {
            id: 'a',
            spec: {
              ...base,
              constraints: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`k${i}`, 'v'.repeat(200)])),
            },
            submittedAt: 1,
          },
        ],
      },
      { type: 'task.submit', tasks: [{ id: 'a', spec: base, submittedAt: 1e300 }] },
      { type: 'task.cancel', ids: Array.from({ length: 1001 }, (_, i) => `t${i}`), at: 1 },
      {
        type: 'task.report',
        node: MEMBER,
        events: Array.from({ length: 5001 }, () => ({ kind: 'started', id: 't1', attempt: 1, at: 5 })),
      },
    ]
    for (const command of bad) {
      const answer = refusal(await h.ask(MEMBER, command))
      assert.equal(answer.code, 'invalid')
      assert.match(answer.message, /^command: /)
    }
    assert.equal(h.rejected.length, bad.length)
    assert.ok(h.rejected.every(r => r === 'invalid_schema'))
    assert.deepEqual(h.appended, [])
  })

  it('places a forwarded submission itself, with its own term', async () => {
    const amend: ProposalAmender = command =>
      command.type === 'task.submit'
        ? {
            command: {
              ...command,
              term: 3,
              tasks: command.tasks.map(t => ({ ...t, assign: { node: LEADER, placement: 'p' } })),
            },
            done: () => {},
          }
        : { command, done: () => {} }
    const h = harness({ role: 'leader', amend })
    const frame = await h.ask(MEMBER, submit('t1'))
    assert.ok(frame.type === 'result' && frame.ok)
    assert.deepEqual((h.appended[0] as { term: number }).term, 3)
  })

  it('never proposes an assignment term past its own, from any layer', async () => {
    const h = harness({ role: 'leader', term: 3 })
    await assert.rejects(
      h.writes.write({
        type: 'task.assign',
        term: 4,
        assignments: [{ id: 't1', attempt: 1, node: LEADER, placement: 'p' }],
      }),
      (err: unknown) => err instanceof InvalidCommandError && /term 4 is past this leader's term 3/.test(err.message),
    )
    assert.deepEqual(h.appended, [])
    await h.writes.write({
      type: 'task.assign',
      term: 3,
      assignments: [{ id: 't1', attempt: 1, node: LEADER, placement: 'p' }],
    })
    assert.equal(h.appended.length, 1)
  })
})

describe('the cap on unfinished tasks, enforced by the leader', () => {
  const caps = { maxUnfinishedTasksPerTenant: 2, maxUnfinishedTasks: 3 }
  const table = new TaskTable()
  table.apply(
    {
      type: 'task.submit',
      tasks: [
        { id: 'old1', spec: spec(), submittedAt: 1 },
        { id: 'old2', spec: spec(), submittedAt: 1 },
      ],
    },
    1,
  )
  const amend: ProposalAmender = command => {
    if (command.type === 'task.submit') checkTaskCaps(table, command.tasks, caps)
    return { command, done: () => {} }
  }

  it('refuses a forwarded submission past the cap, naming the limit, and lets a resent one through', async () => {
    const h = harness({ role: 'leader', amend })
    const answer = refusal(await h.ask(MEMBER, submit('new1')))
    assert.equal(answer.code, 'invalid')
    assert.match(answer.message, /^too_many_tasks: tenant default has 2 unfinished tasks .* the limit is 2 per tenant/)
    // Another tenant still fits under its own cap and the total.
    const other = await h.ask(MEMBER, {
      type: 'task.submit',
      tasks: [{ id: 'new2', spec: spec({ tenant: 'b' }), submittedAt: 1 }],
    })
    assert.ok(other.type === 'result' && other.ok)
    // A submission sent again (its tasks already in the table) adds nothing, so it is not refused.
    const resent = await h.ask(MEMBER, submit('old1'))
    assert.ok(resent.type === 'result' && resent.ok)
  })

  it('reaches the forwarding node as TooManyTasksError, and a leader writing locally too', async () => {
    // The follower forwards; the leader's answer is played back to it.
    const follower = harness({ role: 'follower' })
    const leader = harness({ role: 'leader', amend })
    const view = { table } as unknown as TaskClusterView
    const cluster = taskCluster(view, follower.writes)
    const pending = cluster.write(
      { type: 'task.submit', tasks: [{ id: 'new3', spec: spec(), submittedAt: 1 }] },
      { idempotent: true },
    )
    const forwarded = follower.sent[0]!.frame
    assert.equal(forwarded.type, 'propose')
    const answer = await leader.ask(MEMBER, forwarded.type === 'propose' ? forwarded.command : null)
    follower.writes.onResult(LEADER, { ...answer, id: forwarded.id } as Extract<RpcFrame, { type: 'result' }>)
    await assert.rejects(
      pending,
      (err: unknown) => err instanceof TooManyTasksError && /^tenant default has 2 unfinished tasks/.test(err.message),
    )
    const local = taskCluster(view, leader.writes)
    await assert.rejects(
      local.write({ type: 'task.submit', tasks: [{ id: 'new4', spec: spec(), submittedAt: 1 }] }, { idempotent: true }),
      TooManyTasksError,
    )
  })
})

describe('forward policy', () => {
  it('is decided by the sender and the command alone', () => {
    const member = (id: string): boolean => id === MEMBER
    assert.deepEqual(authorizeForward(MEMBER, { type: 'kv.delete', key: 'k' }, member), { ok: true })
    const v = authorizeForward(STRANGER, { type: 'kv.delete', key: 'k' }, member)
    assert.ok(!v.ok && v.reason === 'not_member')
  })
})
