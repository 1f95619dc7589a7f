// The dashboard's model (web/src/model), which runs in the browser but holds no DOM code: the
// node's answers fit what the page reads of them (checked when this file compiles), roles from
// the Raft configuration, the mesh picture and its summary, the task filters, and the loaded
// task rows kept current by events.
import assert from 'node:assert/strict'
import type {
  ClusterView as NodeClusterView,
  NodeView as NodeNodeView,
  StatusView as NodeStatusView,
} from '../../src/http/node-api.js'
import type { TaskList as NodeTaskList, TaskView as NodeTaskView } from '../../src/tasks/task-service.js'
import type { MeshEvent as NodeMeshEvent, TaskEventData as NodeTaskEventData } from '../../src/events/types.js'
import { MEMBER_STATES as NODE_MEMBER_STATES } from '../../src/gossip/member-state.js'
import { TASK_STATES as NODE_TASK_STATES } from '../../src/tasks/task-table.js'
import {
  MEMBER_STATES,
  TASK_STATES,
  type ClusterView,
  type MeshEvent,
  type NodeView,
  type StatusView,
  type TaskEventData,
  type TaskList,
  type TaskView,
} from '../../web/src/model/api-types.js'
import { roleMap } from '../../web/src/model/roles.js'
import { MESH_PICTURE_MAX_NODES, meshLayout, type MeshPicture } from '../../web/src/model/mesh-layout.js'
import { listQuery, matchesFilter, NO_FILTER } from '../../web/src/model/task-filter.js'
import { TaskRows } from '../../web/src/model/task-rows.js'

/** Compiles only when an answer of the node's type can be read as the page's: the node sends
 * every field the page reads, with a type the page accepts. */
function readAs<Page>(answer: Page): Page {
  return answer
}
const answerOf = <Node>(): Node => undefined as Node

