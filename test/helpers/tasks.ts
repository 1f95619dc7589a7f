// Task API calls for the integration tests, over plain fetch so a test states exactly what it
// sends and sees exactly what comes back (status and body).
import type { AgentProcess } from '../../harness/agent-process.js'
import { waitFor } from '../../harness/wait-for.js'
import type { TaskView } from '../../src/tasks/task-service.js'

export type { TaskView }

// Answers are JSON the tests read field by field and assert on: untyped by default on purpose.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ApiAnswer<T = any> {
  status: number
  body: T
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function api<T = any>(
  a: AgentProcess,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 15_000,
): Promise<ApiAnswer<T>> {
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
  } catch {
    /* text body (logs) */
  }
  return { status: res.status, body: parsed as T }
}

export async function submit(a: AgentProcess, spec: unknown): Promise<string> {
  const res = await api(a, 'POST', '/v1/tasks', spec)
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`)
  return res.body.id
}

export async function submitMany(a: AgentProcess, specs: unknown[]): Promise<string[]> {
  const res = await api(a, 'POST', '/v1/tasks', specs)
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`)
  return res.body.tasks.map((t: { id: string }) => t.id)
}

export async function getTask(a: AgentProcess, id: string): Promise<TaskView | undefined> {
  const res = await api<TaskView>(a, 'GET', `/v1/tasks/${id}`)
  return res.status === 200 ? res.body : undefined
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])

/** Waits until `id` is terminal as `a` sees it; returns the task. */
export async function waitTerminal(a: AgentProcess, id: string, timeoutMs: number): Promise<TaskView> {
  return await waitFor(
    `task ${id} to finish`,
    async () => {
      const t = await getTask(a, id)
      return t !== undefined && TERMINAL.has(t.state) ? t : undefined
    },
    timeoutMs,
    100,
  )
}

export async function waitState(a: AgentProcess, id: string, states: string[], timeoutMs: number): Promise<TaskView> {
  return await waitFor(
    `task ${id} to be ${states.join('/')}`,
    async () => {
      const t = await getTask(a, id)
      return t !== undefined && states.includes(t.state) ? t : undefined
    },
    timeoutMs,
    100,
  )
}

/** Every task `a` knows, all pages. */
export async function listAll(a: AgentProcess, query = ''): Promise<TaskView[]> {
  const out: TaskView[] = []
  let after: string | null = null
  for (let page = 0; page < 1000; page++) {
    const res: ApiAnswer = await api(a, 'GET', `/v1/tasks?limit=1000${query}${after !== null ? `&after=${after}` : ''}`)
    if (res.status !== 200) throw new Error(`list answered ${res.status}: ${JSON.stringify(res.body)}`)
    out.push(...res.body.tasks)
    after = res.body.next
    if (after === null) return out
  }
  throw new Error('more than 1000 pages')
}

export async function logsOf(a: AgentProcess, id: string, stream: 'stdout' | 'stderr' = 'stdout'): Promise<string> {
  const res = await fetch(`${a.client.baseUrl}/v1/tasks/${id}/logs?stream=${stream}`, {
    signal: AbortSignal.timeout(15_000),
  })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`logs answered ${res.status}: ${text}`)
  return text
}
