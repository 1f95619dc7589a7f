// Typed client for a node's HTTP API, used by the CLI, the tests and scripts (`import {
// MeshClient } from 'meshos/client'`). What it sends and what it gets back are typed from the
// zod schemas the node validates requests with and documents its answers with.
import type { z } from 'zod'
import type { ClusterView, KvDeleteAnswer, KvPutAnswer, NodeView, StatusView } from '../http/views.js'
import type { listTasksQuery, taskLogsQuery } from '../http/schemas.js'
import type { OpenApiDocument } from '../http/responses.js'
import type { SubmissionAnswer, TaskList, TaskSubmitted, TaskView } from '../tasks/task-view.js'
import type { TaskState } from '../tasks/task-table.js'
import type { TaskSpecInput } from '../tasks/spec.js'
import { DEFAULT_HTTP_PORT } from '../http/config.js'
import type { EventTopic, MeshEvent, ResyncNotice } from '../events/types.js'
import { SseParser } from './sse-parser.js'
import { isApiErrorCode, type ApiErrorCode } from '../http/error-codes.js'

export type { ApiErrorCode, ClusterView, NodeView, StatusView, TaskList, TaskView, TaskState, TaskSpecInput }
export type { OpenApiDocument, SubmissionAnswer, TaskSubmitted }
export type { EventTopic, MeshEvent, ResyncNotice }
export { EVENT_TOPICS } from '../events/types.js'

export type KvPut = KvPutAnswer
export type KvDelete = KvDeleteAnswer
/** What a committed write answers: the log index and term it was committed at. */
export type KvWrite = KvPut | KvDelete

/** Filters and paging of GET /v1/tasks, as the node parses them. */
export type TaskQuery = Partial<z.output<typeof listTasksQuery>>

/** Which output to read: by default stdout of the current or last attempt. */
export type TaskLogOptions = Partial<Pick<z.output<typeof taskLogsQuery>, 'stream' | 'attempt'>>

export interface FollowOptions extends TaskLogOptions {
  /** Stops following: the promise then resolves, without error. */
  signal?: AbortSignal
}

export interface EventsOptions {
  /** Only these topics (default: all). */
  topics?: readonly EventTopic[]
  /** Resume after this event id, as a previous stream gave it. */
  lastEventId?: string
  /** Stops following: the iterator then ends, without error. */
  signal?: AbortSignal
  /** Failed reconnections in a row before the iterator gives up (default 5). */
  maxRetries?: number
}

/** What the event stream yields: an event, or a notice that events were missed, after which the
 * state should be fetched afresh (the stream goes on after the notice). */
export type EventStreamItem = { kind: 'event'; event: MeshEvent } | { kind: 'resync'; notice: ResyncNotice }

const EVENTS_MAX_RETRIES = 5
/** The first reconnection waits this long, each next one twice as long, up to the cap. */
const EVENTS_RETRY_BASE_MS = 250
const EVENTS_RETRY_CAP_MS = 5000

/** Codes the client gives when no error body did: a stream that broke off, an answer that is not
 * JSON, an error answer without the API's error body. */
export type ClientErrorCode = 'logs_interrupted' | 'invalid_response' | 'http_error'

/** Every code a MeshosApiError may carry. */
export type MeshosErrorCode = ApiErrorCode | ClientErrorCode

export const DEFAULT_API_ADDR = `http://127.0.0.1:${DEFAULT_HTTP_PORT}`
/** A node-local API answers in milliseconds; ten seconds means it is stuck, not slow. */
const DEFAULT_TIMEOUT_MS = 10_000

/** The API answered with an error: `code` says which (the API's error table, or the client's). */
export class MeshosApiError extends Error {
  override readonly name = 'MeshosApiError'
  constructor(
    readonly status: number,
    readonly code: MeshosErrorCode,
    message: string,
  ) {
    super(message)
  }
}

/** The node could not be reached at all. */
export class MeshosUnreachableError extends Error {
  override readonly name = 'MeshosUnreachableError'
}

