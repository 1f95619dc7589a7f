// What the fleet test and benchmark do to a running fleet, in one place so both do the same: tasks
// spread over the nodes, nodes killed while tasks run, a node frozen and thawed. Each returns what
// it saw (times from the agents' own logs); the test asserts on it, the benchmark reports it.
import type { AgentProcess } from './agent-process.js'
import type { Fleet, MemberTransition } from './fleet.js'
import {
  Submitter,
  checkAcknowledged,
  listTasks,
  perNode,
  submitBatch,
  waitTerminal,
  type AcknowledgedCheck,
  type TaskView,
} from './fleet-tasks.js'

async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = 'never probed'
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined) return v
      last = 'not yet'
    } catch (err) {
      last = (err as Error).message
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}

export interface SpreadRun {
  ids: string[]
  tasks: Map<string, TaskView>
  /** From the first submission until every task was acknowledged, and until all were terminal. */
  submitMs: number
  doneMs: number
  /** Tasks per node (peer id), by the node of the last attempt. */
  perNode: Map<string, number>
}

/** `count` tasks (each `/bin/true`) submitted through `via` in requests of `batch`, then waited
 * for until every one is terminal. */
export async function spreadTasks(
  via: AgentProcess,
  count: number,
  opts: { batch: number; timeoutMs: number },
): Promise<SpreadRun> {
  const startedAt = Date.now()
  const ids: string[] = []
  for (let i = 0; i < count; i += opts.batch) {
    const n = Math.min(opts.batch, count - i)
    ids.push(
      ...(await submitBatch(
        via,
        Array.from({ length: n }, (_, j) => ({ argv: ['/bin/true'], name: `s${i + j}` })),
      )),
    )
  }
  const submitMs = Date.now() - startedAt
  const tasks = await waitTerminal(via, ids, opts.timeoutMs)
  const doneMs = Date.now() - startedAt
  const mine = ids.map(id => tasks.get(id)!)
  return { ids, tasks, submitMs, doneMs, perNode: perNode(mine) }
}

export interface VictimDeath {
  name: string
  peerId: string
  role: 'worker' | 'leader'
  killedAtMs: number
  /** From SIGKILL until every survivor had logged it dead. */
  deadEverywhereMs: number
  /** From SIGKILL until each survivor logged it dead. */
  perObserverMs: number[]
}

export interface KillRun {
  victims: VictimDeath[]
  /** From the leader's SIGKILL until every survivor named the same new leader. */
  newLeaderMs: number | null
  submitted: number
  refusedBatches: number
  unansweredBatches: number
  check: AcknowledgedCheck
}

export interface KillOptions {
  /** The node tasks are submitted and read through: it must live. */
  via: AgentProcess
  workers: AgentProcess[]
  killLeader: boolean
  /** Tasks running when the killing starts (each `sleep 3`). */
  preload: number
  deadTimeoutMs: number
  finishTimeoutMs: number
}

/** Runs tasks on every node, keeps submitting through `via`, SIGKILLs `workers` together, waits
 * until every survivor marks them dead, then SIGKILLs the leader the same way; then waits until
 * every acknowledged task is terminal and checks each (fleet-tasks.ts checkAcknowledged). */
