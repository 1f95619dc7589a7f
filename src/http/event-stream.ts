// One Server-Sent Events connection of GET /v1/events: frames the hub's items (src/events) on
// the response, keeps a quiet stream open with comment lines, and never buffers more than the
// socket's high-water mark: while the client is not reading, nothing is written, its cursor
// stays put in the hub's buffer, and once that cursor has fallen out of the buffer the client is
// told to resync and dropped.
import type { ServerResponse } from 'node:http'
import type { EventFeed, StreamItem, SubscribeOptions, Subscription } from '../events/event-hub.js'

export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8'

/** The SSE frame of one item (`end` has none). Payloads are JSON, which holds no raw newline. */
function sseFrame(item: Exclude<StreamItem, { kind: 'end' }>): string {
  if (item.kind === 'event') return `id: ${item.event.id}\ndata: ${JSON.stringify(item.event)}\n\n`
  return `id: ${item.notice.lastEventId}\nevent: resync\ndata: ${JSON.stringify(item.notice)}\n\n`
}

const KEEP_ALIVE_FRAME = ': keep-alive\n\n'

/** Open streams, so a closing server can end them (it would otherwise wait for them forever). */
export class EventStreams {
  private readonly open = new Set<EventStream>()

  start(res: ServerResponse, feed: EventFeed, opts: SubscribeOptions): EventStream {
    const stream = new EventStream(res, feed, opts, () => this.open.delete(stream))
    this.open.add(stream)
    return stream
  }

  endAll(): void {
    for (const s of [...this.open]) s.end()
  }
}

export class EventStream {
  private readonly keepAlive: NodeJS.Timeout
  private pumpScheduled = false
  private finished = false
  private readonly subscription: Subscription

  constructor(
    private readonly res: ServerResponse,
    private readonly feed: EventFeed,
    opts: SubscribeOptions,
    private readonly onFinished: () => void,
  ) {
    res.writeHead(200, {
      'content-type': SSE_CONTENT_TYPE,
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx buffers proxied answers unless told not to.
      'x-accel-buffering': 'no',
    })
    res.write(`retry: ${feed.config.retryMs}\n\n`)
    this.subscription = feed.subscribe(opts, () => {
      this.schedulePump()
    })
    res.on('drain', () => {
      this.pump()
    })
    res.on('close', () => {
      this.cleanUp()
    })
    this.keepAlive = setInterval(() => {
      // Skipped while the client is not reading: a stalled client must not grow its buffer.
      if (!res.writableNeedDrain) res.write(KEEP_ALIVE_FRAME)
    }, feed.config.keepAliveMs)
    this.pump()
  }

  /** Ends the stream cleanly (the server is closing). */
  end(): void {
    this.finish()
  }

  /** Publishing may happen deep inside Raft's apply; the writing waits for the current job to end. */
  private schedulePump(): void {
    if (this.pumpScheduled || this.finished) return
    this.pumpScheduled = true
    setImmediate(() => {
      this.pumpScheduled = false
      this.pump()
    })
  }

  /** Writes what the subscription has until the socket buffer is full; while the client is not
   * reading, only the end (a resync notice for a client that fell behind, or the node stopping). */
  private pump(): void {
    while (!this.finished && (!this.res.writableNeedDrain || this.subscription.ending)) if (!this.writeNext()) return
  }

  /** False when there was nothing to write. */
  private writeNext(): boolean {
    const item = this.subscription.next()
    if (item === null) return false
    if (item.kind === 'end') {
      this.finish()
      return false
    }
    this.res.write(sseFrame(item))
    return true
  }

  /** Ends the response and closes the connection once it is written (the client reconnects with
   * a new request anyway); a client that does not read what is left is cut off after a grace time. */
  private finish(): void {
    if (this.finished) return
    const res = this.res
    const socket = res.socket
    res.end(() => socket?.end())
    const cutOff = setTimeout(() => {
      res.destroy()
    }, this.feed.config.dropGraceMs)
    res.once('close', () => {
      clearTimeout(cutOff)
    })
    this.cleanUp()
  }

  private cleanUp(): void {
    if (this.finished) return
    this.finished = true
    clearInterval(this.keepAlive)
    this.subscription.close()
    this.onFinished()
  }
}