export interface ClientOptions {
  /** Per-request timeout; a node that does not answer in this time is reported unreachable. */
  timeoutMs?: number
  /** The node's API token (its agent's --http-token-file), sent as `Authorization: Bearer`. */
  token?: string
}

export class MeshClient {
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
  async kvPut(key: string, value: string): Promise<KvPut> {
    return await this.request('PUT', `/v1/kv/${encodeURIComponent(key)}`, { value })
  }

  async kvGet(key: string): Promise<string> {
    return (await this.request<{ value: string }>('GET', `/v1/kv/${encodeURIComponent(key)}`)).value
  }

  async kvDelete(key: string): Promise<KvDelete> {
    return await this.request('DELETE', `/v1/kv/${encodeURIComponent(key)}`)
  }

  async kvList(): Promise<Record<string, string>> {
    return (await this.request<{ items: Record<string, string> }>('GET', '/v1/kv')).items
  }

  /** The node's Prometheus metrics, in the text exposition format. */
  async metrics(): Promise<string> {
    return await this.text('/metrics')
  }

  /** The API described as OpenAPI 3.1, generated from the schemas the node checks requests with. */
  async openapi(): Promise<OpenApiDocument> {
    return await this.request('GET', '/v1/openapi.json')
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
    return await this.text(this.logsPath(id, opts, false))
  }

  /**
   * The output of one attempt as an async iterator of text: with `follow` (the default) as it is
   * written, until the attempt has ended and all of it was read; else what was written so far.
   * Leaving the loop early, or aborting `signal`, stops the stream without error.
   */
  async *streamTaskLogs(
    id: string,
    opts: FollowOptions & { follow?: boolean } = {},
  ): AsyncGenerator<string, void, undefined> {
    const path = this.logsPath(id, opts, opts.follow ?? true)
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
    let done = false
    try {
      for (;;) {
        let read: Awaited<ReturnType<typeof reader.read>>
        try {
          read = await reader.read()
        } catch (err) {
          if (opts.signal?.aborted === true) return
          // The node ends the stream early when the worker holding the output stops answering.
          const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message
          throw new MeshosApiError(
            res.status,
            'logs_interrupted',
            `the output of ${id} stopped before the end (${cause})`,
          )
        }
        if (read.done) break
        const text = decoder.decode(read.value, { stream: true })
        if (text.length > 0) yield text
      }
      done = true
    } finally {
      // Left early (break, return, an error in the loop's body): the connection is let go.
      if (!done) await reader.cancel().catch(() => undefined)
    }
    const tail = decoder.decode()
    if (tail.length > 0) yield tail
  }

  /**
   * Streams the output of one attempt as it is written, until that attempt has ended and all of
   * it was read (the node stops then). Pending tasks are waited for. Only the wait for the
   * answer's headers is bounded by the client timeout: a task may run for days.
   */
  async followTaskLogs(id: string, opts: FollowOptions, onChunk: (text: string) => void): Promise<void> {
    for await (const text of this.streamTaskLogs(id, opts)) onChunk(text)
  }

