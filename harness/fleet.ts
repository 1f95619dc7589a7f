// A fleet of real `meshos agent` processes on loopback, for the fleet test and benchmark: started
// in batches, with every agent's view of the others followed from its own log ("member state
// changed" lines), so watching fifty nodes watch each other costs no HTTP request and no CPU in
// the agents.
import { writeFile } from 'node:fs/promises'
import { AgentProcess } from './agent-process.js'
import { TempDirs } from './temp-dirs.js'
import type { StatusView } from '../src/client/client.js'
import { largestOddAtMost } from '../src/election/autopilot.js'

export interface FleetOptions {
  size: number
  /** --voters and --standbys of every agent. */
  voters: number
  standbys: number
  /** Agents started together after the first: a process spends ~1 s of CPU importing, so a small
   * batch keeps start-up from starving the nodes already running. */
  batch?: number
  extraArgs?: string[]
  namePrefix?: string
  /** How long one agent may take to start (AgentProcess); a saturated machine needs longer. */
  startTimeoutMs?: number
}

/** One observer's log line about a subject. */
export interface MemberTransition {
  /** Epoch ms, from the observer's log (same machine, same clock). */
  atMs: number
  observer: string
  subject: string
  from: string | null
  to: string
}

/** What the Raft configuration makes of a node: voter, standby (a learner), or worker (no log). */
export type FleetRole = 'voter' | 'standby' | 'worker'

export function roleOf(status: Pick<StatusView, 'role'>): FleetRole | null {
  if (status.role === null) return null
  if (status.role === 'worker') return 'worker'
  return status.role === 'learner' ? 'standby' : 'voter'
}

/** The roles the autopilot settles on for `size` nodes (election/autopilot.ts). */
export function expectedRoles(size: number, voters: number, standbys: number): Record<FleetRole, number> {
  const v = largestOddAtMost(Math.min(voters, size))
  const s = Math.min(standbys, size - v)
  return { voter: v, standby: s, worker: size - v - s }
}

export class Fleet {
  readonly agents: AgentProcess[] = []
  readonly transitions: MemberTransition[] = []
  /** When the last agent was spawned, and when it answered its API (epoch ms). */
  lastSpawnAtMs = 0
  lastReadyAtMs = 0
  /** Per observer (peer id): each subject's state and since when. */
  private readonly views = new Map<string, Map<string, { state: string; sinceMs: number }>>()
  private readonly dirs = new TempDirs()

  constructor(readonly opts: FleetOptions) {}

  /** Starts the first agent (it bootstraps the cluster), then the others in batches, each
   * bootstrapping from the first. Every agent is recorded as soon as it runs, so cleanup() stops
   * it whatever fails later. */
  async start(): Promise<void> {
    await this.grow(this.opts.size)
  }

  /** Adds agents until the fleet has `size`, the same way start() does: a benchmark grows one
   * fleet through several sizes instead of starting each from nothing. */
  async grow(size: number): Promise<void> {
    const prefix = this.opts.namePrefix ?? 'f'
    const batch = this.opts.batch ?? 3
    if (this.agents.length === 0) {
      this.lastSpawnAtMs = Date.now()
      await this.add(`${prefix}1`, [])
    }
    const first = this.agents[0]!
    while (this.agents.length < size) {
      const base = this.agents.length
      const count = Math.min(batch, size - base)
      this.lastSpawnAtMs = Date.now()
      const started = await Promise.allSettled(
        Array.from({ length: count }, async (_, j) => await this.add(`${prefix}${base + j + 1}`, [first.addr])),
      )
      const failed = started.find(s => s.status === 'rejected')
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
    }
    this.lastReadyAtMs = Date.now()
  }

  private async add(name: string, bootstrap: string[]): Promise<AgentProcess> {
    const agent = await AgentProcess.start({
      name,
      dataDir: await this.dirs.make('meshos-fleet-'),
      bootstrap,
      startTimeoutMs: this.opts.startTimeoutMs,
      extraArgs: [
        '--voters',
        String(this.opts.voters),
        '--standbys',
        String(this.opts.standbys),
        ...(this.opts.extraArgs ?? []),
      ],
    })
    this.agents.push(agent)
    const view = new Map<string, { state: string; sinceMs: number }>()
    this.views.set(agent.peerId, view)
    agent.onLogLine(line => {
      if (!line.includes('"member state changed"')) return
      let e: { time: number; peer: string; from: string | null; to: string }
      try {
        e = JSON.parse(line) as typeof e
      } catch {
        return
      }
      view.set(e.peer, { state: e.to, sinceMs: e.time })
      this.transitions.push({ atMs: e.time, observer: agent.peerId, subject: e.peer, from: e.from, to: e.to })
    })
    return agent
  }

  /** Agents whose process has not been killed. */
  running(): AgentProcess[] {
    return this.agents.filter(a => a.child.exitCode === null && a.child.signalCode === null)
  }

  byId(peerId: string): AgentProcess | undefined {
    return this.agents.find(a => a.peerId === peerId)
  }

  /** `observer`'s view of `subject` as its log last said. */
  stateOf(observer: AgentProcess, subject: AgentProcess): string | undefined {
    return this.views.get(observer.peerId)?.get(subject.peerId)?.state
  }

  /** Since when (epoch ms) `observer` holds `subject` in its present state; NaN if unknown. */
  sinceOf(observer: AgentProcess, subject: AgentProcess): number {
    return this.views.get(observer.peerId)?.get(subject.peerId)?.sinceMs ?? NaN
  }

