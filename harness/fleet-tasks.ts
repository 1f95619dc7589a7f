// Tasks through one node's HTTP API, as a user sends them, for the fleet test and benchmark:
// submissions in batches, a submitter that keeps going while nodes die, full listings, and the
// check that every acknowledged task ended as expected.
import type { AgentProcess } from './agent-process.js'
import type { TaskView } from '../src/client/client.js'

export type { TaskView }

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])

export interface Answer<T> {
  status: number
  body: T
}

export async function call<T = unknown>(
  a: AgentProcess,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 15_000,
): Promise<Answer<T>> {
  const res = await fetch(`${a.client.baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  })
  const text = await res.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {}
  return { status: res.status, body: parsed as T }
}

/** Submits `specs` as one request; the ids when it answered 201, else the answer as an error. */
export async function submitBatch(via: AgentProcess, specs: unknown[], timeoutMs = 15_000): Promise<string[]> {
  const res = await call<{ tasks: Array<{ id: string }> }>(via, 'POST', '/v1/tasks', specs, timeoutMs)
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`)
  return res.body.tasks.map(t => t.id)
}

/** Every task `via` lists (all pages), by id. */
export async function listTasks(via: AgentProcess, query = ''): Promise<Map<string, TaskView>> {
  const out = new Map<string, TaskView>()
  let after: string | null = null
  for (let page = 0; page < 1000; page++) {
    const res: Answer<{ tasks: TaskView[]; next: string | null }> = await call(
      via,
      'GET',
      `/v1/tasks?limit=1000${query}${after !== null ? `&after=${after}` : ''}`,
    )
    if (res.status !== 200) throw new Error(`list answered ${res.status}: ${JSON.stringify(res.body)}`)
    for (const t of res.body.tasks) out.set(t.id, t)
    after = res.body.next
    if (after === null) return out
  }
  throw new Error('more than 1000 pages of tasks')
}

/** Polls the listing through `via` until every task of `ids` is terminal; returns them all. */
export async function waitTerminal(
  via: AgentProcess,
  ids: readonly string[],
  timeoutMs: number,
): Promise<Map<string, TaskView>> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    try {
      const all = await listTasks(via)
      const open = ids.filter(id => !TERMINAL.has(all.get(id)?.state ?? ''))
      if (open.length === 0) return all
      const states: Record<string, number> = {}
      for (const id of open) {
        const s = all.get(id)?.state ?? 'missing'
        states[s] = (states[s] ?? 0) + 1
      }
      const examples = open.slice(0, 5).map(id => {
        const t = all.get(id)
        return t === undefined ? `${id} missing` : `${id} ${t.state} on ${t.node ?? '-'} attempt ${t.attempt}`
      })
      last = `${open.length} of ${ids.length} not terminal: ${JSON.stringify(states)}, e.g. ${examples.join('; ')}`
    } catch (err) {
      last = (err as Error).message
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for tasks to finish; ${last}`)
    await new Promise(resolve => setTimeout(resolve, 500))
  }
}

/** How many of `tasks` each node ran (the node of the last attempt). */
export function perNode(tasks: Iterable<TaskView>): Map<string, number> {
  const counts = new Map<string, number>()
  for (const t of tasks) if (t.node !== null) counts.set(t.node, (counts.get(t.node) ?? 0) + 1)
  return counts
}

/** Submits through `via`, every `everyMs`, a batch made by `specs`, until stopped; keeps the ids
 * of every acknowledged task. A refusal (503 while there is no leader) or no answer in time is
 * counted: such a batch was not acknowledged, so nothing is owed for it. */
export class Submitter {
  readonly acknowledged: string[] = []
  readonly refused: Array<{ atMs: number; status: number; code: string }> = []
  unanswered = 0
  private stopped = false
  private readonly loop: Promise<void>

  constructor(
    private readonly via: AgentProcess,
    private readonly everyMs: number,
    private readonly specs: () => unknown[],
    private readonly timeoutMs = 15_000,
  ) {
    this.loop = this.run()
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const sentAt = Date.now()
      try {
        const res = await call<{ tasks?: Array<{ id: string }>; error?: { code: string } }>(
          this.via,
          'POST',
          '/v1/tasks',
          this.specs(),
          this.timeoutMs,
        )
        if (res.status === 201 && res.body.tasks !== undefined) this.acknowledged.push(...res.body.tasks.map(t => t.id))
        else this.refused.push({ atMs: sentAt, status: res.status, code: res.body.error?.code ?? '?' })
      } catch {
        this.unanswered++
      }
      const waitMs = this.everyMs - (Date.now() - sentAt)
      if (waitMs > 0) await new Promise(resolve => setTimeout(resolve, waitMs))
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.loop
  }
}

/** What became of acknowledged tasks when `victims` were killed while they ran. */
export interface AcknowledgedCheck {
  /** Every acknowledged task, with what is wrong with it if anything. */
  problems: string[]
  succeeded: number
  /** Tasks with an attempt lost on a victim, that then succeeded elsewhere. */
  rerun: number
  /** Victims (peer ids) that lost at least one attempt. */
  victimsWithRerun: Set<string>
}

/** Every acknowledged task must have succeeded (exit 0), on a node that lives or before that node
 * was killed, every earlier attempt lost on a killed node, and nothing else. `victims`: when each
 * killed node (peer id) was killed, epoch ms. */
export function checkAcknowledged(
  tasks: Map<string, TaskView>,
  acknowledged: readonly string[],
  victims: ReadonlyMap<string, number>,
): AcknowledgedCheck {
  const problems: string[] = []
  let succeeded = 0
  let rerun = 0
  const victimsWithRerun = new Set<string>()
  for (const id of acknowledged) {
    const t = tasks.get(id)
    if (t === undefined) {
      problems.push(`${id}: acknowledged but unknown to the cluster`)
      continue
    }
    if (t.state !== 'succeeded' || t.exitCode !== 0) {
      problems.push(`${id}: ${t.state} (${t.reason ?? '-'}: ${t.message ?? ''}) after ${t.attempt} attempt(s)`)
      continue
    }
    const killedAt = t.node === null ? undefined : victims.get(t.node)
    if (killedAt !== undefined && (t.finishedAt ?? Infinity) > killedAt)
      problems.push(`${id}: succeeded at ${t.finishedAt} on a node killed at ${killedAt}`)
    const earlier = t.attempts.filter(a => a.attempt < t.attempt)
    const wrong = earlier.filter(a => a.outcome !== 'lost' || !victims.has(a.node))
    if (wrong.length > 0) problems.push(`${id}: unexpected earlier attempts ${JSON.stringify(wrong)}`)
    if (earlier.length !== t.attempt - 1) problems.push(`${id}: attempt ${t.attempt} but ${earlier.length} earlier`)
    succeeded++
    const lost = earlier.filter(a => a.outcome === 'lost' && victims.has(a.node))
    if (lost.length > 0) rerun++
    for (const a of lost) victimsWithRerun.add(a.node)
  }
  return { problems, succeeded, rerun, victimsWithRerun }
}
