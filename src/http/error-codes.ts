// The codes of the API's error body ({ error: { code, message } }), each once: the error table
// (errors.ts) maps errors to them, the OpenAPI document lists them, and the client types its
// exceptions with them. No imports, so the client can check a code without loading the server.
export const API_ERROR_CODES = [
  'bad_request',
  'invalid_json',
  'invalid_request',
  'invalid_task',
  'invalid_command',
  'unauthorized',
  'forbidden_origin',
  'forbidden_client',
  'not_found',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'expectation_failed',
  'misdirected_request',
  'too_many_tasks',
  'internal',
  'no_leader',
  'outcome_unknown',
  'logs_unavailable',
] as const

export type ApiErrorCode = (typeof API_ERROR_CODES)[number]

const KNOWN = new Set<string>(API_ERROR_CODES)

export function isApiErrorCode(code: unknown): code is ApiErrorCode {
  return typeof code === 'string' && KNOWN.has(code)
}
