// What each route answers, per status, as zod schemas: the route files give them to Fastify as
// response schemas (each handler's return type is checked against them; compilers.ts says how
// they are applied) and the OpenAPI document is generated from them (openapi-document.ts). The answers' own shapes live with the types they define (NodeView and
// StatusView in views.ts, TaskView in src/tasks/task-view.ts, ClusterView in
// src/cluster/cluster-view-schema.ts); the error body and the small answers are here.
import { Readable } from 'node:stream'
import { z } from 'zod'
import { API_ERROR_CODES } from './error-codes.js'

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(API_ERROR_CODES),
      /** For people; a refused field comes first ("params.id: ..."). */
      message: z.string(),
    }),
  })
  .describe('Every error: a code for programs, a message for people')
export type ErrorBody = z.infer<typeof errorBodySchema>

export const healthSchema = z.object({ status: z.literal('ok') }).describe('The API is up')

export const kvValueSchema = z.object({ key: z.string(), value: z.string() }).describe('The key and its value')
export const kvListSchema = z.object({ items: z.record(z.string()) }).describe('Every key and its value')

/** An answer that is text, not JSON: its media type and the headers that come with it. */
export interface TextReply {
  contentType: string
  description: string
  headers?: Record<string, { description: string; type: 'string'; enum?: string[] }>
}

const textReplies = new WeakMap<z.ZodTypeAny, TextReply>()

/** What a handler sends as a text answer: the whole of it, or a stream of it. */
export type TextBody = string | Buffer | Readable

/** A text answer for a route's response schemas. */
export function textReply(reply: TextReply): z.ZodType<TextBody> {
  const schema = z.custom<TextBody>(
    body => typeof body === 'string' || Buffer.isBuffer(body) || body instanceof Readable,
    'must be text',
  )
  textReplies.set(schema, reply)
  return schema
}

export function textReplyOf(schema: z.ZodTypeAny): TextReply | undefined {
  return textReplies.get(schema)
}

/** Statuses a route may give besides those every route may give. */
export type RouteErrorStatus = 400 | 404 | 409 | 429 | 503

/** Any request may be refused by the access rules (src/http/access.ts) before its route runs, and
 * a bug is a 500; 401 only when the node has a token, and never for GET /v1/health. */
const EVERY_ROUTE = [403, 413, 415, 421, 500] as const
type EveryRouteStatus = (typeof EVERY_ROUTE)[number]

type Replies<Ok, E extends number> = Ok & { [S in E | EveryRouteStatus | 401]: typeof errorBodySchema }

/** A route's response schemas: `ok` for its successes, the error body for `errors` and for every
 * status any route may give. */
export function replies<Ok extends Record<number, z.ZodTypeAny>, E extends RouteErrorStatus = never>(
  ok: Ok,
  errors: readonly E[] = [],
): Replies<Ok, E> {
  return withErrors(ok, [...errors, 401, ...EVERY_ROUTE]) as Replies<Ok, E>
}

/** The response schemas of the one route that needs no token. */
export function openRouteReplies<Ok extends Record<number, z.ZodTypeAny>>(
  ok: Ok,
): Ok & { [S in EveryRouteStatus]: typeof errorBodySchema } {
  return withErrors(ok, EVERY_ROUTE) as Ok & { [S in EveryRouteStatus]: typeof errorBodySchema }
}

function withErrors(ok: Record<number, z.ZodTypeAny>, statuses: readonly number[]): Record<number, z.ZodTypeAny> {
  return { ...ok, ...Object.fromEntries([...statuses].sort((a, b) => a - b).map(status => [status, errorBodySchema])) }
}

export const openApiDocumentSchema = z
  .object({
    openapi: z.literal('3.1.0'),
    info: z.object({ title: z.string(), version: z.string() }).passthrough(),
    paths: z.record(z.record(z.unknown())),
  })
  .passthrough()
  .describe('This document: OpenAPI 3.1')
export type OpenApiDocument = z.infer<typeof openApiDocumentSchema>
