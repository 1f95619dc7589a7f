// `meshos run`'s arguments as the spec to submit. Pure (the clock is a parameter), so every flag is
// unit-tested without a node. The spec is checked with the parser the API uses, so a bad value is
// a usage mistake here (exit 2, named by its flag) rather than a round trip and an API error.
import { parseArgs } from 'node:util'
import { parseTaskSpec, type TaskSpecInput } from '../tasks/spec.js'
import { MAX_FINISHED_TASKS } from '../tasks/task-table.js'
import { CLIENT_OPTIONS, flags, intFlag, type NodeAddress } from './args.js'
import { parseDuration } from './durations.js'
import { RUN_USAGE, UsageError } from './usage.js'

const RUN_OPTIONS = {
  cpus: { type: 'string' },
  memory: { type: 'string' },
  timeout: { type: 'string' },
  retries: { type: 'string' },
  priority: { type: 'string' },
  deadline: { type: 'string' },
  tenant: { type: 'string' },
  env: { type: 'string', multiple: true },
  label: { type: 'string', multiple: true },
  policy: { type: 'string' },
  name: { type: 'string' },
  count: { type: 'string' },
  wait: { type: 'boolean' },
  json: { type: 'boolean' },
  shell: { type: 'boolean' },
  ...CLIENT_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const

/**
 * More copies than the cluster remembers finished tasks would make `--wait` lose track of the
 * first ones before the last have finished.
 */
const MAX_COUNT = MAX_FINISHED_TASKS

export interface RunRequest {
  spec: TaskSpecInput
  count: number
  wait: boolean
  /** Print the submission's answer (with --wait: the tasks as they ended) as JSON. */
  json: boolean
  /** As given; the command resolves the defaults. */
  node: NodeAddress
}

/** Flag → spec field, to name a field the spec parser refused by the flag that set it. */
const FLAG_OF: Record<string, string> = {
  command: 'COMMAND',
  argv: 'COMMAND',
  memoryMb: '--memory',
  timeoutMs: '--timeout',
  constraints: '--label',
}

/** 'help' when help was asked for. */
export function parseRunArgs(args: string[], nowMs: number): RunRequest | 'help' {
  const { options, command } = splitAtCommand(args)
  const { values: v } = flags(RUN_USAGE, () => parseArgs({ args: options, options: RUN_OPTIONS, strict: true }))
  if (v.help === true) return 'help'
  if (command.length === 0)
    throw new UsageError('run: no COMMAND given (meshos run [options] -- COMMAND [ARG...])', RUN_USAGE)

  const input: TaskSpecInput = v.shell === true ? { command: command.join(' ') } : { argv: command }
  if (v.name !== undefined) input.name = v.name
  if (v.env !== undefined) input.env = pairs('--env', v.env)
  if (v.cpus !== undefined) input.cpus = decimal('--cpus', v.cpus)
  if (v.memory !== undefined) input.memoryMb = whole('--memory', v.memory)
  if (v.timeout !== undefined) input.timeoutMs = duration('--timeout', v.timeout)
  if (v.retries !== undefined) input.retries = whole('--retries', v.retries)
  if (v.priority !== undefined) input.priority = whole('--priority', v.priority)
  if (v.deadline !== undefined) input.deadline = deadline(v.deadline, nowMs)
  if (v.tenant !== undefined) input.tenant = v.tenant
  if (v.label !== undefined) input.constraints = pairs('--label', v.label)
  // Checked just below, with the rest.
  if (v.policy !== undefined) input.policy = v.policy as TaskSpecInput['policy']

  const checked = parseTaskSpec(input)
  if (!checked.ok) throw new UsageError(byFlag(checked.message), RUN_USAGE)
  return {
    spec: input,
    count: intFlag('--count', v.count, 1, MAX_COUNT, RUN_USAGE) ?? 1,
    wait: v.wait === true,
    json: v.json === true,
    node: { addr: v.addr, tokenFile: v['token-file'] },
  }
}

/**
 * Options stop at the first word that is not one (or at `--`), so `meshos run ls -la` passes -la
 * to ls instead of refusing it as an unknown option.
 */
function splitAtCommand(args: string[]): { options: string[]; command: string[] } {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--') return { options: args.slice(0, i), command: args.slice(i + 1) }
    if (!arg.startsWith('-') || arg === '-') return { options: args.slice(0, i), command: args.slice(i) }
    const name = arg.startsWith('--') ? arg.slice(2) : ''
    const option = (RUN_OPTIONS as Record<string, { type: string }>)[name]
    // "--cpus 2" takes the next word; "--cpus=2", booleans and unknown options do not.
    if (option?.type === 'string') i++
  }
  return { options: args, command: [] }
}

function pairs(flag: string, items: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of items) {
    const eq = item.indexOf('=')
    if (eq <= 0) throw new UsageError(`${flag} "${item}": expected KEY=VALUE`, RUN_USAGE)
    out[item.slice(0, eq)] = item.slice(eq + 1)
  }
  return out
}

function decimal(flag: string, raw: string): number {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(raw))
    throw new UsageError(`${flag} "${raw}": expected a number, e.g. 0.5 or 2`, RUN_USAGE)
  return Number(raw)
}

function whole(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`${flag} "${raw}": expected a whole number`, RUN_USAGE)
  return Number(raw)
}

function duration(flag: string, raw: string): number {
  const ms = parseDuration(raw)
  if (ms === null)
    throw new UsageError(`${flag} "${raw}": expected milliseconds or a duration like 30s, 5m, 1h30m`, RUN_USAGE)
  return ms
}

/** "+DURATION" is from now; digits are epoch ms; anything else goes to the spec parser as ISO-8601. */
function deadline(raw: string, nowMs: number): string | number {
  if (raw.startsWith('+')) return nowMs + duration('--deadline', raw.slice(1))
  return /^\d+$/.test(raw) ? Number(raw) : raw
}

/** "memoryMb: must be ..." → "--memory: must be ..."; "env.1X: ..." → "--env 1X: ...". */
function byFlag(message: string): string {
  const m = /^(\w+)([.[]\S*)?: (.*)$/s.exec(message)
  if (m === null) return `run: ${message}`
  const [, field = '', rest, what] = m
  const flag = FLAG_OF[field] ?? `--${field}`
  return `${flag}${rest === undefined ? '' : ` ${rest.replace(/^\./, '')}`}: ${what}`
}
