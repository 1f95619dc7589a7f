// Idle cost: the share of a core each member of a quiet cluster uses, read from /proc/<pid>/stat
// (CPU time, far less sensitive to other load on the machine than latency is).
import { AgentProcess } from '../../harness/agent-process.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import { cpuPercent } from '../lib/proc.js'

/** Samples per member and the length of each: the median of six 5 s windows (30 s of idling)
 * shrugs off one window where a GC or a membership sync fell. */
export const IDLE_SAMPLES = 6
export const IDLE_SAMPLE_MS = 5000
/** A cluster that has just formed still syncs membership and catches learners up: wait first. */
const SETTLE_MS = 10_000

/** Per member, the median over the samples of its share of one core, in percent. */
export async function idleCpuPercent(pids: number[]): Promise<number[]> {
  await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
  const samples: number[][] = pids.map(() => [])
  for (let s = 0; s < IDLE_SAMPLES; s++) {
    const shares = await cpuPercent(pids, IDLE_SAMPLE_MS)
    shares.forEach((share, i) => samples[i]!.push(share))
  }
  return samples.map(each => {
    const sorted = [...each].sort((a, b) => a - b)
    return sorted[Math.floor(sorted.length / 2)]!
  })
}

export interface WorkerIdle {
  /** Idle share of a core of each voter (the leader first) and of each worker, in percent. */
  votersPercent: number[]
  workersPercent: number[]
}

/** 5 agents with `--voters 3 --standbys 0`: 3 voters and 2 workers that hold no Raft log. */
export async function workerIdle(): Promise<WorkerIdle> {
  const dirs = new TempDirs()
  const args = ['--voters', '3', '--standbys', '0']
  const agents: AgentProcess[] = []
  try {
    agents.push(await AgentProcess.start({ name: 'w1', dataDir: await dirs.make('meshos-idle-'), extraArgs: args }))
    for (const name of ['w2', 'w3', 'w4', 'w5']) {
      agents.push(
        await AgentProcess.start({
          name,
          dataDir: await dirs.make('meshos-idle-'),
          bootstrap: [agents[0]!.addr],
          extraArgs: args,
        }),
      )
    }
    const roles = await waitFor(
      '3 voters and 2 workers',
      async () => {
        const statuses = await Promise.all(agents.map(async a => await a.client.status()))
        const workers = statuses.filter(s => s.role === 'worker').length
        const leaders = statuses.filter(s => s.role === 'leader').length
        return workers === 2 && leaders === 1 ? statuses.map(s => s.role) : undefined
      },
      60_000,
      200,
    )
    const shares = await idleCpuPercent(agents.map(a => a.pid))
    const order = (role: string | null): number => (role === 'leader' ? 0 : 1)
    const voters = roles
      .map((role, i) => ({ role, share: shares[i]! }))
      .filter(x => x.role !== 'worker')
      .sort((a, b) => order(a.role) - order(b.role))
    return {
      votersPercent: voters.map(x => x.share),
      workersPercent: shares.filter((_, i) => roles[i] === 'worker'),
    }
  } finally {
    await Promise.all(agents.map(async a => await a.kill()))
    await dirs.cleanup()
  }
}
