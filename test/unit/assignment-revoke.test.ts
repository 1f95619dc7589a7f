// An attempt taken back from a node (re-queued, as at a drain's deadline) reaches the worker by the
// path it learns its work from, and the worker stops it at once, without waiting for its periodic
// reconciliation: from its own replica of the table (a voter or standby), or as a `revoke` frame
// the leader's assignment feed pushes (a worker that holds no log).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { Worker } from '../../src/tasks/worker.js'
import { tableAssignments, type AssignmentEvent } from '../../src/tasks/assignments.js'
import { AssignmentStream } from '../../src/tasks/assignment-stream.js'
import { AssignmentFeed } from '../../src/tasks/assignment-feed.js'
import { decodeAssignFrame, type AssignFrame, type WireAssignment } from '../../src/tasks/assign-wire.js'
import { TaskTable } from '../../src/tasks/task-table.js'
import type { TaskExecutor } from '../../src/executor/executor.js'
import type { RunningTask } from '../../src/executor/types.js'
import type { TaskCluster, TaskClusterView } from '../../src/tasks/cluster-port.js'
import type { TaskCommand } from '../../src/tasks/commands.js'
import { parseTaskSpec, type TaskSpec } from '../../src/tasks/spec.js'
import type { P2PHost } from '../../src/p2p/host.js'
import { NodeMetrics } from '../../src/metrics/node-metrics.js'
import { FakeClock } from '../helpers/fake-clock.js'

const silent = pino({ level: 'silent' })

function spec(): TaskSpec {
  const r = parseTaskSpec({ command: 'sleep 60' })
  if (!r.ok) throw new Error(r.message)
  return r.spec
}

/** Task `id` running on `node`, then `node` drained with a deadline and the task evicted. */
function evictionOf(id: string, node: string): { before: TaskCommand[]; evict: TaskCommand[] } {
  return {
    before: [
      { type: 'task.submit', term: 2, tasks: [{ id, spec: spec(), submittedAt: 1, assign: { node, placement: 'p' } }] },
      { type: 'task.report', node, events: [{ kind: 'started', id, attempt: 1, at: 2 }] },
      { type: 'node.drain', node, at: 3, deadlineAtMs: 4 },
    ],
    evict: [{ type: 'task.evict', node, tasks: [{ id, attempt: 1 }], at: 5, message: 'deadline' }],
  }
}

