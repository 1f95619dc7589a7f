// Versioned JSON on the wire: every decoder checks the size limit before parsing and the schema
// after, and reports why a message was refused instead of throwing, so a bad peer can cost us a
// counter increment but never a crash.
import type { ZodType, ZodTypeDef } from 'zod'
import { fromString, toString } from 'uint8arrays'

/** Why a message was refused; also the `reason` label of the rejection counter. */
export type DecodeFailure = 'oversized' | 'not_json' | 'invalid_schema' | 'wrong_sender'
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: DecodeFailure; detail: string }

export function encodeJson(value: unknown): Uint8Array {
  return fromString(JSON.stringify(value), 'utf8')
}

export function decodeJson<T>(
  bytes: Uint8Array,
  schema: ZodType<T, ZodTypeDef, unknown>,
  maxBytes: number,
): DecodeResult<T> {
  if (bytes.byteLength > maxBytes) {
    return { ok: false, reason: 'oversized', detail: `${bytes.byteLength} bytes > limit ${maxBytes}` }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(toString(bytes, 'utf8'))
  } catch (err) {
    return { ok: false, reason: 'not_json', detail: (err as Error).message }
  }
  const result = schema.safeParse(parsed)
  if (!result.success) {
    const issue = result.error.issues[0]
    const where = issue?.path.length ? issue.path.join('.') : '(root)'
    return { ok: false, reason: 'invalid_schema', detail: `${where}: ${issue?.message ?? 'invalid'}` }
  }
  return { ok: true, value: result.data }
}
