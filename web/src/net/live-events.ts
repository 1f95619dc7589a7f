// GET /v1/events read with fetch (an EventSource cannot send the bearer token), parsed by the same
// parser as the typed client's, and reconnected after a drop with Last-Event-ID, so nothing is
// missed unless the node says to resync.
import { SseParser } from '../../../src/client/sse-parser.js'
import type { MeshEvent } from '../model/api-types.js'
import { ApiError, type Api } from './api.js'

export type LiveState = 'connecting' | 'live' | 'down'

export interface LiveHandlers {
  /** The stream is open: from here on, events tell what changes. */
  onOpen: () => void
  onEvent: (event: MeshEvent) => void
  /** Events were missed: fetch the state afresh. */
  onResync: (reason: string) => void
  onState: (state: LiveState, detail: string) => void
  /** The node wants its token (its answer says why: none sent, or not its own). */
  onUnauthorized: (err: ApiError) => void
}

const RETRY_DEFAULT_MS = 2000
const RETRY_MAX_MS = 15_000

export class LiveEvents {
  private controller: AbortController | null = null
  private parser = new SseParser()

  constructor(
    private readonly api: Api,
    private readonly on: LiveHandlers,
  ) {}

  start(): void {
    if (this.controller !== null) return
    const controller = new AbortController()
    this.controller = controller
    void this.run(controller.signal)
  }

  stop(): void {
    this.controller?.abort()
    this.controller = null
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0
    while (!signal.aborted) {
      this.on.onState('connecting', failures === 0 ? 'connecting' : `reconnecting (attempt ${failures + 1})`)
      try {
        const last = this.parser.lastEventId
        const res = await this.api.open('v1/events', signal, last === '' ? {} : { 'last-event-id': last })
        failures = 0
        this.on.onState('live', 'live')
        this.on.onOpen()
        await this.read(res, signal)
      } catch (err) {
        if (signal.aborted) return
        if (err instanceof ApiError && err.unauthorized) {
          this.stop()
          this.on.onUnauthorized(err)
          return
        }
        failures++
        this.on.onState('down', (err as Error).message)
      }
      if (signal.aborted) return
      const retryMs = Math.min((this.parser.retryMs ?? RETRY_DEFAULT_MS) * 2 ** Math.min(failures, 3), RETRY_MAX_MS)
      await delay(retryMs, signal)
    }
  }

  private async read(res: Response, signal: AbortSignal): Promise<void> {
    if (res.body === null) return
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    const cancel = (): void => void reader.cancel().catch(() => undefined)
    signal.addEventListener('abort', cancel, { once: true })
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        for (const message of this.parser.push(value)) {
          if (message.event === 'resync') {
            const notice = JSON.parse(message.data) as { reason?: string }
            this.on.onResync(notice.reason ?? 'resync')
          } else this.on.onEvent(JSON.parse(message.data) as MeshEvent)
        }
      }
    } finally {
      signal.removeEventListener('abort', cancel)
    }
  }
}

async function delay(ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}
