// The operating commands' command lines: a --deadline in seconds or as a duration, usage errors
// before anything is sent, and what they print for people.
import assert from 'node:assert/strict'
import {
  deadlineSeconds,
  describeDrained,
  describeRemoval,
  describeTransfer,
  drainCommand,
  leaderCommand,
  votersCommand,
} from '../../src/cli/operate-commands.js'
import { UsageError } from '../../src/cli/usage.js'
import type { NodeView } from '../../src/client/client.js'

const view = (drain: NodeView['drain'], running = 0): NodeView => ({
  id: 'peer-4',
  name: 'n4',
  addrs: [],
  state: 'alive',
  capacity: { cpus: 2, memoryMb: 1024 },
  allocated: { cpus: 0, memoryMb: 0 },
  running,
  load: null,
  labels: {},
  version: '0.1.0',
  incarnation: 1,
  startedAt: null,
  lastSeenMs: 0,
  drain,
  activeView: [],
})

// Nothing listens there: a command that got as far as sending would fail with another error.
const ENV = { MESHOS_ADDR: 'http://127.0.0.1:9' }

async function usageError(run: Promise<number>, pattern: RegExp): Promise<void> {
  await assert.rejects(run, (err: unknown) => {
    assert.ok(err instanceof UsageError, String(err))
    assert.match(err.message, pattern)
    return true
  })
}

describe('meshos drain, undrain, leader transfer, voters remove: command lines', () => {
  it('--deadline takes seconds as a bare number (as the API does), or a duration', () => {
    assert.equal(deadlineSeconds(undefined), undefined)
    assert.equal(deadlineSeconds('0'), 0)
    assert.equal(deadlineSeconds('90'), 90)
    assert.equal(deadlineSeconds('5m'), 300)
    assert.equal(deadlineSeconds('1h30m'), 5400)
    assert.equal(deadlineSeconds('1500ms'), 1.5)
    assert.equal(deadlineSeconds('30d'), 30 * 86_400)
  })

  for (const bad of ['soon', '-5', '5x', '31d', '2592001', ''])
    it(`--deadline "${bad}" is a usage error naming the flag`, () => {
      assert.throws(
        () => deadlineSeconds(bad),
        (err: unknown) => err instanceof UsageError && err.message.startsWith(`--deadline "${bad}": `),
      )
    })

  it('refuses a wrong command line before sending anything', async () => {
    await usageError(drainCommand([], ENV), /^drain: missing NODE/)
    await usageError(drainCommand(['n4', 'n5'], ENV), /^drain: unexpected argument "n5"/)
    await usageError(drainCommand(['n4', '--deadline', 'soon'], ENV), /^--deadline "soon"/)
    await usageError(leaderCommand([], ENV), /^leader: missing the subcommand/)
    await usageError(leaderCommand(['move'], ENV), /^leader: unknown subcommand "move"/)
    await usageError(leaderCommand(['transfer', 'n2', 'n3'], ENV), /^leader transfer: unexpected argument "n3"/)
    await usageError(votersCommand(['remove'], ENV), /^voters remove: missing NODE/)
    await usageError(votersCommand(['add', 'n3'], ENV), /^voters: unknown subcommand "add"/)
  })

  it('says what a drain does, in each of its states', () => {
    const now = 1_700_000_000_000
    assert.equal(
      describeDrained(view({ state: 'draining', sinceMs: now, deadlineAtMs: null }, 2), now),
      'draining n4 (peer-4): no new tasks; 2 tasks still there, they may finish',
    )
    assert.match(
      describeDrained(view({ state: 'draining', sinceMs: now, deadlineAtMs: now + 300_000 }, 1), now),
      /^draining n4 \(peer-4\): no new tasks; 1 task still there, stopped and re-queued elsewhere at .+ \(in 5m00s\)$/,
    )
    assert.equal(
      describeDrained(view({ state: 'drained', sinceMs: now, deadlineAtMs: null }), now),
      'n4 (peer-4) is drained: it holds no task and takes no new one',
    )
    assert.equal(describeDrained(view(null), now), 'n4 (peer-4) is not draining')
  })

  it('says who leads after a transfer, and which voters are left after a removal', () => {
    const previous = { leader: 'peer-1', name: 'n1', term: 4 }
    assert.equal(
      describeTransfer({ leader: 'peer-2', name: 'n2', term: 5, previous }),
      'leadership moved from n1 (peer-1) to n2 (peer-2) (term 4 → 5)',
    )
    assert.equal(
      describeTransfer({ leader: 'peer-1', name: 'n1', term: 4, previous }),
      'n1 (peer-1) already leads (term 4)',
    )
    const cluster = {
      leader: 'peer-1',
      term: 4,
      commitIndex: 9,
      voters: [
        { id: 'peer-1', name: 'n1', lastContactMs: 0, matchIndex: 9 },
        { id: 'peer-2', name: null, lastContactMs: 10, matchIndex: 9 },
      ],
      learners: [],
    }
    assert.equal(describeRemoval('n3', cluster), 'removed n3 from the voters; 2 voters now: n1 (leader), peer-2')
  })
})
