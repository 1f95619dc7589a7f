// meshos in the tasks benchmark: 3 agent processes on 127.0.0.1, tasks submitted over HTTP to a
// follower, counted and read back on the leader. Tasks ask for cpus 0.01 and memoryMb 16 (above
// /bin/true's own ~1 MiB RSS, which the memory limit polls) so node capacity never limits throughput.
import { AgentProcess } from '../../harness/agent-process.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import { mapLimit } from '../lib/async.js'
import { JsonHttp } from '../lib/http.js'
import type { Log } from '../lib/log.js'
import { descendants, rssMiB, totalCpuSeconds } from '../lib/proc.js'
import { measureQueue, type TaskQueue } from './measure.js'
import type { TasksPlan } from './plan.js'
import type { TasksSystemResult } from './results.js'

/** The node answered 404 to POST /v1/tasks: this build has no task API. */
export class TaskApiUnavailable extends Error {}

/** Above the most submissions ever unanswered at 100/s (latency × rate), so none waits for a socket. */
const OPEN_LOOP_MAX_SOCKETS = 1024

const MESHOS_SPEC = { argv: ['/bin/true'], cpus: 0.01, memoryMb: 16 }

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

async function startMeshos(dirs: TempDirs): Promise<AgentProcess[]> {
  // Per-task info logs would cost the agents CPU and fill the harness's log buffer; the
  // environment variable still wins when set.
  const prevLevel = process.env.MESHOS_TEST_LOG_LEVEL
  process.env.MESHOS_TEST_LOG_LEVEL = prevLevel ?? 'warn'
  const agents: AgentProcess[] = []
  try {
    agents.push(await AgentProcess.start({ name: 't1', dataDir: await dirs.make('meshos-tasks-') }))
    for (const name of ['t2', 't3']) {
      agents.push(
        await AgentProcess.start({ name, dataDir: await dirs.make('meshos-tasks-'), bootstrap: [agents[0]!.addr] }),
      )
    }
    await waitFor(
      '3 meshos nodes agreeing on a leader, with 3 voters',
      async () => {
        const statuses = await Promise.all(agents.map(async a => await a.client.status()))
        const leaders = new Set(statuses.map(s => s.leader))
        const li = statuses.findIndex(s => s.role === 'leader')
        if (leaders.size !== 1 || statuses.some(s => s.leader == null) || li < 0) return false
        return (await agents[li]!.client.cluster()).voters.length === 3
      },
      60_000,
      50,
    )
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
  return agents
}

async function leaderIndex(agents: AgentProcess[]): Promise<number> {
  const statuses = await Promise.all(agents.map(async a => await a.client.status()))
  const i = statuses.findIndex(s => s.role === 'leader')
  if (i < 0) throw new Error('no meshos leader')
  return i
}

function meshosQueue(agents: AgentProcess[], leader: number): { q: TaskQueue; close: () => void } {
  const follower = (leader + 1) % agents.length
  // Open loop means a request goes out on schedule however many are unanswered: with a cap of 16
  // connections, a backlog would wait in this client instead (and the node could never see more
  // than 16 submissions at once). BullMQ's client pipelines without a cap on one connection.
  const submitHttp = new JsonHttp(agents[follower]!.client.baseUrl, OPEN_LOOP_MAX_SOCKETS)
  const readHttp = new JsonHttp(agents[leader]!.client.baseUrl)
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
    rss: async () => {
      const l = await leaderIndex(agents)
      return { leader: await rssMiB(agents[l]!.pid), follower: await rssMiB(agents[(l + 1) % agents.length]!.pid) }
    },
    cpuSeconds: async () => await totalCpuSeconds(await meshosPids(agents)),
    processes: '3 agents and their launchers',
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

export async function benchMeshos(plan: TasksPlan, log: Log): Promise<TasksSystemResult> {
  const dirs = new TempDirs()
  const agents = await startMeshos(dirs)
  try {
    const leader = await leaderIndex(agents)
    log(
      `  meshos: 3 agent processes on 127.0.0.1; submitting to follower ${agents[(leader + 1) % 3]!.opts.name}, counting on leader ${agents[leader]!.opts.name}`,
    )
    const idle = { leader: await rssMiB(agents[leader]!.pid), follower: await rssMiB(agents[(leader + 1) % 3]!.pid) }
    const { q, close } = meshosQueue(agents, leader)
    try {
      return await measureQueue('meshos', 'POST on a follower → task startedAt', q, plan, plan.heldTasks, log, [
        `tasks ${JSON.stringify(MESHOS_SPEC)}: capacity never limits`,
        `RSS before any task: leader ${idle.leader.toFixed(1)} MiB, follower ${idle.follower.toFixed(1)} MiB`,
      ])
    } finally {
      close()
    }
  } finally {
    await Promise.all(
      agents.map(async a => {
        await a.kill()
      }),
    )
    await dirs.cleanup()
  }
}
