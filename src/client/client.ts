// Typed client for a node's HTTP API, used by the CLI, the tests and scripts.
import type { ClusterView, NodeView, StatusView } from '../http/node-api.js'
import type { TaskList, TaskView } from '../tasks/task-service.js'
import type { TaskState } from '../tasks/task-table.js'
import type { TaskSpecInput } from '../tasks/spec.js'
import type { LogStream } from '../executor/types.js'
import { DEFAULT_HTTP_PORT } from '../http/config.js'

export type { ClusterView, NodeView, StatusView, TaskList, TaskView, TaskState, TaskSpecInput }

export interface KvWrite {
  key: string
  value?: string
  index: number
  term: number
}

export interface TaskSubmitted {
  id: string
  state: TaskState
}

export interface TaskQuery {
  state?: TaskState
  node?: string
  tenant?: string
  limit?: number
  after?: string
}

export interface TaskLogOptions {
  stream?: LogStream
  attempt?: number
}

export interface FollowOptions extends TaskLogOptions {
  /** Stops following: the promise then resolves, without error. */
  signal?: AbortSignal
}

export const DEFAULT_API_ADDR = `http://127.0.0.1:${DEFAULT_HTTP_PORT}`
/** A node-local API answers in milliseconds; ten seconds means it is stuck, not slow. */
const DEFAULT_TIMEOUT_MS = 10_000

/** The API answered with an error body. */
export class MeshosApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** The node could not be reached at all. */
export class MeshosUnreachableError extends Error {}

export interface ClientOptions {
  /** Per-request timeout; a node that does not answer in this time is reported unreachable. */
  timeoutMs?: number
  /** The node's API token (its agent's --http-token-file), sent as `Authorization: Bearer`. */
  token?: string
}

export class MeshosClient {
  readonly baseUrl: string
  private readonly timeoutMs: number
  private readonly token: string | undefined

