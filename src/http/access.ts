// Who may use the API beyond reaching its socket, checked on every request before routing, in
// this order: the Host must be one the node serves (DNS rebinding), a browser request must come
// from the node's own origin, the bearer token must match when one is set, and a body must be
// JSON within the size limit. A web page in the user's browser can therefore never drive the
// node: it cannot name a served Host through its own DNS name, cannot forge Origin or
// Sec-Fetch-Site, and cannot send JSON cross-origin without a preflight that is refused.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { HTTP_LIMITS, type HttpAccessConfig } from './config.js'
import { SocketListings, socketOwnerUid } from './socket-owner.js'
import {
  ForbiddenClientError,
  ForbiddenOriginError,
  MisdirectedRequestError,
  PayloadTooLargeError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from './errors.js'
import { sendContinue } from './expect-continue.js'
import { canonicalHost, parseAuthority, servesHost, type Authority } from './served-hosts.js'
import { DASHBOARD_ROUTES } from './routes/dashboard.js'

/** `application/json`, alone or with a UTF-8 charset (RFC 8259 allows no other). */
const JSON_MEDIA_TYPE = /^application\/json\s*(?:;\s*charset\s*=\s*(?:utf-8|"utf-8")\s*)?$/i
const BEARER = /^Bearer +([^\s]+) *$/i
const SAFE_METHODS = new Set(['GET', 'HEAD'])
/** Served without the bearer token: a load balancer probes the health route, which answers only
 * that the API is up; the dashboard's page and files hold no data (the page asks for the token). */
const OPEN_ROUTES: ReadonlySet<string> = new Set(['/v1/health', ...DASHBOARD_ROUTES])

/** Refusals of pages are worth a warning, but a flood of them must not flood the log. */
const WARN_INTERVAL_MS = 10_000

const digest = (text: string): Buffer => createHash('sha256').update(text).digest()

type Warn = (fields: Record<string, unknown>, message: string) => void

/** At most one warning per interval; the next one says how many were left out. */
function throttledWarn(log: Logger): Warn {
  let lastMs = -Infinity
  let leftOut = 0
  return (fields, message) => {
    const nowMs = Date.now()
    if (nowMs - lastMs < WARN_INTERVAL_MS) {
      leftOut++
      return
    }
    log.warn({ ...fields, leftOut }, message)
    lastMs = nowMs
    leftOut = 0
  }
}

/** The onRequest hook enforcing the rules; `boundPort` is the port the server listens on. */
export function accessRules(access: HttpAccessConfig, boundPort: () => number, log: Logger) {
  const host = canonicalHost(access.host) ?? access.host
  // Digests have one length, so comparing them takes the same time whatever was sent.
  const tokenDigest = access.token === null ? null : digest(access.token)
  const warn = throttledWarn(log)

  const refused = new Set(access.refusedUids)
  /** The owner of each connection is looked up once, on its first request. */
  const owners = new WeakMap<object, Promise<number | null>>()
  const listings = new SocketListings()

  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (refused.size > 0) await checkClient(req, refused, { owners, listings }, warn)
    const authority = checkHost(req, { host, port: boundPort() }, warn)
    checkOrigin(req, authority, warn)
    if (tokenDigest !== null && !(OPEN_ROUTES.has(req.routeOptions.url ?? '') && SAFE_METHODS.has(req.method)))
      checkToken(req, tokenDigest)
    checkBody(req)
    sendContinue(req.raw, reply.raw)
  }
}

async function checkClient(
  req: FastifyRequest,
  refused: ReadonlySet<number>,
  lookup: { owners: WeakMap<object, Promise<number | null>>; listings: SocketListings },
  warn: Warn,
): Promise<void> {
  const socket = req.raw.socket
  let owner = lookup.owners.get(socket)
  if (owner === undefined) {
    const { remoteAddress, remotePort, localPort } = socket
    owner =
      remoteAddress === undefined || remotePort === undefined || localPort === undefined
        ? Promise.resolve(null)
        : socketOwnerUid(lookup.listings, remoteAddress, remotePort, localPort)
    lookup.owners.set(socket, owner)
  }
  const uid = await owner
  if (uid === null || !refused.has(uid)) return
  warn({ uid, method: req.method, url: req.url }, 'refused a request from the user tasks run as')
  throw new ForbiddenClientError(
    `connections from uid ${uid} (the user tasks run as) are refused: a task cannot use its node's API`,
  )
}

