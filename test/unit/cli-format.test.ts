// What the CLI prints for people: aligned tables whatever the colour codes, colour only on a
// terminal without NO_COLOR, `meshos status` at a glance, and the progress of `run --count --wait`.
import assert from 'node:assert/strict'
import { ProgressReporter, PLAIN_LINE_INTERVAL_MS } from '../../src/cli/progress.js'
import { clusterHealth } from '../../src/cli/cluster-health.js'
import { formatNodes, formatStatus } from '../../src/cli/query-commands.js'
import { PLAIN, paintState, styleFor, wantsColour } from '../../src/cli/style.js'
import { formatTable } from '../../src/cli/table.js'
import type { ClusterView, NodeView, StatusView } from '../../src/client/client.js'

const COLOUR = styleFor({ isTTY: true }, {})
// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b\[/
// eslint-disable-next-line no-control-regex
const strip = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, '')

const node = (id: string, name: string, state: NodeView['state']): NodeView => ({
  id,
  name,
  addrs: [],
  state,
  capacity: { cpus: 16, memoryMb: 32768 },
  allocated: { cpus: 0.5, memoryMb: 64 },
  running: 1,
  load: null,
  labels: {},
  version: '0.1.0',
  incarnation: 1,
  startedAt: null,
  lastSeenMs: 0,
  drain: null,
  activeView: [],
})

const cluster = (leader: string | null, voters: string[]): ClusterView => ({
  leader,
  term: 7,
  commitIndex: 42,
  voters: voters.map(id => ({ id, name: null, lastContactMs: null, matchIndex: null })),
  learners: [],
})

const status: StatusView = {
  nodeId: 'id-1',
  name: 'one',
  version: '0.1.0',
  addrs: ['/ip4/127.0.0.1/tcp/7000/p2p/id-1'],
  uptimeMs: 65_000,
  role: 'follower',
  leader: 'id-2',
  term: 7,
  insecure: false,
  isolation: { taskUser: 'nobody', taskUid: 65534, cgroups: 'v2', memoryLimit: 'kernel' },
}

