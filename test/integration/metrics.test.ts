// What real agents serve on /metrics is what Prometheus accepts: `promtool check metrics` (from
// Debian's prometheus package, which .ci/run installs) on the output of both nodes of a cluster
// that ran a task submitted through the follower; and the series that run moved have moved.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import type { AgentProcess } from '../../harness/agent-process.js'
import { waitFor } from '../../harness/wait-for.js'
import { ElectionCluster, clusterOf, waitClusterReady } from '../helpers/election.js'
import { submit, waitTerminal } from '../helpers/tasks.js'
import { RPC_PROTOCOL } from '../../src/cluster/write-rpc.js'

const PROMTOOL = 'promtool'

function promtoolMissing(): string | null {
  const probe = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' })
  return probe.error === undefined && probe.status === 0 ? null : `${PROMTOOL} not found: ${String(probe.error)}`
}

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** The samples of a Prometheus text exposition (no escaped quotes in our label values). */
function samples(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) continue
    const labels: Record<string, string> = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[k!] = v!
    out.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return out
}

/** The sum of the samples named `name` whose labels include `labels`. */
function total(all: Sample[], name: string, labels: Record<string, string> = {}): number {
  return all
    .filter(s => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)
}

async function scrape(a: AgentProcess): Promise<string> {
  const res = await fetch(`${a.client.baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return await res.text()
}

describe('metrics of live agents', function () {
  this.timeout(120_000)
  const cluster = new ElectionCluster()

  before(function () {
    const why = promtoolMissing()
    if (why !== null) {
      console.log(`      SKIPPED: ${why}; install Debian's prometheus package (CI's .ci/run does)`)
      this.skip()
    }
  })

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.logs())
    await cluster.cleanup()
  })

  it('promtool accepts both nodes’ /metrics after a task ran, and the run moved its series', async () => {
    const agents = await cluster.start(2)
    // Two members: one voter (an even count would add no tolerance) and a learner.
    const { leader } = await waitClusterReady(agents, 1)
    const follower = agents.find(a => a !== leader)!
    await waitFor(
      'the follower to be a learner',
      async () => (await clusterOf(leader)).learners.some(l => l.id === follower.peerId),
      30_000,
    )
    const id = await submit(follower, { command: 'echo hi' })
    const task = await waitTerminal(follower, id, 30_000)
    assert.equal(task.state, 'succeeded')

    const texts = await Promise.all(agents.map(scrape))
    for (const [i, text] of texts.entries()) {
      const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' })
      assert.equal(check.status, 0, `promtool on ${agents[i]!.opts.name}: ${check.stdout}${check.stderr}`)
    }
    const [onLeader, onFollower] = [leader, follower].map(a => samples(texts[agents.indexOf(a)]!))
    for (const s of [onLeader!, onFollower!]) {
      assert.ok(total(s, 'meshos_raft_leader_changes_total') >= 1)
      assert.ok(total(s, 'meshos_raft_term') >= 1)
      assert.ok(total(s, 'meshos_raft_log_entries') >= 1)
      assert.ok(total(s, 'meshos_nodejs_eventloop_lag_p99_seconds') >= 0)
      assert.ok(s.some(x => x.name === 'meshos_nodejs_eventloop_lag_seconds'))
    }
    // The follower forwarded the submission to the leader; the leader committed and placed it.
    assert.ok(total(onFollower!, 'meshos_wire_messages_sent_total', { protocol: RPC_PROTOCOL }) >= 1)
    assert.ok(total(onLeader!, 'meshos_wire_messages_sent_total', { protocol: '/meshos/raft/2.0.0' }) >= 1)
    assert.ok(total(onFollower!, 'meshos_wire_messages_accepted_total', { protocol: '/meshos/raft/2.0.0' }) >= 1)
    assert.ok(total(onLeader!, 'meshos_raft_commit_duration_seconds_count') >= 1)
    assert.ok(total(onLeader!, 'meshos_task_scheduling_latency_seconds_count') >= 1)
    assert.ok(total(onFollower!, 'meshos_cluster_write_duration_seconds_count', { outcome: 'committed' }) >= 1)
    assert.equal(
      total(onFollower!, 'meshos_http_requests_total', { method: 'POST', route: '/v1/tasks', status: '201' }),
      1,
    )
    // Whichever node ran it counted it, once.
    const both = [...onLeader!, ...onFollower!]
    assert.equal(total(both, 'meshos_task_outcomes_total', { outcome: 'succeeded' }), 1)
    assert.equal(total(both, 'meshos_task_run_duration_seconds_count'), 1)

    // Logs on a pipe are JSON lines; every line a part of the node writes names the node by id.
    for (const a of agents) {
      const lines = a.logs
        .split('\n')
        .filter(l => l.startsWith('{'))
        .map(l => JSON.parse(l) as Record<string, unknown>)
      assert.ok(lines.length > 0)
      for (const line of lines) assert.equal(line.node, a.opts.name)
      const parts = lines.filter(l => 'component' in l)
      assert.ok(parts.length > 0)
      for (const line of parts) assert.equal(line.nodeId, a.peerId, JSON.stringify(line))
    }
  })
})
