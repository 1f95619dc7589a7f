// The task spec a user submits (POST /v1/tasks, `meshos run`, the client), checked field by field
// so a mistake comes back as "<field>: <what is wrong>", and normalised (defaults filled in, the
// deadline as epoch ms) before it goes into the replicated log. The log stores only normalised
// specs, so every replica and every later reader sees the same defaults.
import { z } from 'zod'
import { MEMBERSHIP_LIMITS } from '../gossip/config.js'
import { MAX_EPOCH_MS } from '../util/epoch.js'

/** Defaults of an optional field, and the reason for each. */
export const TASK_DEFAULTS = {
  /** A shell command mostly waits; a tenth of a core lets ten share one. */
  cpus: 0.1,
  memoryMb: 64,
  retries: 0,
  priority: 50,
  tenant: 'default',
} as const

/** Bounds that keep one log entry (up to 1,000 specs) a few MiB at most. */
export const TASK_LIMITS = {
  maxBatch: 1000,
  commandChars: 16 * 1024,
  argvItems: 1024,
  argChars: 4096,
  envVars: 256,
  envValueChars: 32 * 1024,
  /** The JSON of one spec, after normalising. */
  specBytes: 64 * 1024,
  maxRetries: 100,
  /** 30 days: a task that runs longer is a service, not a task. */
  maxTimeoutMs: 30 * 24 * 3600_000,
} as const

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a shell variable name')
  .max(255)
const labelKey = z.string().min(1).max(63)

/** Per-task ranking policies; the queue order (edf, fair) stays the cluster's. */
export const TASK_POLICIES = ['spread', 'bin-pack', 'round-robin'] as const

/** Each field once, with its bounds: the spec a user writes and the spec the log stores are held
 * to the same ones, so a spec the API refuses cannot enter the log by another way (a forwarded
 * write from a peer). */
const field = {
  command: z.string().min(1, 'must not be empty').max(TASK_LIMITS.commandChars),
  argv: z
    .array(z.string().max(TASK_LIMITS.argChars))
    .min(1, 'must have at least the program')
    .max(TASK_LIMITS.argvItems),
  name: z.string().min(1).max(255),
  /** At most envVars of them: counted with the whole spec (wholeSpecProblem). */
  env: z.record(envName, z.string().max(TASK_LIMITS.envValueChars)),
  /** Fractions allowed; never more than a node may advertise. */
  cpus: z
    .number({ invalid_type_error: 'must be a number' })
    .positive('must be greater than 0')
    .max(MEMBERSHIP_LIMITS.maxCpus),
  memoryMb: z
    .number({ invalid_type_error: 'must be a number' })
    .int('must be a whole number of MB')
    .positive('must be greater than 0')
    .max(MEMBERSHIP_LIMITS.maxMemoryMb),
  timeoutMs: z
    .number()
    .int('must be whole milliseconds')
    .positive('must be greater than 0')
    .max(TASK_LIMITS.maxTimeoutMs),
  retries: z.number().int('must be a whole number').min(0, 'must not be negative').max(TASK_LIMITS.maxRetries),
  /** Higher runs first. */
  priority: z.number().int('must be a whole number').min(0, 'must be 0 to 100').max(100, 'must be 0 to 100'),
  tenant: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dot, dash or underscore'),
  /** Node labels that must match for a node to run it. */
  constraints: z.record(labelKey, z.string().max(255)),
  policy: z.enum(TASK_POLICIES),
}

/** A spec as a user writes it, before defaults; every field optional here (command xor argv is
 * checked when normalising). */
const rawSpecSchema = z
  .object(
    {
      command: field.command.optional(),
      argv: field.argv.optional(),
      name: field.name.optional(),
      env: field.env.optional(),
      cpus: field.cpus.optional(),
      memoryMb: field.memoryMb.optional(),
      timeoutMs: field.timeoutMs.optional(),
      retries: field.retries.optional(),
      priority: field.priority.optional(),
      /** ISO-8601 text or epoch ms; a task still pending then fails with deadline_missed. */
      deadline: z.union([z.string(), z.number()]).optional(),
      tenant: field.tenant.optional(),
      constraints: field.constraints.optional(),
      policy: field.policy.optional(),
    },
    { invalid_type_error: 'must be a task spec object', required_error: 'must be a task spec object' },
  )
  .strict()

/** A spec as stored in the log, field by field: every default filled in, every bound of the API
 * held. The checks across fields are wholeSpecProblem's; taskSpecSchema applies both. Kept apart
 * because a zod refinement costs more than all the fields together (~7 µs a spec here), and every
 * replica parses every spec of every submission: the log's command schema refines a whole batch
 * of specs at once instead (commands.ts). */
export const taskSpecFieldsSchema = z.object({
  command: field.command.optional(),
  argv: field.argv.optional(),
  name: field.name.nullable(),
  env: field.env,
  cpus: field.cpus,
  memoryMb: field.memoryMb,
  timeoutMs: field.timeoutMs.nullable(),
  retries: field.retries,
  priority: field.priority,
  /** Epoch ms. */
  deadline: z.number().int().min(-MAX_EPOCH_MS).max(MAX_EPOCH_MS).nullable(),
  tenant: field.tenant,
  constraints: field.constraints,
  policy: field.policy.nullable(),
})
export type TaskSpec = z.infer<typeof taskSpecFieldsSchema>

