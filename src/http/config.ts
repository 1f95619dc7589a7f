// Defaults of the node-local HTTP API.

export const DEFAULT_HTTP_PORT = 7070

export const HTTP_LIMITS = {
  /** Requests are small JSON documents, except a batch of up to 1,000 task specs (a few KiB
   * each); 16 MiB bounds what one bad client can make us buffer. */
  bodyBytes: 16 * 1024 * 1024,
  /** Far above any id we issue, so over-long ids reach the schema check and get a clear 400. */
  maxParamLength: 2048,
} as const

/** A bearer token shorter than this is refused at start: 32 characters of base64 are 192 bits. */
export const HTTP_TOKEN_MIN_CHARS = 32

/** What a bearer token may hold: the token68 characters of RFC 7235, so it fits a header as is. */
export const HTTP_TOKEN_PATTERN = /^[A-Za-z0-9\-._~+/]+=*$/

/** Who may use the API, beyond reaching its socket (enforced by src/http/access.ts). */
export interface HttpAccessConfig {
  /** The --http host: a wildcard (0.0.0.0, ::) serves every address of the machine's interfaces. */
  host: string
  /** The --http port; once listening, the bound port counts (0 asks the OS for one). */
  port: number
  /** When set, every request but GET /v1/health must carry `Authorization: Bearer <token>`. */
  token: string | null
  /** Local users whose connections are refused: the user tasks run as, when it is not the agent's
   * own (a task must not drive its node through the loopback API). */
  refusedUids: readonly number[]
}

/** The API's bearer token as read from --http-token-file, with what the agent warns about. */
export interface HttpTokenFile {
  token: string
  path: string
  /** The file's permission bits: a token others can read is no secret. */
  mode: number
}