  /** If every observer holds every subject (other than itself) in `state`, and entered it at or
   * after `sinceMs`: the latest time one of them did (epoch ms). Otherwise null. */
  allIn(observers: AgentProcess[], subjects: AgentProcess[], state: string, sinceMs = 0): number | null {
    let latest = sinceMs
    for (const o of observers) {
      const view = this.views.get(o.peerId)
      for (const s of subjects) {
        if (s === o) continue
        const seen = view?.get(s.peerId)
        if (seen?.state !== state || seen.sinceMs < sinceMs) return null
        latest = Math.max(latest, seen.sinceMs)
      }
    }
    return latest
  }

  /** Observer-subject pairs that are not (yet) in `state`, for a failure message. */
  notIn(observers: AgentProcess[], subjects: AgentProcess[], state: string, sinceMs = 0): string[] {
    const out: string[] = []
    for (const o of observers)
      for (const s of subjects) {
        if (s === o) continue
        const seen = this.views.get(o.peerId)?.get(s.peerId)
        if (seen?.state !== state || seen.sinceMs < sinceMs)
          out.push(`${o.opts.name} sees ${s.opts.name} ${seen?.state ?? 'not at all'}`)
      }
    return out
  }

  /** Polls the logs (not the agents) until allIn() holds; returns its time. */
  async waitAllIn(
    observers: AgentProcess[],
    subjects: AgentProcess[],
    state: string,
    sinceMs: number,
    timeoutMs: number,
  ): Promise<number> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const at = this.allIn(observers, subjects, state, sinceMs)
      if (at !== null) return at
      if (Date.now() > deadline) {
        const missing = this.notIn(observers, subjects, state, sinceMs)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${observers.length} nodes to see ${subjects.map(s => s.opts.name).join(',')} ${state}: ` +
            `${missing.length} pairs not yet, e.g. ${missing.slice(0, 5).join('; ')}`,
        )
      }
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  /** Suspect and dead transitions logged in [fromMs, toMs) about subjects in `subjects`
   * (default: any). */
  failureTransitions(fromMs: number, toMs: number, subjects?: AgentProcess[]): MemberTransition[] {
    const ids = subjects === undefined ? null : new Set(subjects.map(s => s.peerId))
    return this.transitions.filter(
      t =>
        t.atMs >= fromMs &&
        t.atMs < toMs &&
        (t.to === 'suspect' || t.to === 'dead') &&
        (ids === null || ids.has(t.subject)),
    )
  }

  describe(t: MemberTransition): string {
    const name = (id: string): string => this.byId(id)?.opts.name ?? id.slice(-6)
    return `${name(t.observer)} saw ${name(t.subject)} ${t.from ?? 'new'}→${t.to}`
  }

  async statuses(agents = this.running()): Promise<Array<{ agent: AgentProcess; status: StatusView }>> {
    return await Promise.all(agents.map(async agent => ({ agent, status: await agent.client.status() })))
  }

  /** Once every running agent follows one leader and the roles are what the autopilot settles on
   * for `size` nodes: each agent with its role; null before. */
  async settledRoles(size = this.running().length): Promise<Map<AgentProcess, FleetRole> | null> {
    const all = await this.statuses()
    const leader = all[0]?.status.leader
    if (leader == null || !all.every(s => s.status.leader === leader && s.status.term === all[0]!.status.term))
      return null
    if (all.filter(s => s.status.role === 'leader').length !== 1) return null
    const want = expectedRoles(size, this.opts.voters, this.opts.standbys)
    const roles = new Map<AgentProcess, FleetRole>()
    const counts: Record<FleetRole, number> = { voter: 0, standby: 0, worker: 0 }
    for (const { agent, status } of all) {
      const role = roleOf(status)
      if (role === null) return null
      roles.set(agent, role)
      counts[role]++
    }
    return counts.voter === want.voter && counts.standby === want.standby && counts.worker === want.worker
      ? roles
      : null
  }

  async leader(): Promise<AgentProcess | undefined> {
    const all = await this.statuses()
    const leaders = all.filter(s => s.status.role === 'leader')
    return leaders.length === 1 ? leaders[0]!.agent : undefined
  }

  /** Agents that exited on their own (not by a signal a scenario or cleanup sent), for a report:
   * a crash must not pass for a failure detected. */
  crashed(): string[] {
    return this.agents
      .filter(a => a.child.exitCode !== null)
      .map(a => `${a.opts.name} exited with code ${a.child.exitCode}`)
  }

  /** Every agent's whole log into `file`, for a run to be examined afterwards. */
  async saveLogs(file: string): Promise<void> {
    await writeFile(file, this.agents.map(a => `--- ${a.opts.name} (${a.peerId}) ---\n${a.logs}`).join('\n'))
  }

  /** The last lines of every agent's log, for a failure message. */
  logs(lines = 30): string {
    return this.agents
      .map(a => `--- ${a.opts.name} (${a.peerId}) ---\n${a.logs.split('\n').slice(-lines).join('\n')}`)
      .join('\n')
  }

  async cleanup(): Promise<void> {
    await Promise.all(
      this.agents.map(async a => {
        a.signal('SIGCONT')
        await a.kill()
      }),
    )
    await this.dirs.cleanup()
  }
}