  constructor(baseUrl: string = DEFAULT_API_ADDR, opts: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '')
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.token = opts.token
  }

  async health(): Promise<{ status: string }> {
    return await this.request('GET', '/v1/health')
  }

  async status(): Promise<StatusView> {
    return await this.request('GET', '/v1/status')
  }

  async nodes(): Promise<NodeView[]> {
    const body = await this.request<{ nodes: NodeView[] }>('GET', '/v1/nodes')
    return body.nodes
  }

  async node(id: string): Promise<NodeView> {
    return await this.request('GET', `/v1/nodes/${encodeURIComponent(id)}`)
  }

  async cluster(): Promise<ClusterView> {
    return await this.request('GET', '/v1/cluster')
  }

  /** Resolves once the write is committed (forwarded to the leader by the node). */
  async kvPut(key: string, value: string): Promise<KvWrite> {
    return await this.request('PUT', `/v1/kv/${encodeURIComponent(key)}`, { value })
  }

  async kvGet(key: string): Promise<string> {
    return (await this.request<{ value: string }>('GET', `/v1/kv/${encodeURIComponent(key)}`)).value
  }

  async kvDelete(key: string): Promise<KvWrite> {
    return await this.request('DELETE', `/v1/kv/${encodeURIComponent(key)}`)
  }

  async kvList(): Promise<Record<string, string>> {
    return (await this.request<{ items: Record<string, string> }>('GET', '/v1/kv')).items
  }

  /** One task: answered after the submission is committed. */
  async submitTask(spec: TaskSpecInput): Promise<TaskSubmitted> {
    return await this.request('POST', '/v1/tasks', spec)
  }

  /** Up to 1,000 specs, accepted whole or refused whole; answers keep the order of `specs`. */
  async submitTasks(specs: TaskSpecInput[]): Promise<{ tasks: TaskSubmitted[] }> {
    return await this.request('POST', '/v1/tasks', specs)
  }

  /** In submission order; `next` is the `after` of the following page (null on the last). */
  async tasks(query: TaskQuery = {}): Promise<TaskList> {
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v))
    const qs = params.toString()
    return await this.request('GET', `/v1/tasks${qs === '' ? '' : `?${qs}`}`)
  }

  async task(id: string): Promise<TaskView> {
    return await this.request('GET', `/v1/tasks/${encodeURIComponent(id)}`)
  }

  /** A pending task is cancelled at once; a running one stays running (cancelRequested) until its worker stops it. */
  async cancelTask(id: string): Promise<TaskView> {
    return await this.request('DELETE', `/v1/tasks/${encodeURIComponent(id)}`)
  }

  /** The output written so far (by default stdout of the current or last attempt). */
  async taskLogs(id: string, opts: TaskLogOptions = {}): Promise<string> {
    const path = this.logsPath(id, opts, false)
    const res = await this.send('GET', path, undefined, AbortSignal.timeout(this.timeoutMs))
    const text = await res.text()
    if (!res.ok) throw errorFrom('GET', path, res.status, text)
    return text
  }

  /**
   * Streams the output of one attempt as it is written, until that attempt has ended and all of
   * it was read (the node stops then). Pending tasks are waited for. Only the wait for the
   * answer's headers is bounded by the client timeout: a task may run for days.
   */
  async followTaskLogs(id: string, opts: FollowOptions, onChunk: (text: string) => void): Promise<void> {
    const path = this.logsPath(id, opts, true)
    const headers = new AbortController()
    const timer = setTimeout(() => {
      headers.abort(new Error(`no answer in ${this.timeoutMs} ms`))
    }, this.timeoutMs)
    const signal = opts.signal === undefined ? headers.signal : AbortSignal.any([headers.signal, opts.signal])
    let res: Response
    try {
      res = await this.send('GET', path, undefined, signal)
    } catch (err) {
      if (opts.signal?.aborted === true) return
      throw err
    } finally {
      clearTimeout(timer)
    }
    if (!res.ok) throw errorFrom('GET', path, res.status, await res.text())
    if (res.body === null) return
    // Streaming decode: a UTF-8 character split between two chunks is not mangled.
    const decoder = new TextDecoder()
    const reader = res.body.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        const text = decoder.decode(value, { stream: true })
        if (text.length > 0) onChunk(text)
      }
    } catch (err) {
      if (opts.signal?.aborted === true) return
      // The node ends the stream early when the worker holding the output stops answering.
      const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message
      throw new MeshosApiError(res.status, 'logs_interrupted', `the output of ${id} stopped before the end (${cause})`)
    }
    const tail = decoder.decode()
    if (tail.length > 0) onChunk(tail)
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, AbortSignal.timeout(this.timeoutMs))
    const text = await res.text()
    if (!res.ok) throw errorFrom(method, path, res.status, text)
    try {
      return (text.length > 0 ? JSON.parse(text) : undefined) as T
    } catch {
      throw new MeshosApiError(
        res.status,
        'invalid_response',
        `${method} ${path}: answer is not JSON: ${text.slice(0, 200)}`,
      )
    }
  }

  private logsPath(id: string, opts: TaskLogOptions, follow: boolean): string {
    const params = new URLSearchParams({ stream: opts.stream ?? 'stdout' })
    if (opts.attempt !== undefined) params.set('attempt', String(opts.attempt))
    if (follow) params.set('follow', 'true')
    return `/v1/tasks/${encodeURIComponent(id)}/logs?${params.toString()}`
  }

  /** The response once its headers are in; a node that cannot be reached is MeshosUnreachableError. */
  private async send(method: string, path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    try {
      const headers: Record<string, string> = {}
      if (body !== undefined) headers['content-type'] = 'application/json'
      if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`
      return await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message
      throw new MeshosUnreachableError(
        `cannot reach meshos node at ${this.baseUrl} (${cause}); is it running? (set --addr or MESHOS_ADDR)`,
      )
    }
  }
}

/** The API's error body ({ error: { code, message } }) as an exception. */
function errorFrom(method: string, path: string, status: number, text: string): MeshosApiError {
  let e: { code?: string; message?: string } | undefined
  try {
    e = (JSON.parse(text) as { error?: { code?: string; message?: string } } | null)?.error
  } catch {}
  return new MeshosApiError(status, e?.code ?? 'http_error', e?.message ?? `${method} ${path}: HTTP ${status}`)
}
