// The task commands as a user runs them, against a real one-node cluster (a single node
// bootstraps itself as leader) whose API needs a token: run (with and without --wait), tasks,
// task, logs, cancel, and what happens without the token.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { AgentProcess, MESHOS_BIN } from '../../harness/agent-process.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import type { TaskView } from '../../src/client/client.js'

interface CliRun {
  status: number | null
  stdout: string
  stderr: string
}

/**
 * The CLI as a child process. Asynchronous (not spawnSync) so this process keeps draining the
 * agent's output pipe while the CLI runs, and several CLIs can run at once.
 */
async function meshos(args: string[], env: Record<string, string>): Promise<CliRun> {
  const child = spawn(process.execPath, [MESHOS_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const timer = setTimeout(() => {
    child.kill('SIGKILL')
  }, 30_000)
  const status = await new Promise<number | null>(resolve =>
    child.once('close', code => {
      resolve(code)
    }),
  )
  clearTimeout(timer)
  return { status, stdout, stderr }
}

describe('meshos task commands', function () {
  this.timeout(60_000)
  const dirs = new TempDirs()
  let agent: AgentProcess
  let addr = ''
  const token = 'Xq7fP2mK9sL4vB8nR1tW6yZ3cD5gH0jA-_kE2uI4oU6'
  let tokenFile = ''
  const cli = async (...args: string[]): Promise<CliRun> =>
    await meshos(args, { MESHOS_ADDR: addr, MESHOS_TOKEN: token })
  const stateOf = async (id: string): Promise<TaskView['state']> => (await agent.client.task(id)).state

  before(async () => {
    const dataDir = await dirs.make()
    tokenFile = path.join(dataDir, 'api.token')
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 })
    agent = await AgentProcess.start({
      name: 'solo',
      dataDir,
      extraArgs: ['--http-token-file', tokenFile],
      token,
    })
    addr = agent.client.baseUrl
    await waitFor('the single node to lead', async () => (await agent.client.status()).role === 'leader', 20_000)
  })
  after(async () => {
    await agent?.kill()
    await dirs.cleanup()
  })

  it("`run --wait` streams the task's stdout and stderr and exits with its exit code", async () => {
    const r = await cli('run', '--wait', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7')
    assert.equal(r.status, 7, r.stderr)
    assert.equal(r.stdout, 'out\n')
    assert.equal(r.stderr, 'err\n')
  })

  it('`run --wait` prints the output of every attempt when the task is retried', async () => {
    const r = await cli('run', '--wait', '--retries', '1', '--', 'sh', '-c', 'echo try; exit 3')
    assert.equal(r.status, 3, r.stderr)
    assert.equal(r.stdout, 'try\ntry\n')
  })

  it('`run` prints the id; logs, tasks and task then show the finished task', async () => {
    const r = await cli('run', '--name', 'greeting', '--', '/bin/echo', 'hi')
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /^\S+\n$/)
    const id = r.stdout.trim()
    await waitFor(`${id} to succeed`, async () => (await stateOf(id)) === 'succeeded', 20_000)

    const logs = await cli('logs', id)
    assert.equal(logs.status, 0, logs.stderr)
    assert.equal(logs.stdout, 'hi\n')

    const json = await cli('tasks', '--json')
    assert.equal(json.status, 0, json.stderr)
    const listed = (JSON.parse(json.stdout) as { tasks: TaskView[]; total: number }).tasks.find(t => t.id === id)
    assert.equal(listed?.state, 'succeeded')
    assert.deepEqual(listed?.spec.argv, ['/bin/echo', 'hi'])

    const table = await cli('tasks', '--state', 'succeeded')
    assert.equal(table.status, 0, table.stderr)
    assert.match(table.stdout, /^ID\s+NAME\/COMMAND\s+STATE\s+ATTEMPT\s+NODE\s+EXIT\s+AGE\s+DURATION\n/)
    assert.match(table.stdout, new RegExp(`^${id}\\s+greeting\\s+succeeded\\s+1\\s+solo\\s+0\\s`, 'm'))
    assert.match(table.stdout, /\n\d+ of \d+ tasks?\n$/)

    const detail = await cli('task', id)
    assert.equal(detail.status, 0, detail.stderr)
    assert.match(detail.stdout, /^state:\s+succeeded$/m)
    assert.match(detail.stdout, /^command:\s+\/bin\/echo hi\s+\(run directly\)$/m)
    assert.match(detail.stdout, /^node:\s+solo \(12D3Koo\S+\)$/m)
    assert.match(detail.stdout, /^placement:\s+\S/m)
    assert.equal((JSON.parse((await cli('task', id, '--json')).stdout) as TaskView).exitCode, 0)
  })

  it('`logs -f` prints the output as written until the task ends', async () => {
    const id = (await cli('run', '--shell', '--', 'echo a; sleep 0.5; echo b >&2; echo c')).stdout.trim()
    const [out, err] = await Promise.all([cli('logs', '-f', id), cli('logs', '--follow', '--stderr', id)])
    assert.equal(out.status, 0, out.stderr)
    assert.equal(out.stdout, 'a\nc\n')
    assert.equal(err.stdout, 'b\n')
    assert.equal(await stateOf(id), 'succeeded')
  })

  it('`cancel` stops a running task', async () => {
    const id = (await cli('run', '--', 'sleep', '30')).stdout.trim()
    await waitFor(`${id} to run`, async () => (await stateOf(id)) === 'running', 20_000)
    const r = await cli('cancel', id)
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`^${id}: (cancelled|cancel requested)`))
    await waitFor(`${id} to be cancelled`, async () => (await stateOf(id)) === 'cancelled', 20_000)
    const again = await cli('cancel', id)
    assert.equal(again.status, 1)
    assert.match(again.stderr, /^meshos: conflict: task \S+ already cancelled$/m)
  })

  it('`run --wait` on a task cancelled meanwhile says so and exits 130', async () => {
    const waiting = cli('run', '--wait', '--name', 'to-cancel', '--', 'sleep', '30')
    const id = await waitFor(
      'the to-cancel task to run',
      async () => {
        const { tasks } = await agent.client.tasks({ state: 'running' })
        return tasks.find(t => t.name === 'to-cancel')?.id
      },
      20_000,
    )
    await agent.client.cancelTask(id)
    const r = await waiting
    assert.equal(r.status, 130, r.stderr)
    assert.match(r.stderr, new RegExp(`meshos: task ${id} was cancelled`))
  })

  it('`run --count 5 --wait` submits five, prints their ids and exits 0 when all succeed', async () => {
    const r = await cli('run', '--count', '5', '--wait', '--', '/bin/true')
    assert.equal(r.status, 0, r.stderr)
    const ids = r.stdout.trim().split('\n')
    assert.equal(new Set(ids).size, 5, r.stdout)
    assert.match(r.stderr, /5 tasks: 5 succeeded, 0 failed, 0 cancelled/)
    for (const id of ids) assert.equal(await stateOf(id), 'succeeded')
  })

  it('`run --count N --wait` exits 1 when any failed, and lists them', async () => {
    const r = await cli('run', '--count', '2', '--wait', '--', '/bin/false')
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stderr, /2 tasks: 0 succeeded, 2 failed/)
    assert.match(r.stderr, /^ {2}\S+ failed \(exit code 1\)$/m)
  })

  it('`run --json` prints the answer as JSON; with --wait, the task as it ended instead of its output', async () => {
    const submitted = await cli('run', '--json', '--', '/bin/true')
    assert.equal(submitted.status, 0, submitted.stderr)
    const answer = JSON.parse(submitted.stdout) as { id: string; state: string }
    assert.deepEqual(Object.keys(answer), ['id', 'state'])
    const waited = await cli('run', '--wait', '--json', '--', 'sh', '-c', 'echo out; exit 3')
    assert.equal(waited.status, 3, waited.stderr)
    const ended = JSON.parse(waited.stdout) as TaskView
    assert.deepEqual([ended.state, ended.reason, ended.exitCode], ['failed', 'exit_code', 3])
  })

  it('`run --count N --wait --json` prints the tasks as they ended; off a terminal, progress is plain lines', async () => {
    const r = await cli('run', '--count', '2', '--wait', '--json', '--', 'sh', '-c', 'exit 4')
    assert.equal(r.status, 1, r.stderr)
    const { tasks } = JSON.parse(r.stdout) as { tasks: TaskView[] }
    assert.deepEqual(
      tasks.map(t => [t.state, t.exitCode]),
      [
        ['failed', 4],
        ['failed', 4],
      ],
    )
    assert.match(r.stderr, /2 tasks: 0 succeeded, 2 failed/)
    // No bar, no colour: stderr is a pipe here.
    assert.ok(!r.stderr.includes('\r') && !r.stderr.includes('\x1b'), r.stderr)
  })

  const mistakes: Array<[string[], RegExp]> = [
    [['run'], /^meshos: run: no COMMAND given/],
    [['run', '--cpus', 'abc', '--', 'true'], /^meshos: --cpus "abc": expected a number/],
    [['run', '--env', 'FOO', '--', 'true'], /^meshos: --env "FOO": expected KEY=VALUE/],
    [['run', '--priority', '101', '--', 'true'], /^meshos: --priority: must be 0 to 100/],
    [['tasks', '--state', 'done'], /^meshos: --state "done": expected one of pending/],
    [['logs'], /^meshos: logs: expected one task ID, got 0/],
  ]
  for (const [args, message] of mistakes) {
    it(`\`meshos ${args.join(' ')}\` is a usage mistake: exit 2 with the command's usage`, async () => {
      const r = await cli(...args)
      assert.equal(r.status, 2, r.stderr)
      assert.match(r.stderr, message)
      // run has its own usage; the other task commands share one.
      assert.match(r.stderr, new RegExp(`\\n\\nusage: meshos ${args[0] === 'run' ? 'run' : 'tasks'} `))
      assert.equal(r.stdout, '')
    })
  }

  it('an API error is "meshos: <code>: <message>" and exit 1', async () => {
    const r = await cli('task', 'no-such-task')
    assert.equal(r.status, 1)
    assert.match(r.stderr, /^meshos: not_found: no task no-such-task/)
  })

  const noToken = { MESHOS_TOKEN: '' }
  const refusals: Array<[string, Record<string, string>, RegExp]> = [
    ['without a token', noToken, /^meshos: unauthorized: this node's API needs its bearer token/],
    [
      'with a wrong token',
      { MESHOS_TOKEN: token.replace(/^./, 'Y') },
      /^meshos: unauthorized: the bearer token is not this node's$/m,
    ],
  ]
  for (const [what, env, message] of refusals) {
    it(`${what}, every command is refused with a hint and exit 1, and nothing is submitted`, async () => {
      const before = (await agent.client.tasks()).total
      for (const args of [
        ['status'],
        ['tasks'],
        ['run', '--', 'true'],
        ['task', 'x'],
        ['cancel', 'x'],
        ['logs', 'x'],
      ]) {
        const r = await meshos(args, { MESHOS_ADDR: addr, ...env })
        assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`)
        assert.match(r.stderr, message, args.join(' '))
        assert.match(r.stderr, /set MESHOS_TOKEN or pass --token-file FILE/, args.join(' '))
      }
      assert.equal((await agent.client.tasks()).total, before)
      assert.equal((await agent.client.health()).status, 'ok')
    })
  }

  it('--token-file gives the token as well, and wins over MESHOS_TOKEN', async () => {
    const env = { MESHOS_ADDR: addr, MESHOS_TOKEN: 'not-the-token' }
    const status = await meshos(['status', '--token-file', tokenFile], env)
    assert.equal(status.status, 0, status.stderr)
    assert.match(status.stdout, /^node: {5}solo /)
    const run = await meshos(['run', '--token-file', tokenFile, '--wait', '--', '/bin/echo', 'with a file'], env)
    assert.equal(run.status, 0, run.stderr)
    assert.equal(run.stdout, 'with a file\n')
    const missing = await meshos(['tasks', '--token-file', path.join(tokenFile, 'nope')], env)
    assert.equal(missing.status, 2)
    assert.match(missing.stderr, /^meshos: --token-file "\S+": cannot open it \(ENOTDIR\)/)
  })
})
