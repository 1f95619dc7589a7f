// The data dir's modes (a task user must not read the key or the Raft log, nor list the tasks),
// and the task user: resolved to numbers at start, refused when it does not exist or is root, and
// checked for a path to the tasks dir.
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Logger } from 'pino'
import { secureDataDir } from '../../src/node/data-dir.js'
import { prepareTaskSandbox } from '../../src/node/task-sandbox.js'
import { StartupError } from '../../src/node/startup-error.js'
import { reachProblem, resolveTaskUser } from '../../src/executor/task-user.js'

function recordingLogger(): { log: Logger; lines: Array<{ obj: Record<string, unknown>; msg: string }> } {
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = []
  const push = (obj: Record<string, unknown>, msg: string): void => {
    lines.push({ obj, msg })
  }
  return { log: { info: push, warn: push, error: push, debug: push } as unknown as Logger, lines }
}

const mode = (file: string): number => statSync(file).mode & 0o7777

describe('data dir permissions and the task user', function () {
  let dir: string
  beforeEach(async function () {
    dir = await mkdtemp(path.join(tmpdir(), 'meshos-data-dir-'))
  })
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true })
  })

  it('makes a new data dir with modes that keep a task out of the key and the log', async function () {
    const { log, lines } = recordingLogger()
    const dataDir = path.join(dir, 'new')
    await secureDataDir(dataDir, log)
    assert.equal(mode(dataDir), 0o711)
    assert.equal(mode(path.join(dataDir, 'raft')), 0o700)
    assert.equal(mode(path.join(dataDir, 'tasks')), 0o711)
    assert.deepEqual(lines, [], 'nothing to tighten in a new data dir')
  })

  it('tightens an existing data dir, logging each change', async function () {
    const dataDir = path.join(dir, 'old')
    for (const d of [dataDir, path.join(dataDir, 'raft'), path.join(dataDir, 'tasks')]) mkdirSync(d, { mode: 0o755 })
    for (const d of [dataDir, path.join(dataDir, 'raft'), path.join(dataDir, 'tasks')]) chmodSync(d, 0o755)
    writeFileSync(path.join(dataDir, 'peer-key'), 'key', { mode: 0o644 })
    writeFileSync(path.join(dataDir, 'agent.log'), 'log', { mode: 0o644 })
    const { log, lines } = recordingLogger()
    await secureDataDir(dataDir, log)
    assert.equal(mode(dataDir), 0o711)
    assert.equal(mode(path.join(dataDir, 'peer-key')), 0o600)
    assert.equal(mode(path.join(dataDir, 'raft')), 0o700)
    assert.equal(mode(path.join(dataDir, 'tasks')), 0o711)
    assert.equal(mode(path.join(dataDir, 'agent.log')), 0o600)
    assert.deepEqual(
      lines.map(l => [path.relative(dataDir, l.obj.path as string) || '.', l.obj.from, l.obj.to]),
      [
        ['.', '0755', '0711'],
        ['peer-key', '0644', '0600'],
        ['raft', '0755', '0700'],
        ['tasks', '0755', '0711'],
        ['agent.log', '0644', '0600'],
      ],
    )
    assert.match(lines[0]!.msg, /tightened data dir permissions/)
  })

  it('resolves the task user to numbers, and refuses one that does not exist or is root', function () {
    const nobody = resolveTaskUser('nobody')
    assert.equal(nobody.name, 'nobody')
    assert.ok(nobody.uid > 0 && nobody.gid > 0)
    assert.deepEqual(resolveTaskUser(String(nobody.uid)), nobody, 'a numeric uid names the same user')
    assert.throws(() => resolveTaskUser('meshos-no-such-user'), /task user "meshos-no-such-user" does not exist/)
    assert.throws(() => resolveTaskUser('root'), /is root .* tasks must run unprivileged/)
  })

  it('says which directory keeps the task user from the tasks dir', function () {
    const nobody = resolveTaskUser('nobody')
    const closed = path.join(dir, 'closed')
    mkdirSync(path.join(closed, 'data'), { recursive: true })
    chmodSync(dir, 0o711)
    chmodSync(closed, 0o700)
    assert.match(
      reachProblem(path.join(closed, 'data', 'tasks'), nobody) ?? '',
      /closed \(mode 0700, owner uid \d+\) does not let task user nobody/,
    )
    chmodSync(closed, 0o711)
    assert.equal(reachProblem(path.join(closed, 'data', 'tasks'), nobody), null)
  })

  it('a root agent refuses to start with a task user that cannot reach the tasks dir; any other runs tasks as itself', function () {
    const { log, lines } = recordingLogger()
    const inputs = { dataDir: path.join(dir, 'data'), taskUser: 'nobody', peerId: 'p', agentUid: 1000 }
    assert.deepEqual(prepareTaskSandbox(inputs, log), { user: null, cgroups: null })
    assert.match(lines[0]!.msg, /not root: tasks run as the agent's own user/)
    chmodSync(dir, 0o700)
    assert.throws(
      () => prepareTaskSandbox({ ...inputs, agentUid: 0 }, log),
      (err: unknown) => {
        assert.ok(err instanceof StartupError)
        assert.match(err.message, /tasks run as nobody but cannot reach .*tasks/)
        return true
      },
    )
    assert.throws(
      () => prepareTaskSandbox({ ...inputs, agentUid: 0, taskUser: 'meshos-no-such-user' }, log),
      StartupError,
    )
  })
})
