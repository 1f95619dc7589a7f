// Typed client for a node's HTTP API, used by the CLI, the tests and scripts.
import type { ClusterView, NodeView, StatusView } from '../http/node-api.js'
import { DEFAULT_HTTP_PORT } from '../node/config.js'

export type { ClusterView, NodeView, StatusView }

export interface KvWrite { key: string, value?: string, index: number, term: number }

export const DEFAULT_API_ADDR = `http://127.0.0.1:${DEFAULT_HTTP_PORT}`
/** A node-local API answers in milliseconds; ten seconds means it is stuck, not slow. */
const DEFAULT_TIMEOUT_MS = 10_000

/** The API answered with an error body. */
export class MeshosApiError extends Error {
  constructor (readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

/** The node could not be reached at all. */
export class MeshosUnreachableError extends Error {}

export interface ClientOptions {
  /** Per-request timeout; a node that does not answer in this time is reported unreachable. */
  timeoutMs?: number
}

export class MeshosClient {
  readonly baseUrl: string
  private readonly timeoutMs: number

  constructor (baseUrl: string = DEFAULT_API_ADDR, opts: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '')
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  async health (): Promise<{ status: string }> {
    return await this.request('GET', '/v1/health')
  }

  async status (): Promise<StatusView> {
    return await this.request('GET', '/v1/status')
  }

  async nodes (): Promise<NodeView[]> {
    const body = await this.request<{ nodes: NodeView[] }>('GET', '/v1/nodes')
    return body.nodes
  }

  async node (id: string): Promise<NodeView> {
    return await this.request('GET', `/v1/nodes/${encodeURIComponent(id)}`)
  }

  async cluster (): Promise<ClusterView> {
    return await this.request('GET', '/v1/cluster')
  }

  /** Resolves once the write is committed (forwarded to the leader by the node). */
  async kvPut (key: string, value: string): Promise<KvWrite> {
    return await this.request('PUT', `/v1/kv/${encodeURIComponent(key)}`, { value })
  }

  async kvGet (key: string): Promise<string> {
    return (await this.request<{ value: string }>('GET', `/v1/kv/${encodeURIComponent(key)}`)).value
  }

  async kvDelete (key: string): Promise<KvWrite> {
    return await this.request('DELETE', `/v1/kv/${encodeURIComponent(key)}`)
  }

  async kvList (): Promise<Record<string, string>> {
    return (await this.request<{ items: Record<string, string> }>('GET', '/v1/kv')).items
  }

  async request<T> (method: string, path: string, body?: unknown): Promise<T> {
    let res: Response
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs)
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message
      throw new MeshosUnreachableError(`cannot reach meshos node at ${this.baseUrl} (${cause}); is it running? (set --addr or MESHOS_ADDR)`)
    }
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined
    } catch {
      throw new MeshosApiError(res.status, 'invalid_response', `${method} ${path}: answer is not JSON: ${text.slice(0, 200)}`)
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string, message?: string } } | undefined)?.error
      throw new MeshosApiError(res.status, e?.code ?? 'http_error', e?.message ?? `${method} ${path}: HTTP ${res.status}`)
    }
    return parsed as T
  }
}
