// The event stream of a real 3-node cluster, followed on one follower (A) through the typed
// client and through `meshos events`: its history since start (members joining, voters added, a
// leader), a task's transitions to succeeded, a new leader after the leader is killed, and a
// killed node going suspect and dead. Every wait is a bounded poll of what the stream delivered.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { MESHOS_BIN, type AgentProcess } from '../../harness/agent-process.js'
import { waitFor } from '../../harness/wait-for.js'
import { ElectionCluster, FAILOVER_BOUND_MS, waitClusterReady } from '../helpers/election.js'
import type { EventStreamItem, MeshEvent, TaskView } from '../../src/client/client.js'

/** A task, a failover and a failure detection take seconds; this bounds a loaded 2-core machine. */
const EVENT_BOUND_MS = 30_000

/** Collects what an iterator yields, in the background, until it ends or fails. */
function collect(items: AsyncGenerator<EventStreamItem>): { got: EventStreamItem[]; done: Promise<unknown> } {
  const got: EventStreamItem[] = []
  const done = (async () => {
    for await (const item of items) got.push(item)
  })().then(
    () => null,
    (err: unknown) => err,
  )
  return { got, done }
}

const eventsIn = (items: EventStreamItem[]): MeshEvent[] => items.flatMap(i => (i.kind === 'event' ? [i.event] : []))

async function waitForEvent(
  items: EventStreamItem[],
  what: string,
  match: (e: MeshEvent) => boolean,
  timeoutMs = EVENT_BOUND_MS,
): Promise<MeshEvent> {
  return await waitFor(what, async () => eventsIn(items).find(match), timeoutMs, 100)
}

/** `meshos events` as a child process, its stdout kept as it comes. */
class EventsCli {
  stdout = ''
  stderr = ''
  readonly exited: Promise<number | null>
  private readonly child: ChildProcess

  constructor(addr: string, args: string[]) {
    this.child = spawn(process.execPath, [MESHOS_BIN, 'events', '--addr', addr, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()))
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()))
    this.exited = new Promise(resolve => this.child.once('close', code => resolve(code)))
  }

  get lines(): string[] {
    return this.stdout.split('\n').filter(l => l !== '')
  }

  async waitLine(what: string, match: (line: string) => boolean): Promise<string> {
    return await waitFor(
      `meshos events to print ${what}`,
      async () => this.lines.find(match) ?? (this.child.exitCode !== null ? `exited: ${this.stderr}` : undefined),
      EVENT_BOUND_MS,
      100,
    )
  }

  async interrupt(): Promise<number | null> {
    this.child.kill('SIGINT')
    return await this.exited
  }

  kill(): void {
    this.child.kill('SIGKILL')
  }
}