/** A stored spec, whole: what the log accepts. */
export const taskSpecSchema = taskSpecFieldsSchema.superRefine((spec, ctx) => {
  const problem = wholeSpecProblem(spec)
  if (problem !== null) ctx.addIssue({ code: z.ZodIssueCode.custom, path: problem.path, message: problem.message })
})

/** What no single field shows: exactly one of command and argv, how many variables, and the size
 * of the whole; null when there is nothing wrong. */
export function wholeSpecProblem(spec: TaskSpec): { path: string[]; message: string } | null {
  if ((spec.command === undefined) === (spec.argv === undefined))
    return { path: ['command'], message: 'exactly one of command and argv is required' }
  if (Object.keys(spec.env).length > TASK_LIMITS.envVars)
    return { path: ['env'], message: `at most ${TASK_LIMITS.envVars} variables` }
  if (Buffer.byteLength(JSON.stringify(spec)) > TASK_LIMITS.specBytes)
    return { path: [], message: `larger than ${TASK_LIMITS.specBytes} bytes of JSON` }
  return null
}

type RawSpec = z.input<typeof rawSpecSchema>

/** What a caller fills in to submit a task (the node fills in the defaults): exactly one of
 * `command` (run with /bin/sh -c) and `argv` (run directly). */
export type TaskSpecInput = Omit<RawSpec, 'command' | 'argv'> &
  ({ command: NonNullable<RawSpec['command']>; argv?: never } | { argv: NonNullable<RawSpec['argv']>; command?: never })

/** A submitted spec checked and normalised: parses to the TaskSpec the log stores. The problems
 * the field types cannot express (command xor argv, the deadline's text, the size) are issues of
 * this schema too, so a parse either yields a spec to store or names the field. */
export const taskSpecInputSchema = rawSpecSchema.transform((raw, ctx): TaskSpec => {
  if ((raw.command === undefined) === (raw.argv === undefined)) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['command'],
      message: 'exactly one of command and argv is required',
    })
    return z.NEVER
  }
  const deadline = parseDeadline(raw.deadline)
  if (typeof deadline === 'string') {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['deadline'], message: deadline })
    return z.NEVER
  }
  const spec: TaskSpec = {
    ...(raw.command !== undefined ? { command: raw.command } : { argv: raw.argv }),
    name: raw.name ?? null,
    env: raw.env ?? {},
    cpus: raw.cpus ?? TASK_DEFAULTS.cpus,
    memoryMb: raw.memoryMb ?? TASK_DEFAULTS.memoryMb,
    timeoutMs: raw.timeoutMs ?? null,
    retries: raw.retries ?? TASK_DEFAULTS.retries,
    priority: raw.priority ?? TASK_DEFAULTS.priority,
    deadline,
    tenant: raw.tenant ?? TASK_DEFAULTS.tenant,
    constraints: raw.constraints ?? {},
    policy: raw.policy ?? null,
  }
  const problem = wholeSpecProblem(spec)
  if (problem !== null) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: problem.path, message: problem.message })
    return z.NEVER
  }
  return spec
})

export type SpecResult = { ok: true; spec: TaskSpec } | { ok: false; message: string }

/** One spec outside the HTTP API (`meshos run` checks its flags with it). `where` prefixes the
 * field path: "" for a single spec, "[3]." for the 4th of an array. */
export function parseTaskSpec(input: unknown, where = ''): SpecResult {
  const result = taskSpecInputSchema.safeParse(input)
  return result.success
    ? { ok: true, spec: result.data }
    : { ok: false, message: describeSpecIssue(result.error.issues[0], where) }
}

/** ISO-8601 text or epoch ms; an error text otherwise. */
function parseDeadline(value: string | number | undefined): number | null | string {
  if (value === undefined) return null
  if (typeof value === 'number') {
    return Number.isInteger(value) && value > 0 && value <= MAX_EPOCH_MS
      ? value
      : 'must be epoch milliseconds or an ISO-8601 time'
  }
  // Date.parse accepts more than ISO-8601 ("March 7"); insist on the ISO shape so a typo is not
  // silently read as some other date.
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    return 'must be an ISO-8601 time (e.g. 2026-11-27T18:00:00Z) or epoch milliseconds'
  }
  const ms = Date.parse(value)
  return Number.isFinite(ms) ? ms : 'is not a valid date'
}

/** "<field>: <what is wrong>" for an issue of taskSpecInputSchema, its path relative to the spec;
 * `where` prefixes the field as in parseTaskSpec. */
export function describeSpecIssue(issue: z.ZodIssue | undefined, where: string): string {
  if (issue === undefined) return `${where}(spec): invalid`
  if (issue.code === 'unrecognized_keys') return `${where}${issue.keys[0] ?? '?'}: is not a known field`
  if (issue.code === 'invalid_type' && issue.path.length === 0)
    return `${where === '' ? 'body' : where.replace(/\.$/, '')}: ${issue.message}`
  const field =
    issue.path.length === 0
      ? '(spec)'
      : issue.path
          .map(p => (typeof p === 'number' ? `[${p}]` : p))
          .join('.')
          .replace(/\.\[/g, '[')
  if (issue.code === 'invalid_type' && issue.expected !== 'integer') {
    return `${where}${field}: must be ${issue.expected === 'number' ? 'a number' : issue.expected === 'string' ? 'a string' : issue.expected === 'array' ? 'an array' : issue.expected === 'object' ? 'an object' : issue.expected}, got ${issue.received}`
  }
  return `${where}${field}: ${issue.message.toLowerCase().startsWith('must') || issue.message.startsWith('at most') ? issue.message : issue.message.replace(/^(String|Number|Array)\s/, '')}`
}