export async function killWhileRunning(fleet: Fleet, opts: KillOptions): Promise<KillRun> {
  const leader = await poll('one leader', async () => await fleet.leader(), 10_000)
  if (opts.workers.includes(opts.via) || (opts.killLeader && leader === opts.via))
    throw new Error('the node tasks go through must not be killed')
  const spec = (command: string): object => ({ command, retries: 3 })
  const preloaded = await submitBatch(
    opts.via,
    Array.from({ length: opts.preload }, () => spec('sleep 3')),
  )
  const submitter = new Submitter(opts.via, 500, () => Array.from({ length: 5 }, () => spec('sleep 1')))
  const victims: VictimDeath[] = []
  let newLeaderMs: number | null = null
  try {
    const targets = [...opts.workers, ...(opts.killLeader ? [leader] : [])]
    await poll(
      `a task running on each of ${targets.map(t => t.opts.name).join(',')}`,
      async () => {
        const running = await listTasks(opts.via, '&state=running')
        const nodes = new Set([...running.values()].map(t => t.node))
        return targets.every(t => nodes.has(t.peerId)) ? true : undefined
      },
      30_000,
    )
    const dead = new Set<AgentProcess>()
    const killTogether = async (group: AgentProcess[], role: VictimDeath['role']): Promise<void> => {
      const killedAt = Date.now()
      for (const a of group) {
        a.signal('SIGKILL')
        dead.add(a)
      }
      const survivors = fleet.agents.filter(a => !dead.has(a) && fleet.running().includes(a))
      for (const a of group) {
        const at = await fleet.waitAllIn(survivors, [a], 'dead', killedAt, opts.deadTimeoutMs)
        const perObserverMs = survivors.map(o => fleet.sinceOf(o, a) - killedAt)
        victims.push({
          name: a.opts.name,
          peerId: a.peerId,
          role,
          killedAtMs: killedAt,
          deadEverywhereMs: at - killedAt,
          perObserverMs,
        })
      }
    }
    await killTogether(opts.workers, 'worker')
    if (opts.killLeader) {
      const killedAt = Date.now()
      const newLeader = poll(
        'the survivors to agree on a new leader',
        async () => {
          const survivors = fleet.agents.filter(a => !dead.has(a))
          const all = await fleet.statuses(survivors)
          const named = all[0]?.status.leader
          return named != null && named !== leader.peerId && all.every(s => s.status.leader === named)
            ? Date.now() - killedAt
            : undefined
        },
        opts.deadTimeoutMs * 2,
        100,
      )
      await killTogether([leader], 'leader')
      newLeaderMs = await newLeader
    }
    // Submissions go on through the change of leader for a moment more.
    await new Promise(resolve => setTimeout(resolve, 2000))
  } finally {
    await submitter.stop()
  }
  const acknowledged = [...preloaded, ...submitter.acknowledged]
  const tasks = await waitTerminal(opts.via, acknowledged, opts.finishTimeoutMs)
  return {
    victims,
    newLeaderMs,
    submitted: acknowledged.length,
    refusedBatches: submitter.refused.length,
    unansweredBatches: submitter.unanswered,
    check: checkAcknowledged(tasks, acknowledged, new Map(victims.map(v => [v.peerId, v.killedAtMs]))),
  }
}

export interface FreezeRun {
  /** From SIGSTOP until every other node had logged the frozen one dead. */
  deadEverywhereMs: number
  perObserverDeadMs: number[]
  /** From SIGCONT until every other node had logged it alive again. */
  aliveEverywhereMs: number
  /** Suspect or dead transitions of any other node, seen by anyone, from SIGSTOP until all saw
   * the frozen node alive again: a pause of one node must not condemn the others. */
  collateral: MemberTransition[]
}

export async function freezeAndThaw(
  fleet: Fleet,
  target: AgentProcess,
  opts: { deadTimeoutMs: number; aliveTimeoutMs: number },
): Promise<FreezeRun> {
  const observers = fleet.running().filter(a => a !== target)
  const stoppedAt = Date.now()
  target.signal('SIGSTOP')
  let deadAt: number
  try {
    deadAt = await fleet.waitAllIn(observers, [target], 'dead', stoppedAt, opts.deadTimeoutMs)
  } finally {
    target.signal('SIGCONT')
  }
  const perObserverDeadMs = observers.map(o => fleet.sinceOf(o, target) - stoppedAt)
  const thawedAt = Date.now()
  const aliveAt = await fleet.waitAllIn(observers, [target], 'alive', thawedAt, opts.aliveTimeoutMs)
  const others = fleet.running().filter(a => a !== target)
  return {
    deadEverywhereMs: deadAt - stoppedAt,
    perObserverDeadMs,
    aliveEverywhereMs: aliveAt - thawedAt,
    collateral: fleet.failureTransitions(stoppedAt, Date.now(), others),
  }
}