describe('CLI output', () => {
  describe('colour', () => {
    it('only on a terminal, and never with NO_COLOR or TERM=dumb', () => {
      assert.equal(wantsColour({ isTTY: true }, {}), true)
      assert.equal(wantsColour({ isTTY: false }, {}), false)
      assert.equal(wantsColour({}, {}), false)
      assert.equal(wantsColour({ isTTY: true }, { NO_COLOR: '1' }), false)
      // no-color.org: an empty NO_COLOR does not count.
      assert.equal(wantsColour({ isTTY: true }, { NO_COLOR: '' }), true)
      assert.equal(wantsColour({ isTTY: true }, { TERM: 'dumb' }), false)
      assert.doesNotMatch(paintState(styleFor({ isTTY: false }, {}), 'dead'), ESCAPE)
      assert.match(paintState(COLOUR, 'dead'), ESCAPE)
    })
  })

  describe('tables', () => {
    it('pad columns by what shows, not by the colour codes, and right-align numbers when asked', () => {
      const rows = [
        ['a', paintState(COLOUR, 'alive'), '5'],
        ['bbbb', paintState(COLOUR, 'suspect'), '120'],
      ]
      const lines = formatTable(['NAME', 'STATE', 'N'], rows, { align: ['left', 'left', 'right'] }).split('\n')
      assert.deepEqual(lines.map(strip), ['NAME  STATE      N', 'a     alive      5', 'bbbb  suspect  120'])
      assert.ok(ESCAPE.test(lines[1]!))
    })

    it('`meshos nodes` lines up every row under its header, coloured or not', () => {
      const nodes = [node('id-1', 'one', 'alive'), node('id-22', 'twenty-two', 'dead')]
      const coloured = formatNodes(nodes, COLOUR)
      const lines = coloured.split('\n').map(strip)
      assert.deepEqual(lines, formatNodes(nodes, PLAIN).split('\n'))
      const header = lines[0]!
      assert.equal(lines[1]!.indexOf('alive'), header.indexOf('STATE'))
      assert.equal(lines[2]!.indexOf('dead'), header.indexOf('STATE'))
      // Right-aligned: the numbers end where their header ends.
      const running = header.indexOf('RUNNING') + 'RUNNING'.length
      for (const row of lines.slice(1)) assert.equal(row.slice(running - 1, running), '1', row)
    })
  })

  describe('cluster health', () => {
    const nodes = [node('a', 'a', 'alive'), node('b', 'b', 'alive'), node('c', 'c', 'alive')]

    it('is ok with a leader and every voter and node alive', () => {
      assert.deepEqual(clusterHealth(cluster('a', ['a', 'b', 'c']), nodes), {
        state: 'ok',
        summary: '3 of 3 voters alive; 3 nodes: 3 alive',
      })
    })

    it('is degraded when a voter or a node is not alive, while a quorum is', () => {
      const health = clusterHealth(cluster('a', ['a', 'b', 'c']), [...nodes.slice(0, 2), node('c', 'c', 'suspect')])
      assert.deepEqual(health, { state: 'degraded', summary: '2 of 3 voters alive; 3 nodes: 2 alive, 1 suspect' })
      const extra = clusterHealth(cluster('a', ['a']), [node('a', 'a', 'alive'), node('d', 'd', 'dead')])
      assert.equal(extra.state, 'degraded')
      // A member that left on purpose is not missing.
      assert.equal(clusterHealth(cluster('a', ['a']), [node('a', 'a', 'alive'), node('e', 'e', 'left')]).state, 'ok')
    })

    it('is down without a leader, or without a quorum of live voters', () => {
      assert.equal(clusterHealth(cluster(null, ['a', 'b', 'c']), nodes).state, 'down')
      assert.match(clusterHealth(cluster(null, ['a', 'b', 'c']), nodes).summary, /^no leader; /)
      const lost = clusterHealth(cluster('a', ['a', 'b', 'c']), [
        nodes[0]!,
        node('b', 'b', 'dead'),
        node('c', 'c', 'dead'),
      ])
      assert.deepEqual(lost, { state: 'down', summary: 'no quorum; 1 of 3 voters alive; 3 nodes: 1 alive, 2 dead' })
    })
  })

  describe('`meshos status`', () => {
    const nodes = [node('id-1', 'one', 'alive'), node('id-2', 'two', 'alive'), node('id-3', 'three', 'dead')]

    it("shows this node's role, the leader, term, voters and health at a glance", () => {
      const text = formatStatus(status, cluster('id-2', ['id-1', 'id-2', 'id-3']), nodes, PLAIN)
      const line = (label: string): string => text.split('\n').find(l => l.startsWith(`${label}:`)) ?? ''
      assert.equal(line('node'), 'node:     one (id-1)')
      assert.equal(line('role'), 'role:     follower')
      assert.equal(line('leader'), 'leader:   two (id-2)')
      assert.equal(line('term'), 'term:     7 (commit index 42)')
      assert.equal(line('voters'), 'voters:   one, two (leader), three (dead)')
      assert.equal(line('health'), 'health:   degraded: 2 of 3 voters alive; 3 nodes: 2 alive, 1 dead')
      assert.equal(line('version'), 'version:  0.1.0, up 1m05s')
      assert.doesNotMatch(text, ESCAPE)
      assert.match(formatStatus(status, cluster('id-2', ['id-1', 'id-2', 'id-3']), nodes, COLOUR), ESCAPE)
    })

    it('still shows what it has when the cluster view cannot be read', () => {
      const text = formatStatus(status, new Error('internal: no replica yet'), nodes, PLAIN)
      assert.match(text, /^leader: {3}two \(id-2\)$/m)
      assert.match(text, /^health: {3}unknown \(internal: no replica yet\)$/m)
    })
  })

  describe('progress of `run --count N --wait`', () => {
    it('draws a bar in place on a terminal and clears it at the end', () => {
      let written = ''
      let nowMs = 0
      const progress = new ProgressReporter(
        { write: t => (written += t), isTTY: true, columns: 80 },
        () => nowMs,
        PLAIN,
      )
      progress.update({ done: 0, total: 4, failed: 0 })
      nowMs = 1500
      progress.update({ done: 2, total: 4, failed: 1 })
      const frames = written.split('\r\x1b[K').filter(f => f !== '')
      assert.deepEqual(frames, [
        `[${'-'.repeat(40)}] 0/4 done, 0 failed  0ms`,
        `[${'#'.repeat(20)}${'-'.repeat(20)}] 2/4 done, 1 failed  1.5s`,
      ])
      progress.end()
      assert.ok(written.endsWith('\r\x1b[K'))
      assert.ok(!written.includes('\n'), 'one line, redrawn')
    })

    it('leaves the bar out on a narrow terminal', () => {
      let written = ''
      new ProgressReporter({ write: t => (written += t), isTTY: true, columns: 30 }, () => 0).update({
        done: 1,
        total: 2,
        failed: 0,
      })
      assert.equal(written, '\r\x1b[K1/2 done, 0 failed  0ms')
    })

    it('writes a plain line when it changed, at most every few seconds, elsewhere', () => {
      const lines: string[] = []
      let nowMs = 0
      const progress = new ProgressReporter({ write: t => lines.push(t), isTTY: false }, () => nowMs)
      progress.update({ done: 1, total: 10, failed: 0 })
      nowMs = 1000
      progress.update({ done: 2, total: 10, failed: 0 }) // too soon
      nowMs = PLAIN_LINE_INTERVAL_MS + 1000
      progress.update({ done: 5, total: 10, failed: 2 })
      nowMs += PLAIN_LINE_INTERVAL_MS
      progress.update({ done: 5, total: 10, failed: 2 }) // unchanged
      progress.update({ done: 10, total: 10, failed: 2 }) // the summary says it
      progress.end()
      assert.deepEqual(lines, ['meshos: 1/10 done, 0 failed (0ms)\n', 'meshos: 5/10 done, 2 failed (6.0s)\n'])
    })
  })
})
