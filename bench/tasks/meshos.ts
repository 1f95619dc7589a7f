// meshos in the tasks benchmark: 4 agent processes on 127.0.0.1, started with --voters 3
// --standbys 0, so 3 hold the Raft log and the 4th is a worker that holds none. Tasks are submitted
// over HTTP to the worker (the path most nodes of a fleet take: its write is forwarded to the
// leader and answered once applied there), counted and read back on the leader; the latency runs
// are then repeated through a follower (a voter that does not lead). Tasks ask for cpus 0.01 and
// memoryMb 16 (above /bin/true's own ~1 MiB RSS, which the memory limit polls) so node capacity
// never limits throughput.
import { AgentProcess } from '../../harness/agent-process.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import { mapLimit, sleep } from '../lib/async.js'
import { JsonHttp } from '../lib/http.js'
import type { Log } from '../lib/log.js'
import { descendants, rssMiB, totalCpuSeconds } from '../lib/proc.js'
import { measureLatency, measureQueue, type TaskQueue } from './measure.js'
import type { TasksPlan } from './plan.js'
import type { TasksSystemResult } from './results.js'

/** The node answered 404 to POST /v1/tasks: this build has no task API. */
export class TaskApiUnavailable extends Error {}

/** Above the most submissions ever unanswered at 100/s (latency × rate), so none waits for a socket. */
const OPEN_LOOP_MAX_SOCKETS = 1024

const MESHOS_SPEC = { argv: ['/bin/true'], cpus: 0.01, memoryMb: 16 }
/** Three voters and no standby: a fourth node is then a worker. */
const CONTROL_PLANE_ARGS = ['--voters', '3', '--standbys', '0']

interface TaskView {
  id: string
  state: string
  startedAt: number | null
  reason?: string | null
  exitCode?: number | null
}
interface TaskList {
  tasks: TaskView[]
  next: string | null
  total: number
}

/** The agents by role, found once the cluster has settled. */
interface Roles {
  leader: AgentProcess
  follower: AgentProcess
  worker: AgentProcess
}

async function startMeshos(dirs: TempDirs): Promise<{ agents: AgentProcess[]; roles: Roles }> {
  // Per-task info logs would cost the agents CPU and fill the harness's log buffer; the
  // environment variable still wins when set.
  const prevLevel = process.env.MESHOS_TEST_LOG_LEVEL
  process.env.MESHOS_TEST_LOG_LEVEL = prevLevel ?? 'warn'
  const agents: AgentProcess[] = []
  try {
    const start = async (name: string): Promise<AgentProcess> =>
      await AgentProcess.start({
        name,
        dataDir: await dirs.make('meshos-tasks-'),
        bootstrap: agents.length === 0 ? [] : [agents[0]!.addr],
        extraArgs: CONTROL_PLANE_ARGS,
      })
    for (const name of ['t1', 't2', 't3', 't4']) agents.push(await start(name))
    const roles = await waitFor(
      '4 meshos nodes agreeing on a leader, with 3 voters and a worker',
      async () => {
        const statuses = await Promise.all(agents.map(async a => await a.client.status()))
        const leaders = new Set(statuses.map(s => s.leader))
        if (leaders.size !== 1 || statuses.some(s => s.leader == null)) return undefined
        const of = (role: string): AgentProcess | undefined => agents[statuses.findIndex(s => s.role === role)]
        const [leader, follower, worker] = [of('leader'), of('follower'), of('worker')]
        if (leader == null || follower == null || worker == null) return undefined
        return (await leader.client.cluster()).voters.length === 3 ? { leader, follower, worker } : undefined
      },
      60_000,
      50,
    )
    return { agents, roles }
  } catch (err) {
    await Promise.all(
      agents.map(async a => {
        await a.kill()
      }),
    )
    throw err
  } finally {
    if (prevLevel === undefined) delete process.env.MESHOS_TEST_LOG_LEVEL
  }
}