  /**
   * Follows the node's event stream (GET /v1/events). A dropped connection is resumed after the
   * last event seen (Last-Event-ID); after `maxRetries` failed reconnections in a row it throws
   * MeshosUnreachableError. A refused request (a bad topic, a missing token) throws MeshosApiError.
   */
  async *events(opts: EventsOptions = {}): AsyncGenerator<EventStreamItem, void, undefined> {
    const params = new URLSearchParams()
    for (const topic of opts.topics ?? []) params.append('topic', topic)
    const path = `/v1/events${params.size === 0 ? '' : `?${params.toString()}`}`
    const maxRetries = opts.maxRetries ?? EVENTS_MAX_RETRIES
    let lastEventId = opts.lastEventId ?? ''
    let failures = 0
    const stopped = (): boolean => opts.signal?.aborted === true
    while (!stopped()) {
      const connection = new AbortController()
      const signal = opts.signal === undefined ? connection.signal : AbortSignal.any([connection.signal, opts.signal])
      try {
        const res = await this.openStream(path, lastEventId, signal)
        failures = 0
        if (res.body === null) throw new Error('the answer has no body')
        const parser = new SseParser()
        parser.lastEventId = lastEventId
        const decoder = new TextDecoder()
        for await (const bytes of res.body) {
          for (const message of parser.push(decoder.decode(bytes, { stream: true }))) {
            lastEventId = message.lastEventId
            // Other event names are for newer clients.
            if (message.event === 'message') yield { kind: 'event', event: JSON.parse(message.data) as MeshEvent }
            else if (message.event === 'resync')
              yield { kind: 'resync', notice: JSON.parse(message.data) as ResyncNotice }
          }
          lastEventId = parser.lastEventId
        }
      } catch (err) {
        if (stopped()) return
        // Unreachable, or cut off mid-way (fetch says TypeError "terminated"): try again.
        if (!(err instanceof MeshosUnreachableError || err instanceof TypeError)) throw err
      } finally {
        connection.abort()
      }
      // The stream ended (the node is stopping, or dropped this client): reconnect.
      if (++failures > maxRetries)
        throw new MeshosUnreachableError(
          `the event stream of ${this.baseUrl} ended and ${maxRetries} reconnections failed; is the node running?`,
        )
      await delay(Math.min(EVENTS_RETRY_BASE_MS * 2 ** (failures - 1), EVENTS_RETRY_CAP_MS), opts.signal)
    }
  }

  /** The stream once its headers are in; only that wait is bounded by the client timeout. */
  private async openStream(path: string, lastEventId: string, signal: AbortSignal): Promise<Response> {
    const headersTimeout = new AbortController()
    const timer = setTimeout(() => {
      headersTimeout.abort(new Error(`no answer in ${this.timeoutMs} ms`))
    }, this.timeoutMs)
    try {
      const res = await this.send(
        'GET',
        path,
        undefined,
        AbortSignal.any([signal, headersTimeout.signal]),
        lastEventId === '' ? {} : { 'last-event-id': lastEventId },
      )
      if (!res.ok) throw errorFrom('GET', path, res.status, await res.text())
      return res
    } finally {
      clearTimeout(timer)
    }
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

  /** A text answer (logs, metrics), whole. */
  private async text(path: string): Promise<string> {
    const res = await this.send('GET', path, undefined, AbortSignal.timeout(this.timeoutMs))
    const text = await res.text()
    if (!res.ok) throw errorFrom('GET', path, res.status, text)
    return text
  }

  private logsPath(id: string, opts: TaskLogOptions, follow: boolean): string {
    const params = new URLSearchParams({ stream: opts.stream ?? 'stdout' })
    if (opts.attempt !== undefined) params.set('attempt', String(opts.attempt))
    if (follow) params.set('follow', 'true')
    return `/v1/tasks/${encodeURIComponent(id)}/logs?${params.toString()}`
  }

  /** The response once its headers are in; a node that cannot be reached is MeshosUnreachableError. */
  private async send(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
    extraHeaders: Record<string, string> = {},
  ): Promise<Response> {
    try {
      const headers: Record<string, string> = { ...extraHeaders }
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

/** Waits `ms`, or less if `signal` aborts (then without error). */
async function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** The API's error body ({ error: { code, message } }) as an exception; a code this client does
 * not know (a newer node's) is kept in the message. */
function errorFrom(method: string, path: string, status: number, text: string): MeshosApiError {
  let e: { code?: unknown; message?: unknown } | undefined
  try {
    e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } } | null)?.error
  } catch {}
  const message = typeof e?.message === 'string' ? e.message : `${method} ${path}: HTTP ${status}`
  if (isApiErrorCode(e?.code)) return new MeshosApiError(status, e.code, message)
  return new MeshosApiError(status, 'http_error', typeof e?.code === 'string' ? `${e.code}: ${message}` : message)
}
