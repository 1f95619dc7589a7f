// Defaults of the node-local HTTP API.

export const DEFAULT_HTTP_PORT = 7070

export const HTTP_LIMITS = {
  /** Requests are small JSON documents, except a batch of up to 1,000 task specs (a few KiB
   * each); 16 MiB bounds what one bad client can make us buffer. */
  bodyBytes: 16 * 1024 * 1024,
  /** Far above any id we issue, so over-long ids reach the schema check and get a clear 400. */
  maxParamLength: 2048,
} as const
