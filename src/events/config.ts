// Defaults of the event stream (event-hub.ts, and GET /v1/events in src/http).

export interface EventsConfig {
  /** Events kept for Last-Event-ID resumes. It is also how far a connected client may fall
   * behind before it is dropped, since a client's queue is its place in this buffer. */
  replayEvents: number
  /** A comment line this often keeps proxies, whose idle timeouts are often 60 s, from closing a
   * quiet stream. */
  keepAliveMs: number
  /** A client dropped for falling behind gets this long to read its resync notice before its
   * connection is cut. */
  dropGraceMs: number
  /** Sent as the SSE `retry` field: how soon an EventSource reconnects after a dropped connection. */
  retryMs: number
}

export const DEFAULT_EVENTS: Readonly<EventsConfig> = {
  // A few minutes of a busy cluster (a batch of 1,000 tasks makes 4,000 events) in about 3 MiB.
  replayEvents: 10_000,
  keepAliveMs: 15_000,
  dropGraceMs: 10_000,
  retryMs: 2_000,
}
