// A root agent's tasks cannot touch the agent, checked end to end on a real agent process: they
// run as an unprivileged user, cannot read the node's key or Raft log, cannot outlive a cancel by
// leaving their process group, cannot take the agent down with a fork bomb, and meet the kernel at
// their memory limit. Needs root and cgroup v1 memory and pids (CI runs as root on such machines).
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { AgentProcess } from '../../harness/agent-process.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitClusterReady } from '../helpers/election.js'
import { nodeCgroupDirsOf, removeTestCgroups, whyNoCgroupV1 } from '../helpers/cgroups.js'
import { eventually, processDead } from '../helpers/proc.js'
import { api, logsOf, submit, waitState, waitTerminal } from '../helpers/tasks.js'

const TASK_BOUND_MS = 30_000

/** The live `sleep <seconds>` processes. */
function sleeping(seconds: string): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue
    try {
      const [file, arg] = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0')
      if (file?.endsWith('sleep') === true && arg === seconds && !processDead(Number(name))) pids.push(Number(name))
    } catch {}
  }
  return pids
}

describe("a root agent's tasks cannot touch the agent", function () {
  this.timeout(120_000)
  const dirs = new TempDirs()
  let agent: AgentProcess | undefined
  let peerId = ''

  before(async function () {
    const why = whyNoCgroupV1()
    if (why !== null) {
      console.log(`      SKIPPED: ${why}; CI runs these as root with cgroup v1 memory and pids`)
      this.skip()
    }
    agent = await AgentProcess.start({
      name: 'n1',
      dataDir: await dirs.make('meshos-task-isolation-'),
      // Low, so that the fork bomb below meets it quickly.
      extraArgs: ['--task-pids-max', '32'],
    })
    peerId = agent.peerId
    await waitClusterReady([agent], 1)
  })

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && agent !== undefined) console.log(agent.logs.slice(-5000))
  })

  after(async function () {
    await agent?.kill()
    if (peerId !== '') {
      // The launcher of a SIGKILLed agent removes the node's cgroups as it exits.
      await eventually(() => nodeCgroupDirsOf(peerId).length === 0, "the dead agent's cgroups to go", 5000).catch(
        (err: unknown) => console.log(`      ${(err as Error).message}`),
      )
      await removeTestCgroups(peerId)
    }
    await dirs.cleanup()
  })

  it('says so in its status and metrics, and keeps its data dir to itself', async function () {
    const a = agent!
    const status = await a.client.status()
    assert.deepEqual(status.isolation, { taskUser: 'nobody', taskUid: 65534, cgroups: 'v1', memoryLimit: 'kernel' })
    const metrics = await api(a, 'GET', '/metrics')
    assert.match(
      String(metrics.body),
      /meshos_executor_isolation\{task_user="nobody",cgroups="v1",memory_limit="kernel"\} 1/,
    )
    const mode = (name: string): number => statSync(path.join(a.opts.dataDir, name)).mode & 0o777
    assert.deepEqual([mode('.'), mode('peer-key'), mode('raft'), mode('tasks')], [0o711, 0o600, 0o700, 0o711])
  })

  it('runs tasks as an unprivileged user that cannot read the node key or its Raft log', async function () {
    const a = agent!
    const who = await submit(a, { command: 'id -u; id -G' })
    assert.equal((await waitTerminal(a, who, TASK_BOUND_MS)).state, 'succeeded')
    assert.equal(await logsOf(a, who), '65534\n65534\n')

    const key = await submit(a, { command: `cat ${path.join(a.opts.dataDir, 'peer-key')}` })
    const keyTask = await waitTerminal(a, key, TASK_BOUND_MS)
    assert.equal(keyTask.state, 'failed')
    assert.equal(keyTask.reason, 'exit_code')
    assert.match(await logsOf(a, key, 'stderr'), /peer-key: Permission denied/)

    const raft = await submit(a, { command: `ls ${path.join(a.opts.dataDir, 'raft')}` })
    assert.equal((await waitTerminal(a, raft, TASK_BOUND_MS)).state, 'failed')
    assert.match(await logsOf(a, raft, 'stderr'), /Permission denied/)
  })

  it("cannot drive its node through the node's loopback HTTP API", async function () {
    const a = agent!
    // The same request the test makes itself (and gets 200 for), made from inside a task.
    const url = `${a.client.baseUrl}/v1/tasks`
    const probe = `fetch(${JSON.stringify(url)}).then(async r => console.log(r.status, (await r.json()).error?.code))`
    const id = await submit(a, { argv: [process.execPath, '-e', probe] })
    assert.equal((await waitTerminal(a, id, TASK_BOUND_MS)).state, 'succeeded')
    assert.equal(await logsOf(a, id), '403 forbidden_client\n')
    assert.equal((await fetch(url)).status, 200, 'the operator still gets in')
  })

  it('a task cannot outlive its cancel by setsid', async function () {
    const a = agent!
    const seconds = `${1000 + Math.floor(Math.random() * 1000)}.${process.pid}`
    const id = await submit(a, { command: `setsid sleep ${seconds} & exec sleep ${seconds}` })
    await waitState(a, id, ['running'], TASK_BOUND_MS)
    await eventually(() => sleeping(seconds).length === 2, 'both sleeps to run')
    const sleeps = sleeping(seconds)
    assert.equal((await api(a, 'DELETE', `/v1/tasks/${id}`)).status, 200)
    assert.equal((await waitTerminal(a, id, TASK_BOUND_MS)).state, 'cancelled')
    await eventually(() => sleeps.every(processDead), 'the setsid sleep to be gone too')
  })

  it('a fork bomb meets pids.max; the agent keeps answering and the task ends', async function () {
    const a = agent!
    const id = await submit(a, { command: 'bomb() { bomb | bomb & }; bomb; exec sleep 60', timeoutMs: 4000 })
    await waitState(a, id, ['running'], TASK_BOUND_MS)
    // While it rages: every health check answers, each within a second.
    for (let i = 0; i < 10; i++) {
      const started = performance.now()
      assert.equal((await api(a, 'GET', '/v1/health', undefined, 1000)).status, 200)
      assert.ok(performance.now() - started < 1000)
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    const task = await waitTerminal(a, id, TASK_BOUND_MS)
    assert.deepEqual([task.state, task.reason], ['failed', 'timeout'])
    assert.match(await logsOf(a, id, 'stderr'), /fork/i)
    const attemptCgroup = `${id}@1`
    await eventually(
      () => nodeCgroupDirsOf(peerId).every(dir => !readdirSync(dir).includes(attemptCgroup)),
      "the bomb's cgroup (and every process in it) to go",
    )
  })

  it('the kernel enforces the memory limit: a task allocating 200 MiB with memoryMb 32 fails with reason memory', async function () {
    const a = agent!
    const id = await submit(a, { command: 'dd if=/dev/zero of=/dev/null bs=200M count=1', memoryMb: 32 })
    const task = await waitTerminal(a, id, TASK_BOUND_MS)
    assert.deepEqual([task.state, task.reason], ['failed', 'memory'])
    assert.match(task.message ?? '', /the kernel killed .* at its 32 MiB memory limit/)
  })
})
