// TaskService on the accepting node: the caps on unfinished tasks (per tenant and in all) refuse a
// submission before anything is written, and task output is served over /meshos/logs only to
// members, and only for attempts the log gave this node. Collaborators are hand-made fakes; the
// task table and the member table are the real ones.
import assert from 'node:assert/strict'
import pino from 'pino'
import { TaskService } from '../../src/tasks/task-service.js'
import { TaskTable } from '../../src/tasks/task-table.js'
import { TooManyTasksError } from '../../src/tasks/errors.js'
import type { RemoteReads, TaskCluster } from '../../src/tasks/cluster-port.js'
import type { TaskCommand } from '../../src/tasks/commands.js'
import { parseTaskSpec, type TaskSpec } from '../../src/tasks/spec.js'
import { LOGS_PROTOCOL, decodeLogResponse, encodeLogRequest } from '../../src/tasks/log-rpc.js'
import { NodeMetrics } from '../../src/metrics/node-metrics.js'
import type { P2PHost } from '../../src/p2p/host.js'
import type { TaskExecutor } from '../../src/executor/executor.js'
import type { Placer } from '../../src/tasks/placer.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { memberInfo, memberView, staticMembers } from '../helpers/fixtures.js'

const SELF = 'self'

function spec(extra: Record<string, unknown> = {}): TaskSpec {
  const r = parseTaskSpec({ command: 'true', ...extra })
  if (!r.ok) throw new Error(r.message)
  return r.spec
}

type LogHandler = (from: string, bytes: Uint8Array) => Promise<Uint8Array>

async function setUp(caps = { maxUnfinishedTasksPerTenant: 3, maxUnfinishedTasks: 5 }) {
  const table = new TaskTable()
  let index = 0
  const apply = (command: TaskCommand): void => {
    table.apply(command, ++index)
  }
  const writes: TaskCommand[] = []
  const cluster = {
    table,
    leader: () => SELF,
    term: () => 1,
    holdsLog: () => true,
    isReadyLeader: () => true,
    caughtUp: () => true,
    write: async (command: TaskCommand) => {
      writes.push(command)
      apply(command)
    },
  } as unknown as TaskCluster
  const members = staticMembers(memberInfo(SELF), [memberView(memberInfo('member'))])
  let logHandler: LogHandler | undefined
  const host = {
    peerId: SELF,
    handle: async (protocol: string, _opts: unknown, handler: LogHandler) => {
      if (protocol === LOGS_PROTOCOL) logHandler = handler
    },
  } as unknown as P2PHost
  const reads: string[] = []
  const executor = {
    readLog: async (id: string, attempt: number) => {
      reads.push(`${id}/${attempt}`)
      return { data: new TextEncoder().encode('output'), nextOffset: 6, truncated: false }
    },
  } as unknown as TaskExecutor
  const metrics = new NodeMetrics(false)
  const service = new TaskService({
    host,
    cluster,
    remote: {} as RemoteReads,
    dataDir: '/nonexistent',
    members,
    executor,
    placer: {} as Placer,
    policy: 'spread',
    metrics,
    logger: pino({ level: 'silent' }),
    logRequestTimeoutMs: 1000,
    caps,
    clock: new FakeClock(),
  })
  await service.start()
  assert.ok(logHandler !== undefined)
  const rejected = async (reason: string): Promise<number> =>
    (await metrics.wireRejected.get()).values.find(
      v => v.labels.protocol === LOGS_PROTOCOL && v.labels.reason === reason,
    )?.value ?? 0
  return { service, table, apply, writes, logHandler, reads, rejected }
}

describe('task service: caps on unfinished tasks', () => {
  it('refuses a submission past the tenant cap, naming it, and writes nothing', async () => {
    const { service, writes } = await setUp()
    await service.submit({ specs: [spec(), spec()], many: true })
    await assert.rejects(
      service.submit({ specs: [spec(), spec()], many: true }),
      (err: unknown) =>
        err instanceof TooManyTasksError &&
        err.message.startsWith(
          'tenant default has 2 unfinished tasks (pending, assigned or running) and this adds 2: the limit is 3 per tenant',
        ),
    )
    assert.equal(writes.length, 1)
    // Up to the cap is fine; another tenant has its own.
    await service.submit({ specs: [spec()], many: false })
    await service.submit({ specs: [spec({ tenant: 'b' })], many: false })
  })

  it('refuses a submission past the total cap, and accepts again once tasks finish', async () => {
    const { service, table, apply } = await setUp()
    for (const tenant of ['a', 'b']) await service.submit({ specs: [spec({ tenant }), spec({ tenant })], many: true })
    await assert.rejects(
      service.submit({ specs: [spec({ tenant: 'c' }), spec({ tenant: 'c' })], many: true }),
      /the cluster has 4 unfinished tasks .* the limit is 5 in all/,
    )
    const ids = [...table.pending()].map(t => t.id)
    apply({ type: 'task.cancel', ids: ids.slice(0, 1), at: 1 })
    await service.submit({ specs: [spec({ tenant: 'c' }), spec({ tenant: 'c' })], many: true })
    assert.equal(table.unfinished(), 5)
  })
})