function checkHost(req: FastifyRequest, on: { host: string; port: number }, warn: Warn): Authority {
  const value = req.headers.host
  if (value === undefined || value === '')
    throw new MisdirectedRequestError('no Host header: the API answers only requests that name the address it serves')
  const authority = parseAuthority(value)
  if (authority === null || !servesHost(authority, on)) {
    warn({ host: value, method: req.method, url: req.url }, 'refused a request for a Host this node does not serve')
    throw new MisdirectedRequestError(
      `Host "${value}" is not an address this node serves: use a loopback name (localhost, 127.0.0.1, [::1]) or the address given to --http`,
    )
  }
  return authority
}

/** A browser sends Origin on every cross-origin request and on same-origin writes; curl and the
 * CLI send none. Only the node's own origin (a dashboard it serves) passes. */
function checkOrigin(req: FastifyRequest, authority: Authority, warn: Warn): void {
  const origin = req.headers.origin
  if (origin !== undefined && !sameOrigin(origin, authority)) {
    warn({ origin, method: req.method, url: req.url }, 'refused a request from a web page of another origin')
    throw new ForbiddenOriginError(
      `Origin "${origin}" is not this node's: the API cannot be used from a web page of another origin`,
    )
  }
  // Sec-Fetch-Site names the requesting page's site even where Origin is absent (a form or an
  // image); another site may at most navigate to a page here, never change anything.
  const site = req.headers['sec-fetch-site']
  if (site !== 'cross-site' && site !== 'same-site') return
  if (SAFE_METHODS.has(req.method) && req.headers['sec-fetch-mode'] === 'navigate') return
  warn({ site, method: req.method, url: req.url }, 'refused a request made for a page of another site')
  throw new ForbiddenOriginError(`Sec-Fetch-Site "${site}": the API cannot be used from a web page of another site`)
}

function sameOrigin(origin: string, authority: Authority): boolean {
  const match = /^http:\/\/([^/]+)$/.exec(origin)
  const from = match === null ? null : parseAuthority(match[1]!)
  return from !== null && from.hostname === authority.hostname && from.port === authority.port
}

function checkToken(req: FastifyRequest, expected: Buffer): void {
  const header = req.headers.authorization
  if (header === undefined)
    throw new UnauthorizedError(
      "this node's API needs its bearer token: send Authorization: Bearer <token> (the agent's --http-token-file)",
      { 'www-authenticate': 'Bearer realm="meshos"' },
    )
  const token = BEARER.exec(header)?.[1]
  if (token === undefined || !timingSafeEqual(digest(token), expected))
    throw new UnauthorizedError("the bearer token is not this node's", {
      'www-authenticate': 'Bearer realm="meshos", error="invalid_token"',
    })
}

/** Refused before a byte of the body is read (and before `100 Continue` is sent). */
function checkBody(req: FastifyRequest): void {
  const type = req.headers['content-type']
  const length = req.headers['content-length']
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
  if (type === undefined ? hasBody : !JSON_MEDIA_TYPE.test(type))
    throw new UnsupportedMediaTypeError(
      type === undefined
        ? 'a request body needs content-type: application/json'
        : `content-type "${type}" is not accepted: request bodies must be application/json`,
    )
  if (length !== undefined && Number(length) > HTTP_LIMITS.bodyBytes)
    // Closing the connection stops a client that sends the body anyway.
    throw new PayloadTooLargeError(`the body of ${length} bytes is over the limit of ${HTTP_LIMITS.bodyBytes} bytes`, {
      connection: 'close',
    })
}