describe('dashboard model', () => {
  it("reads nothing the node's answers lack: their types fit the page's, and the enums agree", () => {
    // The compiler checks these; a field the page reads that the node lost fails the build.
    readAs<StatusView>(answerOf<NodeStatusView>())
    readAs<NodeView>(answerOf<NodeNodeView>())
    readAs<ClusterView>(answerOf<NodeClusterView>())
    readAs<TaskView>(answerOf<NodeTaskView>())
    readAs<TaskList>(answerOf<NodeTaskList>())
    readAs<TaskEventData>(answerOf<NodeTaskEventData>())
    readAs<MeshEvent>(answerOf<NodeMeshEvent>())
    assert.deepEqual([...MEMBER_STATES], [...NODE_MEMBER_STATES])
    assert.deepEqual([...TASK_STATES], [...NODE_TASK_STATES])
  })

  const cluster: ClusterView = {
    leader: 'L',
    term: 4,
    commitIndex: 9,
    voters: [
      { id: 'L', name: 'l' },
      { id: 'V', name: 'v' },
    ],
    learners: [{ id: 'S', name: 's' }],
  }

  it('gives each node its role from the Raft configuration; every other member is a worker', () => {
    const roleOf = roleMap(cluster)
    assert.deepEqual(
      ['L', 'V', 'S', 'W'].map(id => roleOf(id)),
      ['leader', 'voter', 'standby', 'worker'],
    )
    assert.equal(roleMap(null)('L'), null)
  })

  function node(id: string, activeView: string[], state: NodeView['state'] = 'alive'): NodeView {
    return {
      id,
      name: id.toLowerCase(),
      state,
      capacity: { cpus: 2, memoryMb: 1024 },
      allocated: { cpus: 0, memoryMb: 0 },
      running: 0,
      load: null,
      labels: {},
      version: 'test',
      lastSeenMs: 0,
      activeView,
      drain: null,
    }
  }

  it('draws Raft lines from the leader, membership lines between live nodes once per pair, none to the dead', () => {
    const nodes = [
      node('L', ['V', 'S', 'W']),
      node('V', ['L', 'W', 'D']),
      node('S', ['L', 'W']),
      node('W', ['V', 'S', 'L']),
      node('D', [], 'dead'),
    ]
    const p = meshLayout(nodes, roleMap(cluster), 'V') as MeshPicture
    assert.equal(p.kind, 'picture')
    const key = (a: string, b: string): string => [a, b].sort().join('-')
    const raft = p.lines.filter(l => l.kind === 'raft').map(l => key(l.a, l.b))
    const membership = p.lines.filter(l => l.kind === 'membership').map(l => key(l.a, l.b))
    assert.deepEqual(raft.sort(), ['L-S', 'L-V'])
    assert.deepEqual(membership.sort(), ['L-W', 'S-W', 'V-W'])
    // Every node is drawn, the dead one too, inside the picture.
    assert.deepEqual(p.points.map(pt => pt.id).sort(), ['D', 'L', 'S', 'V', 'W'])
    for (const pt of p.points) {
      assert.ok(pt.x - pt.r >= 0 && pt.x + pt.r <= 720 && pt.y - pt.r >= 0 && pt.y + pt.r <= 560, JSON.stringify(pt))
    }
    assert.equal(p.points.find(pt => pt.self)?.id, 'V')
    // The leader comes first, at the top of the inner circle.
    assert.equal(p.points[0]!.role, 'leader')
    assert.ok(p.points.every(pt => pt.y >= p.points[0]!.y))
  })

  it('keeps 50 nodes apart and labelled, and counts instead of drawing past the limit', () => {
    const many = (n: number): NodeView[] =>
      Array.from({ length: n }, (_, i) => node(`N${String(i).padStart(4, '0')}`, [], i % 10 === 9 ? 'dead' : 'alive'))
    const fifty = meshLayout(many(50), roleMap(null), '') as MeshPicture
    assert.equal(fifty.kind, 'picture')
    assert.equal(fifty.labels, 'radial')
    let closest = Infinity
    for (const a of fifty.points)
      for (const b of fifty.points) if (a !== b) closest = Math.min(closest, Math.hypot(a.x - b.x, a.y - b.y))
    assert.ok(closest > 2 * fifty.points[0]!.r, `nodes ${closest.toFixed(1)} apart overlap`)

    const crowd = meshLayout(many(MESH_PICTURE_MAX_NODES + 1), roleMap(null), '')
    assert.ok(crowd.kind === 'summary')
    assert.equal(crowd.total, MESH_PICTURE_MAX_NODES + 1)
    assert.deepEqual(crowd.byState, { alive: 271, suspect: 0, dead: 30, left: 0 })
    // Roles of live nodes only; with no configuration known they are unknown.
    assert.deepEqual(crowd.byRole, { leader: 0, voter: 0, standby: 0, worker: 0, unknown: 271 })
  })

  function task(id: string, over: Partial<TaskView> = {}): TaskView {
    return {
      id,
      name: null,
      spec: { command: `echo ${id}`, cpus: 0.1, memoryMb: 64, tenant: 'default', retries: 0 },
      state: 'pending',
      attempt: 1,
      node: null,
      nodeName: null,
      exitCode: null,
      signal: null,
      reason: null,
      message: null,
      submittedAt: 1000,
      startedAt: null,
      finishedAt: null,
      placement: null,
      cancelRequested: false,
      attempts: [],
      ...over,
    }
  }

  it('filters by state, node and every word of the text; asks the node newest first', () => {
    const t = task('t1', { name: 'nightly build', state: 'running', node: 'N1', nodeName: 'edge-1' })
    assert.ok(matchesFilter(t, NO_FILTER))
    assert.ok(matchesFilter(t, { state: 'running', node: 'N1', text: 'NIGHTLY  edge' }))
    assert.ok(!matchesFilter(t, { ...NO_FILTER, state: 'pending' }))
    assert.ok(!matchesFilter(t, { ...NO_FILTER, node: 'N2' }))
    assert.ok(!matchesFilter(t, { ...NO_FILTER, text: 'nightly deploy' }))
    assert.ok(matchesFilter(t, { ...NO_FILTER, text: 'echo t1' }))
    assert.equal(listQuery(NO_FILTER, 200), 'order=newest&limit=200')
    assert.equal(
      listQuery({ state: 'failed', node: 'N1', text: 'ignored' }, 50, 't9'),
      'order=newest&limit=50&state=failed&node=N1&after=t9',
    )
  })

  it('moves loaded tasks on their events, ignores an event older than the row, and says when a task is new', () => {
    const rows = new TaskRows()
    rows.setFirstPage({ tasks: [task('b', { submittedAt: 2000 }), task('a')], next: null, total: 2 })
    const ev = (id: string, to: TaskEventData['to'], attempt = 1): TaskEventData => ({
      id,
      to,
      node: 'N1',
      nodeName: 'n1',
      attempt,
      reason: null,
    })
    assert.equal(rows.applyEvent(ev('a', 'running'), 5000), true)
    assert.deepEqual([rows.get('a')!.state, rows.get('a')!.startedAt, rows.get('a')!.nodeName], ['running', 5000, 'n1'])
    // An assigned that arrives after running (queued while the row loaded) changes nothing.
    assert.equal(rows.applyEvent(ev('a', 'assigned'), 4000), true)
    assert.equal(rows.get('a')!.state, 'running')
    // A retry is the next attempt, back to pending.
    rows.applyEvent(ev('a', 'pending', 2), 6000)
    assert.deepEqual([rows.get('a')!.state, rows.get('a')!.attempt, rows.get('a')!.startedAt], ['pending', 2, null])
    rows.applyEvent(ev('a', 'succeeded', 2), 7000)
    assert.equal(rows.get('a')!.finishedAt, 7000)
    assert.equal(rows.applyEvent(ev('c', 'pending'), 8000), false)

    const { rows: shown, matching } = rows.visible({ ...NO_FILTER, state: 'succeeded' }, 10)
    assert.deepEqual(
      shown.map(t => t.id),
      ['a'],
    )
    assert.equal(matching, 1)
    assert.deepEqual(
      rows.visible(NO_FILTER, 10).rows.map(t => t.id),
      ['b', 'a'],
    )
  })

  it('keeps older pages when the first page is loaded again, and drops rows the new page no longer has', () => {
    const rows = new TaskRows()
    rows.setFirstPage({ tasks: [task('x', { submittedAt: 4.5 }), task('d', { submittedAt: 4 })], next: 'd', total: 4 })
    rows.addOlderPage({ tasks: [task('c', { submittedAt: 3 }), task('a', { submittedAt: 1 })], next: null, total: 4 })
    assert.equal(rows.next, null)
    // A new task came and x no longer matches on the node: the first page is e and d; c and a,
    // older than it, stay loaded.
    rows.setFirstPage({ tasks: [task('e', { submittedAt: 5 }), task('d', { submittedAt: 4 })], next: 'd', total: 4 })
    assert.deepEqual(
      rows.visible(NO_FILTER, 10).rows.map(t => t.id),
      ['e', 'd', 'c', 'a'],
    )
    assert.equal(rows.next, null)
  })
})