function meshosQueue(agents: AgentProcess[], roles: Roles, via: AgentProcess): { q: TaskQueue; close: () => void } {
  // Open loop means a request goes out on schedule however many are unanswered: with a cap of 16
  // connections, a backlog would wait in this client instead (and the node could never see more
  // than 16 submissions at once). BullMQ's client pipelines without a cap on one connection.
  const submitHttp = new JsonHttp(via.client.baseUrl, OPEN_LOOP_MAX_SOCKETS)
  const readHttp = new JsonHttp(roles.leader.client.baseUrl)
  const post = async (body: unknown): Promise<unknown> => {
    const res = await submitHttp.request('POST', '/v1/tasks', body)
    if (res.status === 404) throw new TaskApiUnavailable('meshos: task API not available (404)')
    if (res.status < 200 || res.status > 299)
      throw new Error(`POST /v1/tasks: HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`)
    return res.body
  }
  const get = async <T>(path: string): Promise<T> => {
    const res = await readHttp.request<T>('GET', path)
    if (res.status === 404 && path.startsWith('/v1/tasks?'))
      throw new TaskApiUnavailable('meshos: task API not available (404)')
    if (res.status !== 200)
      throw new Error(`GET ${path}: HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`)
    return res.body
  }
  const count = async (state: string): Promise<number> =>
    (await get<TaskList>(`/v1/tasks?state=${state}&limit=1`)).total
  const byRole: Array<[string, AgentProcess]> = [
    ['leader', roles.leader],
    ...agents
      .filter(a => a !== roles.leader && a !== roles.worker)
      .map((a, i): [string, AgentProcess] => [`follower ${i + 1}`, a]),
    ['worker', roles.worker],
  ]
  const q: TaskQueue = {
    submit: async () => ((await post(MESHOS_SPEC)) as { id: string }).id,
    submitBatch: async n => {
      const body = (await post(Array.from({ length: n }, () => MESHOS_SPEC))) as { tasks: unknown[] }
      if (body.tasks?.length !== n) throw new Error(`POST /v1/tasks of ${n} specs answered ${body.tasks?.length} tasks`)
    },
    finished: async () => {
      const [succeeded, failed] = await Promise.all([count('succeeded'), count('failed')])
      return { succeeded, failed }
    },
    failureDetail: async () => {
      const t = (await get<TaskList>('/v1/tasks?state=failed&limit=1')).tasks[0]
      return t == null ? 'none listed' : `e.g. ${t.id}: reason ${t.reason ?? '?'}, exit code ${t.exitCode ?? '?'}`
    },
    startedAt: async ids =>
      await mapLimit(ids, 8, async id => (await get<TaskView>(`/v1/tasks/${encodeURIComponent(id)}`)).startedAt ?? NaN),
    rss: async () => ({
      leader: await rssMiB(roles.leader.pid),
      follower: await rssMiB(roles.follower.pid),
      worker: await rssMiB(roles.worker.pid),
    }),
    cpuSeconds: async () => await totalCpuSeconds(await meshosPids(agents)),
    cpuSecondsByProcess: async () =>
      Object.fromEntries(
        await Promise.all(
          byRole.map(async ([role, a]): Promise<[string, number]> => [
            role,
            await totalCpuSeconds(await meshosPids([a])),
          ]),
        ),
      ),
    processes: `${agents.length} agents and their launchers`,
  }
  return {
    q,
    close: () => {
      submitHttp.close()
      readHttp.close()
    },
  }
}

/** The agents and what they keep running (launchers, or executor processes without one), not the
 * tasks. Found again at each reading; a helper replaced between two readings would skew that
 * delta (none is replaced in a healthy run). */
async function meshosPids(agents: AgentProcess[]): Promise<number[]> {
  const helpers = await Promise.all(agents.map(async a => await descendants(a.pid, ['node', 'meshos-launcher'])))
  return [...agents.map(a => a.pid), ...helpers.flat()]
}

/** CPU ms per second the agents use with nothing to do. */
async function idleCpuMsPerSecond(agents: AgentProcess[], windowMs: number): Promise<number> {
  const pids = await meshosPids(agents)
  const before = await totalCpuSeconds(pids)
  const start = performance.now()
  await sleep(windowMs)
  return (((await totalCpuSeconds(pids)) - before) / ((performance.now() - start) / 1000)) * 1000
}

export async function benchMeshos(plan: TasksPlan, log: Log): Promise<TasksSystemResult> {
  const dirs = new TempDirs()
  const { agents, roles } = await startMeshos(dirs)
  try {
    const name = (a: AgentProcess): string => a.opts.name
    log(
      `  meshos: ${agents.length} agent processes on 127.0.0.1 (${CONTROL_PLANE_ARGS.join(' ')}): leader ${name(roles.leader)}, worker ${name(roles.worker)}; submitting to the worker, then to follower ${name(roles.follower)}; counting on the leader`,
    )
    const idle = {
      leader: await rssMiB(roles.leader.pid),
      follower: await rssMiB(roles.follower.pid),
      worker: await rssMiB(roles.worker.pid),
    }
    const idleMsPerSecond = await idleCpuMsPerSecond(agents, plan.idleCpuWindowMs)
    log(`    idle: ${idleMsPerSecond.toFixed(0)} ms of CPU per second, all agents together`)
    let viaFollower: TasksSystemResult['viaFollower']
    // Through the follower right after the worker's latency runs, while the table is as small.
    const throughFollower = async (): Promise<void> => {
      const { q, close } = meshosQueue(agents, roles, roles.follower)
      try {
        const light = await measureLatency(q, plan, plan.lightLatencyTasks, plan.lightIntervalMs)
        const paced = await measureLatency(q, plan)
        log(`    latency through the follower: ${plan.lightLatencyTasks} + ${plan.latencyTasks} tasks done`)
        viaFollower = {
          latencyMeasures: 'POST on a follower (a voter) → task startedAt',
          light: light.start,
          paced: paced.start,
          cpuMsPerTask: { light: light.cpuMsPerTask, paced: paced.cpuMsPerTask },
        }
      } finally {
        close()
      }
    }
    const viaWorker = meshosQueue(agents, roles, roles.worker)
    let result: TasksSystemResult
    try {
      result = await measureQueue(
        'meshos',
        'POST on a worker (holds no Raft log) → task startedAt',
        viaWorker.q,
        plan,
        plan.heldTasks,
        log,
        [
          `tasks ${JSON.stringify(MESHOS_SPEC)}: capacity never limits`,
          `RSS before any task: leader ${idle.leader.toFixed(1)} MiB, follower ${idle.follower.toFixed(1)} MiB, worker ${idle.worker.toFixed(1)} MiB`,
        ],
        { idleMsPerSecond, afterLatency: throughFollower },
      )
    } finally {
      viaWorker.close()
    }
    return viaFollower === undefined ? result : { ...result, viaFollower }
  } finally {
    await Promise.all(
      agents.map(async a => {
        await a.kill()
      }),
    )
    // A failed cleanup must not hide why the run failed.
    await dirs.cleanup().catch((err: unknown) => {
      log(`    meshos: temp dirs not removed: ${(err as Error).message}`)
    })
  }
}