describe('task service: listing', () => {
  it('lists newest first with order=newest, and pages on from `after` in that order', async () => {
    const { service, table } = await setUp({ maxUnfinishedTasksPerTenant: 100, maxUnfinishedTasks: 100 })
    await service.submit({ specs: [1, 2, 3, 4, 5].map(i => spec({ name: `t${i}` })), many: true })
    const ids = [...table.all()].map(t => t.id)
    const first = await service.list({ limit: 2, order: 'newest' })
    assert.deepEqual(
      first.tasks.map(t => t.id),
      [ids[4], ids[3]],
    )
    assert.equal(first.next, ids[3])
    assert.equal(first.total, 5)
    const second = await service.list({ limit: 2, order: 'newest', after: first.next! })
    assert.deepEqual(
      second.tasks.map(t => t.id),
      [ids[2], ids[1]],
    )
    const last = await service.list({ limit: 2, order: 'newest', after: second.next! })
    assert.deepEqual(
      last.tasks.map(t => t.id),
      [ids[0]],
    )
    assert.equal(last.next, null)
    // Submission order stays the default.
    assert.deepEqual(
      (await service.list({ limit: 2 })).tasks.map(t => t.id),
      [ids[0], ids[1]],
    )
  })
})

describe('task service: logs served to members only', () => {
  const ask = async (handler: LogHandler, from: string, taskId: string, attempt = 1) => {
    const res = decodeLogResponse(
      await handler(from, encodeLogRequest({ v: 1, taskId, attempt, stream: 'stdout', offset: 0, maxBytes: 1024 })),
    )
    assert.ok(res.ok)
    return res.value
  }

  it('serves an attempt that ran here to a member, and nothing to a stranger', async () => {
    const { apply, logHandler, reads, rejected } = await setUp()
    apply({ type: 'task.submit', tasks: [{ id: 'mine', spec: spec(), submittedAt: 1 }] })
    apply({ type: 'task.assign', term: 1, assignments: [{ id: 'mine', attempt: 1, node: SELF, placement: 'p' }] })
    const served = await ask(logHandler, 'member', 'mine')
    assert.deepEqual([served.found, Buffer.from(served.data, 'base64').toString()], [true, 'output'])
    const refused = await ask(logHandler, 'stranger', 'mine')
    assert.deepEqual([refused.found, refused.data], [false, ''])
    assert.equal(await rejected('not_member'), 1)
    assert.deepEqual(reads, ['mine/1'], 'the stranger did not make it read anything')
  })

  it('reads nothing for an attempt the log did not give this node', async () => {
    const { apply, logHandler, reads, rejected } = await setUp()
    apply({
      type: 'task.submit',
      tasks: [
        { id: 'theirs', spec: spec(), submittedAt: 1 },
        { id: 'again', spec: spec({ retries: 1 }), submittedAt: 1 },
      ],
    })
    apply({
      type: 'task.assign',
      term: 1,
      assignments: [
        { id: 'theirs', attempt: 1, node: 'member', placement: 'p' },
        { id: 'again', attempt: 1, node: SELF, placement: 'p' },
      ],
    })
    // 'again' failed here once and runs elsewhere now: its first attempt is still this node's.
    apply({
      type: 'task.report',
      node: SELF,
      events: [
        {
          kind: 'finished',
          id: 'again',
          attempt: 1,
          at: 2,
          startedAt: 1,
          reason: 'exited',
          exitCode: 1,
          signal: null,
          message: '',
        },
      ],
    })
    apply({ type: 'task.assign', term: 1, assignments: [{ id: 'again', attempt: 2, node: 'member', placement: 'p' }] })
    assert.equal((await ask(logHandler, 'member', 'theirs')).found, false)
    assert.equal((await ask(logHandler, 'member', 'unknown-task')).found, false)
    assert.equal((await ask(logHandler, 'member', 'again', 2)).found, false)
    assert.equal((await ask(logHandler, 'member', 'again', 1)).found, true)
    assert.equal(await rejected('not_here'), 3)
    assert.deepEqual(reads, ['again/1'])
  })
})
