// Requests to the node that served the page, with its bearer token when it needs one. The token
// is asked for once and kept in sessionStorage (this tab only, gone when it closes); paths are
// relative, so the page also works behind a proxy that serves it under a prefix.
import type { ErrorBody } from '../model/api-types.js'

const TOKEN_KEY = 'meshos.token'
/** A read that takes longer than this is treated as no answer. */
const REQUEST_TIMEOUT_MS = 10_000

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }

  /** The node wants its bearer token (none was sent, or not its own). */
  get unauthorized(): boolean {
    return this.status === 401
  }
}

/** No answer at all: the node is down or unreachable. */
export class UnreachableError extends Error {}

export class Api {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY)
  }

  set token(value: string | null) {
    if (value === null) sessionStorage.removeItem(TOKEN_KEY)
    else sessionStorage.setItem(TOKEN_KEY, value)
  }

  async get<T>(path: string): Promise<T> {
    return await this.json<T>('GET', path)
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return await this.json<T>('POST', path, body)
  }

  async delete<T>(path: string): Promise<T> {
    return await this.json<T>('DELETE', path)
  }

  /** A streamed answer (events, a followed log) once its headers are in; an error status throws. */
  async open(path: string, signal: AbortSignal, headers: Record<string, string> = {}): Promise<Response> {
    const res = await this.send('GET', path, undefined, signal, headers)
    if (!res.ok) throw await errorOf(res)
    return res
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, AbortSignal.timeout(REQUEST_TIMEOUT_MS))
    if (!res.ok) throw await errorOf(res)
    return (await res.json()) as T
  }

  private async send(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
    extra: Record<string, string> = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...extra }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const token = this.token
    if (token !== null) headers.authorization = `Bearer ${token}`
    try {
      return await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        cache: 'no-store',
      })
    } catch (err) {
      if (signal.aborted && (signal.reason as Error | undefined)?.name !== 'TimeoutError') throw err
      throw new UnreachableError(`the node does not answer (${(err as Error).message})`)
    }
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '')
  try {
    const body = JSON.parse(text) as Partial<ErrorBody>
    if (body.error !== undefined) return new ApiError(res.status, body.error.code, body.error.message)
  } catch {}
  return new ApiError(res.status, 'http_error', `HTTP ${res.status}: ${text.slice(0, 200)}`)
}

/** What to tell the user about a failed request. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`
  return (err as Error).message
}
