// Where a real agent runs its Executor (agent-executor.ts) and what happens when the process that
// spawns its tasks dies: with the launcher, inside the agent; with child_process, in an executor
// process of its own. Either way a dead spawner stops the agent (fail-stop).
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { launcherAvailable } from '../../src/executor/spawn/spawner.js'
import { AgentProcess } from '../../harness/agent-process.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import { waitClusterReady } from '../helpers/election.js'
import { childrenOf, eventually, processDead } from '../helpers/proc.js'
import { logsOf, submit, waitState, waitTerminal } from '../helpers/tasks.js'

const TASK_BOUND_MS = 30_000

/** The child's command line: a node binary may be named nodejs or node20, its script is ours. */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
  } catch {
    return ''
  }
}

/** The agent's last words may still be in its stderr pipe when its exit is seen. */
async function waitLogged(a: AgentProcess, pattern: RegExp): Promise<void> {
  await waitFor(`${String(pattern)} in the agent's log`, async () => pattern.test(a.logs), 5_000)
}

describe("the agent's executor", function () {
  this.timeout(120_000)
  const dirs = new TempDirs()
  let agent: AgentProcess | undefined

  async function startAgent(extraArgs: string[] = []): Promise<AgentProcess> {
    agent = await AgentProcess.start({ name: 'n1', dataDir: await dirs.make('meshos-agent-executor-'), extraArgs })
    await waitClusterReady([agent], 1)
    return agent
  }

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && agent !== undefined) console.log(agent.logs)
    await agent?.kill()
    agent = undefined
    await dirs.cleanup()
  })

  it('with the launcher: tasks run from the agent itself; if the launcher dies the agent stops and its tasks die', async function () {
    if (!launcherAvailable()) {
      console.log('      SKIPPED: meshos-launcher is not built (no C compiler at npm run build)')
      this.skip()
    }
    const a = await startAgent()
    const id = await submit(a, { command: 'echo $$; exec sleep 60' })
    await waitState(a, id, ['running'], TASK_BOUND_MS)
    // The task says its own pid: in a cgroup (root here) there is no pid file to read it from.
    const stdout = path.join(a.opts.dataDir, 'tasks', id, '1', 'stdout.log')
    const taskPid = await waitFor(
      "the task's pid on its output",
      async () => existsSync(stdout) && Number(readFileSync(stdout, 'utf8').split('\n')[0]),
      5_000,
    )
    assert.ok(!processDead(taskPid), 'the task runs')

    const children = childrenOf(a.pid)
    assert.deepEqual(
      children.map(c => c.comm),
      ['meshos-launcher'],
      "the launcher is the agent's only child: no executor process",
    )

    process.kill(children[0]!.pid, 'SIGKILL')
    assert.equal(await a.waitExit(), 1, 'the agent exits with an error')
    await waitLogged(a, /task launcher died/)
    await eventually(() => processDead(taskPid), `task process ${taskPid} to be killed with its agent`)
  })

  it('with child_process: tasks run from an executor process; if it dies the agent stops', async () => {
    const a = await startAgent(['--spawner', 'child_process'])
    const id = await submit(a, { command: 'echo from the executor process' })
    const t = await waitTerminal(a, id, TASK_BOUND_MS)
    assert.equal(t.state, 'succeeded', JSON.stringify(t))
    assert.equal(await logsOf(a, id), 'from the executor process\n')

    const children = childrenOf(a.pid)
    assert.equal(children.length, 1, 'one child: the executor process, and no launcher')
    assert.match(cmdline(children[0]!.pid), /executor-process\.js/)

    process.kill(children[0]!.pid, 'SIGKILL')
    assert.equal(await a.waitExit(), 1, 'the agent exits with an error')
    await waitLogged(a, /executor process died/)
  })
})
