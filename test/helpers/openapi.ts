// Checking answers against the OpenAPI document a node serves: each documented answer's schema is
// compiled (JSON Schema 2020-12, strict) and an answer is valid when it matches the schema of its
// route, method and status.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import type { OpenApiDocument } from '../../src/http/responses.js'

interface MediaType {
  schema?: Record<string, unknown>
}
export interface DocumentedAnswer {
  description: string
  content?: Record<string, MediaType>
  headers?: Record<string, { schema: Record<string, unknown> }>
}
interface Operation {
  responses: Record<string, DocumentedAnswer>
}

/** The document's `{id}` form of a Fastify route (`/v1/tasks/:id`). */
export const documentedPath = (fastifyUrl: string): string => fastifyUrl.replace(/:(\w+)/g, '{$1}')

/** Each named schema gets an id of its own, and references to it are rewritten to that id. */
const COMPONENT_REF = '#/components/schemas/'
const COMPONENT_ID = 'https://meshos.invalid/components/'

export class DocumentedApi {
  private readonly ajv = new Ajv2020({ strict: true, allErrors: true })
  private readonly validators = new Map<string, ValidateFunction>()

  constructor(readonly doc: OpenApiDocument) {
    const components = (doc.components as { schemas: Record<string, unknown> }).schemas
    for (const [name, schema] of Object.entries(components))
      this.ajv.addSchema(absoluteRefs(schema) as object, `${COMPONENT_ID}${name}`)
  }

  /** Every documented operation: "METHOD /path" → its answers by status. */
  operations(): Map<string, Record<string, DocumentedAnswer>> {
    const out = new Map<string, Record<string, DocumentedAnswer>>()
    for (const [path, item] of Object.entries(this.doc.paths as Record<string, Record<string, Operation>>))
      for (const [method, op] of Object.entries(item)) out.set(`${method.toUpperCase()} ${path}`, op.responses)
    return out
  }

  answer(method: string, path: string, status: number): DocumentedAnswer | undefined {
    return this.operations().get(`${method} ${path}`)?.[String(status)]
  }

  /** The problems of `body` as the JSON answer of this route and status; [] when it is valid. */
  problems(method: string, path: string, status: number, body: unknown): string[] {
    const key = `${method} ${path} ${status}`
    let validate = this.validators.get(key)
    if (validate === undefined) {
      const schema = this.answer(method, path, status)?.content?.['application/json']?.schema
      if (schema === undefined) return [`no JSON answer documented for ${key}`]
      validate = this.ajv.compile(absoluteRefs(schema) as object)
      this.validators.set(key, validate)
    }
    if (validate(body)) return []
    return (validate.errors ?? []).map(
      e => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
    )
  }

  /** Compiles every schema in the document, so a schema no 2020-12 validator accepts is found. */
  compileAll(): number {
    let compiled = 0
    for (const [op, answers] of this.operations())
      for (const [status, answer] of Object.entries(answers))
        for (const media of Object.values(answer.content ?? {})) {
          if (media.schema === undefined) throw new Error(`${op} ${status}: a media type without a schema`)
          this.ajv.compile(absoluteRefs(media.schema) as object)
          compiled++
        }
    return compiled
  }
}

function absoluteRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(absoluteRefs)
  if (typeof schema !== 'object' || schema === null) return schema
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith(COMPONENT_REF)
        ? `${COMPONENT_ID}${v.slice(COMPONENT_REF.length)}`
        : absoluteRefs(v),
    ]),
  )
}