describe('an attempt taken back from its node', () => {
  it('a node holding the log: its worker stops the attempt as soon as the eviction applies', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'meshos-revoke-'))
    const table = new TaskTable()
    let index = 0
    const { before, evict } = evictionOf('a', 'n1')
    for (const c of before) table.apply(c, ++index)
    const running: RunningTask[] = [{ taskId: 'a', attempt: 1, pid: 100, startedAtMs: 2, cpus: 0.1, memoryMb: 16 }]
    const cancelled: string[] = []
    const executor = {
      listen: () => {},
      isRunning: (id: string, attempt: number) => running.some(t => t.taskId === id && t.attempt === attempt),
      running: () => running,
      cancel: (id: string) => {
        cancelled.push(id)
        return true
      },
    } as unknown as TaskExecutor
    const worker = new Worker({
      self: 'n1',
      dataDir,
      cluster: { table, caughtUp: () => true } as unknown as TaskCluster,
      assignments: tableAssignments(table, 'n1', () => true),
      executor,
      clock: new FakeClock(),
      maxEventsPerReport: 100,
      startReportDelayMs: 0,
      // Far beyond the test: only the revocation can make it look.
      reconcileMs: 3_600_000,
      taskDirsMaxBytes: Infinity,
      taskDirRetentionMs: 60_000,
      taskDirGcIntervalMs: 3_600_000,
      logger: silent,
    })
    try {
      worker.start()
      await Promise.resolve()
      assert.deepEqual(cancelled, [], 'the attempt is still assigned here')
      for (const c of evict) table.apply(c, ++index)
      await Promise.resolve()
      assert.deepEqual(cancelled, ['a'])
    } finally {
      worker.stop()
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  describe('a worker that holds no log', () => {
    const metrics = new NodeMetrics(false)
    const hostSending = (sent: Array<{ to: string; frame: AssignFrame }>, peerId: string): P2PHost =>
      ({
        peerId,
        onChannelClosed: () => {},
        sendFrame: (to: string, _protocol: string, bytes: Uint8Array) => {
          const frame = decodeAssignFrame(bytes)
          assert.ok(frame.ok, 'every frame sent is one the other side decodes')
          sent.push({ to, frame: frame.value })
          return true
        },
      }) as unknown as P2PHost

    it("the leader's feed pushes a revoke of the attempt to the worker it was assigned to", async () => {
      const table = new TaskTable()
      let index = 0
      const sent: Array<{ to: string; frame: AssignFrame }> = []
      const cluster = {
        table,
        term: () => 2,
        leader: () => 'L',
        isReadyLeader: () => true,
      } as unknown as TaskCluster
      const feed = new AssignmentFeed({
        host: hostSending(sent, 'L'),
        cluster,
        isMember: () => true,
        holdsLog: () => false,
        resendMs: 3_600_000,
        clock: new FakeClock(),
        metrics,
        logger: silent,
      })
      feed.start()
      const { before, evict } = evictionOf('a', 'w1')
      for (const c of before) table.apply(c, ++index)
      feed.onFrame('w1', { v: 1, type: 'hello' })
      sent.length = 0
      for (const c of evict) table.apply(c, ++index)
      await Promise.resolve()
      assert.deepEqual(
        sent.map(s => [s.to, s.frame.type, s.frame.type === 'revoke' ? s.frame.tasks : null]),
        [['w1', 'revoke', [{ id: 'a', attempt: 1 }]]],
      )
      feed.stop()
    })

    it('the stream drops exactly the revoked attempt and tells the worker to look', () => {
      const sent: Array<{ to: string; frame: AssignFrame }> = []
      const view = { holdsLog: () => false, leader: () => 'L' } as unknown as TaskClusterView
      const stream = new AssignmentStream({
        host: hostSending(sent, 'w1'),
        cluster: view,
        checkMs: 3_600_000,
        clock: new FakeClock(),
        metrics,
        logger: silent,
      })
      const events: AssignmentEvent[] = []
      stream.onEvent(ev => events.push(ev))
      stream.start()
      const wire = (id: string, attempt: number): WireAssignment => ({
        id,
        attempt,
        spec: spec(),
        cancelRequested: false,
      })
      stream.onFrame('L', {
        v: 1,
        type: 'full',
        seq: 1,
        term: 2,
        assignments: [wire('a', 1), wire('b', 1)],
        last: true,
      })
      assert.deepEqual(
        [...stream.active()].map(a => a.id),
        ['a', 'b'],
      )
      stream.onFrame('L', { v: 1, type: 'revoke', seq: 2, term: 2, tasks: [{ id: 'a', attempt: 1 }] })
      assert.deepEqual(
        [...stream.active()].map(a => a.id),
        ['b'],
      )
      assert.deepEqual(events.at(-1), { type: 'revoked' })
      // A revoke of an older attempt leaves the newer one the leader assigned here since.
      stream.onFrame('L', { v: 1, type: 'assign', seq: 3, term: 2, assignments: [wire('b', 2)] })
      stream.onFrame('L', { v: 1, type: 'revoke', seq: 4, term: 2, tasks: [{ id: 'b', attempt: 1 }] })
      assert.deepEqual(
        [...stream.active()].map(a => `${a.id}/${a.attempt}`),
        ['b/2'],
      )
      // Only the leader it said hello to may revoke.
      stream.onFrame('X', { v: 1, type: 'revoke', seq: 5, term: 2, tasks: [{ id: 'b', attempt: 2 }] })
      assert.deepEqual(
        [...stream.active()].map(a => `${a.id}/${a.attempt}`),
        ['b/2'],
      )
      stream.stop()
    })
  })
})
