// A small JSON-over-HTTP client for benchmarks: node:http with a keep-alive agent, so a request
// reuses an open connection (no TCP handshake in the measured path) and costs less client CPU
// than fetch.
import http from 'node:http'

export interface JsonResponse<T> {
  status: number
  body: T
}

export class JsonHttp {
  private readonly agent: http.Agent
  private readonly url: URL

  constructor(baseUrl: string, maxSockets = 16) {
    this.url = new URL(baseUrl)
    this.agent = new http.Agent({ keepAlive: true, maxSockets })
  }

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 10_000,
  ): Promise<JsonResponse<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    try {
      return await this.once<T>(method, path, payload, timeoutMs)
    } catch (err) {
      // A kept-alive connection the server closed while idle fails before the request reached
      // it; Node's documented remedy is to send again on a fresh connection, once.
      if ((err as { reusedSocket?: boolean }).reusedSocket !== true) throw err
      return await this.once<T>(method, path, payload, timeoutMs)
    }
  }

  private async once<T>(
    method: string,
    path: string,
    payload: Buffer | undefined,
    timeoutMs: number,
  ): Promise<JsonResponse<T>> {
    return await new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path,
          method,
          agent: this.agent,
          headers: payload == null ? {} : { 'content-type': 'application/json', 'content-length': payload.length },
        },
        res => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => {
            chunks.push(c)
          })
          res.on('error', reject)
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let parsed: unknown = text
            try {
              parsed = text.length > 0 ? JSON.parse(text) : undefined
            } catch {}
            resolve({ status: res.statusCode ?? 0, body: parsed as T })
          })
        },
      )
      req.setTimeout(timeoutMs, () => {
        req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`))
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        reject(
          Object.assign(err, { reusedSocket: req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') }),
        )
      })
      req.end(payload)
    })
  }

  close(): void {
    this.agent.destroy()
  }
}

const clients = new Map<string, JsonHttp>()
/** One keep-alive client per node, kept across restarts (same address). */
export function httpTo(baseUrl: string): JsonHttp {
  let client = clients.get(baseUrl)
  if (client == null) {
    client = new JsonHttp(baseUrl)
    clients.set(baseUrl, client)
  }
  return client
}
