// A parser of text/event-stream as the HTML standard defines it (the "event stream
// interpretation" of Server-Sent Events), for clients without EventSource: lines end in CRLF, LF
// or CR (even split across chunks); `data` lines join with newlines; `id` is remembered across
// messages; comments and unknown fields are ignored; a message left unfinished at the end of the
// stream is dropped.

export interface SseMessage {
  /** The `event` field; `message` when there was none. */
  event: string
  data: string
  /** The last event id as of this message (sticky: an earlier `id` stays until another comes). */
  lastEventId: string
}

export class SseParser {
  /** The last `id` seen, sent back as Last-Event-ID when reconnecting. */
  lastEventId = ''
  /** The last `retry` the server asked for, in milliseconds. */
  retryMs: number | null = null
  private buffer = ''
  private started = false
  /** The previous chunk ended in CR: an LF starting this one belongs to that line end. */
  private afterCr = false
  private eventType = ''
  private data: string[] = []

  /** Takes the next piece of decoded text; returns the messages it completed. */
  push(text: string): SseMessage[] {
    if (text === '') return []
    let chunk = text
    if (!this.started) {
      this.started = true
      if (chunk.startsWith('\uFEFF')) chunk = chunk.slice(1)
    }
    if (this.afterCr && chunk.startsWith('\n')) chunk = chunk.slice(1)
    this.afterCr = false
    this.buffer += chunk
    const messages: SseMessage[] = []
    let start = 0
    for (;;) {
      const end = this.lineEnd(start)
      if (end === -1) break
      const message = this.line(this.buffer.slice(start, end))
      if (message !== null) messages.push(message)
      start = end + 1
      if (this.buffer[end] === '\r') {
        if (start === this.buffer.length) this.afterCr = true
        else if (this.buffer[start] === '\n') start++
      }
    }
    this.buffer = this.buffer.slice(start)
    return messages
  }

  private lineEnd(from: number): number {
    for (let i = from; i < this.buffer.length; i++) {
      const c = this.buffer[i]
      if (c === '\n' || c === '\r') return i
    }
    return -1
  }

  private line(line: string): SseMessage | null {
    if (line === '') return this.dispatch()
    if (line.startsWith(':')) return null
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    switch (field) {
      case 'event':
        this.eventType = value
        break
      case 'data':
        this.data.push(value)
        break
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value
        break
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value)
        break
    }
    return null
  }

  private dispatch(): SseMessage | null {
    const data = this.data
    const event = this.eventType === '' ? 'message' : this.eventType
    this.data = []
    this.eventType = ''
    if (data.length === 0) return null
    return { event, data: data.join('\n'), lastEventId: this.lastEventId }
  }
}
