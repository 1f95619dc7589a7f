// The zod schemas of the API as JSON Schema in the dialect of OpenAPI 3.1 (`type: ["string",
// "null"]`, not 3.0's `nullable`), for the OpenAPI document.
import type { z } from 'zod'
import { zodToJsonSchema } from 'zod-to-json-schema'

export type JsonSchema = Record<string, unknown>

/** `schema` as JSON Schema, whole (no references). A transform is described by its input: what a
 * client sends (answers have none). */
export function jsonSchemaOf(schema: z.ZodTypeAny): JsonSchema {
  // Draft 7 is what zod-to-json-schema writes correctly for 2020-12 as well (its 2019-09 output
  // has draft 4's boolean exclusiveMinimum).
  const json = zodToJsonSchema(schema, { target: 'jsonSchema7', $refStrategy: 'none', effectStrategy: 'input' })
  delete (json as JsonSchema).$schema
  return json as JsonSchema
}

/** Named schemas, each written once in the document and referenced wherever else it occurs. */
export class SchemaComponents {
  /** The JSON text of each named schema, to find its copies by. */
  private readonly names = new Map<string, string>()
  readonly schemas: Record<string, JsonSchema> = {}

  constructor(
    components: Readonly<Record<string, z.ZodTypeAny>>,
    private readonly prefix = '#/components/schemas/',
  ) {
    const whole = Object.entries(components).map(([name, schema]) => [name, jsonSchemaOf(schema)] as const)
    for (const [name, json] of whole) this.names.set(JSON.stringify(json), name)
    for (const [name, json] of whole) this.schemas[name] = this.referencing(json, name)
  }

  /** `json` with every copy of a named schema inside it replaced by a reference (the outermost
   * copy wins; `self` is the schema being defined, which does not refer to itself). */
  referencing(json: JsonSchema, self?: string): JsonSchema {
    const visit = (node: unknown, root: boolean): unknown => {
      if (typeof node !== 'object' || node === null) return node
      if (!root) {
        const name = this.names.get(JSON.stringify(node))
        if (name !== undefined && name !== self) return { $ref: `${this.prefix}${name}` }
      }
      if (Array.isArray(node)) return node.map(item => visit(item, false))
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, visit(value, false)]))
    }
    return visit(json, self !== undefined) as JsonSchema
  }
}