describe('event stream of a real cluster', function () {
  this.timeout(180_000)
  const cluster = new ElectionCluster()
  const clis: EventsCli[] = []
  const stop = new AbortController()

  afterEach(function () {
    if (this.currentTest?.state === 'failed')
      console.log(
        cluster.logs(),
        clis.map(c => c.stdout + c.stderr),
      )
  })
  after(async () => {
    stop.abort()
    for (const c of clis) c.kill()
    await cluster.cleanup()
  })

  it('shows a task run, a new leader after the leader dies, and a dead node, on a follower; so does `meshos events`', async () => {
    const agents = await cluster.start(3)
    const ready = await waitClusterReady(agents, 3)
    const leader = ready.leader
    const [a, c] = agents.filter(x => x !== leader) as [AgentProcess, AgentProcess]
    const names = new Map(agents.map(x => [x.peerId, x.opts.name]))

    // An id of no run of this node: the first thing the stream says is a resync naming the
    // newest id, so the test knows it is connected, and the id's prefix is this run's life.
    const live = collect(a.client.events({ lastEventId: '0-0', signal: stop.signal }))
    const first = await waitFor('the resync notice', async () => live.got[0], EVENT_BOUND_MS)
    assert.ok(first.kind === 'resync', JSON.stringify(first))
    assert.equal(first.notice.reason, 'node_restarted')
    const life = first.notice.lastEventId.split('-')[0]!

    // Everything since the node started is still in its replay buffer.
    const history = collect(a.client.events({ lastEventId: `${life}-0`, signal: stop.signal }))
    const headSeq = Number(first.notice.lastEventId.split('-')[1])
    await waitFor('the replay', async () => history.got.length >= headSeq, EVENT_BOUND_MS)
    const past = eventsIn(history.got)
    assert.deepEqual(past.map(e => e.id).slice(0, 3), [`${life}-1`, `${life}-2`, `${life}-3`])
    const joined = past.flatMap(e => (e.topic === 'members' && e.type === 'joined' ? [e.data.nodeId] : []))
    assert.deepEqual(new Set(joined), new Set([leader.peerId, c.peerId]))
    // A began with no configuration, so each of today's voters was added at some point (the last
    // addition may reach A's log after the leader counted it: the stream goes on live).
    const voters = new Set(agents.map(x => x.peerId))
    await waitFor(
      'a voter_added event for each voter',
      async () => {
        const added = eventsIn(history.got).flatMap(e =>
          e.topic === 'voters' && e.type === 'voter_added' ? [e.data.nodeId] : [],
        )
        return added.length === voters.size && added.every(v => voters.has(v)) ? true : undefined
      },
      EVENT_BOUND_MS,
    )
    assert.ok(
      past.some(e => e.topic === 'leader' && e.type === 'elected' && e.data.leader === leader.peerId),
      JSON.stringify(past.filter(e => e.topic === 'leader')),
    )

    // The CLI, human and JSON lines, connected once it has printed its resync line.
    const human = new EventsCli(a.client.baseUrl, ['--since', '0-0', '--topic', 'tasks'])
    const json = new EventsCli(a.client.baseUrl, ['--since', '0-0', '--json', '--topic', 'tasks,leader'])
    clis.push(human, json)
    await human.waitLine('its resync line', l => / resync: /.test(l))
    await json.waitLine('its resync line', l => l.startsWith('{"resync":'))

    const { id } = await a.client.submitTask({ command: 'sleep 1; echo hello' })
    const done = await waitForEvent(
      live.got,
      `${id} to succeed`,
      e => e.topic === 'tasks' && e.data.id === id && e.type === 'succeeded',
    )
    // It runs for longer than a worker waits to report a start (a shorter task may be reported
    // finished straight from assigned).
    const moves = eventsIn(live.got).filter(e => e.topic === 'tasks' && e.data.id === id)
    assert.deepEqual(
      moves.map(e => e.type),
      ['pending', 'assigned', 'running', 'succeeded'],
    )
    assert.ok(done.topic === 'tasks')
    assert.equal(done.data.from, 'running')
    assert.equal(done.data.node, ((await a.client.task(id)) as TaskView).node)
    assert.equal(done.data.nodeName, names.get(done.data.node!))
    assert.equal(done.data.attempt, 1)

    const line = await human.waitLine(`${id} succeeding`, l => l.includes(id) && /succeeded/.test(l))
    assert.match(
      line,
      new RegExp(
        `^${life}-\\d+\\s+\\S+Z  tasks    succeeded\\s+${id} running → succeeded on ${names.get(done.data.node!)}, attempt 1$`,
      ),
    )
    assert.ok(!human.lines.some(l => / members /.test(l)), 'a --topic tasks stream printed another topic')
    const jsonLine = await json.waitLine(`${id} succeeding`, l => l.includes(id) && l.includes('"succeeded"'))
    const parsed = JSON.parse(jsonLine) as MeshEvent
    assert.equal(parsed.topic, 'tasks')
    assert.equal(parsed.type, 'succeeded')

    // The leader dies: A hears of a new one, in a later term.
    leader.signal('SIGKILL')
    await leader.waitExit()
    const elected = await waitForEvent(
      live.got,
      'a new leader',
      e => e.topic === 'leader' && e.type === 'elected' && e.data.leader !== leader.peerId && e.data.term > ready.term,
      FAILOVER_BOUND_MS + EVENT_BOUND_MS,
    )
    assert.ok(elected.topic === 'leader')
    assert.ok([a.peerId, c.peerId].includes(elected.data.leader!))
    assert.equal(elected.data.name, names.get(elected.data.leader!))
    await json.waitLine('the new leader', l => l.includes('"topic":"leader"') && l.includes(elected.data.leader!))

    // C dies: A suspects it, then declares it dead.
    c.signal('SIGKILL')
    await c.waitExit()
    const about = (e: MeshEvent, to: string): boolean =>
      e.topic === 'members' && e.data.nodeId === c.peerId && e.type === to
    const suspect = await waitForEvent(live.got, `${c.opts.name} suspect`, e => about(e, 'suspect'))
    const dead = await waitForEvent(live.got, `${c.opts.name} dead`, e => about(e, 'dead'))
    assert.ok(dead.topic === 'members' && suspect.topic === 'members')
    assert.equal(dead.data.from, 'suspect')
    assert.equal(dead.data.name, c.opts.name)
    assert.ok(Number(dead.id.split('-')[1]) > Number(suspect.id.split('-')[1]))

    // Ids only grow, and nothing was delivered twice.
    const seqs = eventsIn(live.got).map(e => Number(e.id.split('-')[1]))
    assert.deepEqual(
      seqs,
      [...seqs].sort((x, y) => x - y),
    )
    assert.equal(new Set(seqs).size, seqs.length)

    assert.equal(await human.interrupt(), 130)
    assert.equal(human.stderr, '')
    stop.abort()
    assert.equal(await live.done, null)
  })

  it('`meshos events` refuses bad flags with its usage and status 2', async () => {
    for (const args of [['--topic', 'nope'], ['--since', 'yesterday'], ['--bogus'], ['extra']]) {
      const cli = new EventsCli('http://127.0.0.1:9', args)
      const status = await cli.exited
      assert.equal(status, 2, `${args.join(' ')}: ${cli.stderr}`)
      assert.match(cli.stderr, /^meshos: /)
      assert.match(cli.stderr, /usage: meshos events \[--topic T\]/)
      assert.equal(cli.stdout, '')
    }
  })
})
