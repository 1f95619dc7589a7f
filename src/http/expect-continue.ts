// `Expect: 100-continue`: a client sends the headers and waits before sending its body. Node
// answers `100 Continue` at once unless the server handles 'checkContinue'; this server passes
// such requests to the app like any other and sends `100 Continue` only once the access rules
// (src/http/access.ts) let the request through, so an oversize, unauthorized or misdirected
// request is refused before its body is sent (and Node closes that connection after the answer,
// since the body the client held back cannot be told from a next request).
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import { errorBody } from './errors.js'

/** Requests whose client still waits for `100 Continue`. */
const awaitingContinue = new WeakSet<IncomingMessage>()

/** A Fastify `serverFactory`: the plain HTTP server, with the handling of Expect above. */
export function expectAwareServer(handler: (req: IncomingMessage, res: ServerResponse) => void): http.Server {
  const server = http.createServer(handler)
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    awaitingContinue.add(req)
    handler(req, res)
  })
  // Any other expectation: the default answer has no body; this one has the API's error shape.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify(
      errorBody('expectation_failed', `Expect "${req.headers.expect ?? ''}": only 100-continue is supported`),
    )
    res
      .writeHead(417, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        connection: 'close',
      })
      .end(body)
  })
  return server
}

/** Lets a client that waits for it send its body; does nothing for any other request. */
export function sendContinue(req: IncomingMessage, res: ServerResponse): void {
  if (awaitingContinue.delete(req)) res.writeContinue()
}
