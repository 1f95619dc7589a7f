// Operating the cluster by hand: `meshos drain NODE [--deadline D]`, `meshos undrain NODE`,
// `meshos leader transfer [NODE]`, `meshos voters remove NODE`. Each asks the local node, which
// forwards to the leader; a mistake in the command line is a usage error (exit 2) before anything
// is sent.
import { parseArgs } from 'node:util'
import type { ClusterView, LeaderTransferView, MeshClient, NodeView } from '../client/client.js'
import { CLIENT_OPTIONS, clientFor, flags } from './args.js'
import { formatDuration, parseDuration } from './durations.js'
import { OPERATE_USAGE, UsageError } from './usage.js'
import { DRAIN_DEADLINE_MAX_SECONDS } from '../http/schemas.js'

type Env = Record<string, string | undefined>

interface Parsed {
  client: MeshClient
  json: boolean
  positionals: string[]
  deadline: string | undefined
  help: boolean
}

function parse(args: string[], env: Env, withDeadline: boolean): Parsed {
  const { values, positionals } = flags(OPERATE_USAGE, () =>
    parseArgs({
      args,
      options: {
        ...CLIENT_OPTIONS,
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        ...(withDeadline ? { deadline: { type: 'string' } } : {}),
      },
      allowPositionals: true,
      strict: true,
    }),
  )
  const deadline = (values as { deadline?: string }).deadline
  return {
    client: clientFor({ addr: values.addr, tokenFile: values['token-file'] }, env, OPERATE_USAGE),
    json: values.json === true,
    positionals,
    deadline,
    help: values.help === true,
  }
}

/** Exactly the positional arguments `names` (named in the message when one is missing). */
function exactly(command: string, positionals: string[], names: string[]): string[] {
  if (positionals.length < names.length) throw new UsageError(`${command}: missing ${names.join(' ')}`, OPERATE_USAGE)
  if (positionals.length > names.length)
    throw new UsageError(`${command}: unexpected argument "${positionals[names.length]}"`, OPERATE_USAGE)
  return positionals
}

/** Seconds from a --deadline: seconds (a bare number, as the API takes them), or 30s, 5m, 1h30m;
 * 0 stops what runs at once. */
export function deadlineSeconds(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const seconds = /^\d+$/.test(raw) ? Number(raw) : (parseDuration(raw) ?? NaN) / 1000
  if (!(seconds <= DRAIN_DEADLINE_MAX_SECONDS))
    throw new UsageError(
      `--deadline "${raw}": expected seconds or a duration like 30s, 5m or 1h (at most 30 days)`,
      OPERATE_USAGE,
    )
  return seconds
}

function who(n: { id: string; name: string | null }): string {
  return n.name === null ? n.id : `${n.name} (${n.id})`
}

function print(text: string): number {
  process.stdout.write(text + '\n')
  return 0
}

function usage(): number {
  process.stdout.write(`usage: ${OPERATE_USAGE}`)
  return 0
}

function helped(p: Parsed): boolean {
  if (p.help) usage()
  return p.help
}

export async function drainCommand(args: string[], env: Env): Promise<number> {
  const p = parse(args, env, true)
  if (helped(p)) return 0
  const [node] = exactly('drain', p.positionals, ['NODE'])
  const seconds = deadlineSeconds(p.deadline)
  const view = await p.client.drainNode(node!, seconds === undefined ? {} : { deadlineSeconds: seconds })
  if (p.json) return print(JSON.stringify(view, null, 2))
  return print(describeDrained(view, Date.now()))
}

export function describeDrained(view: NodeView, nowMs: number): string {
  const drain = view.drain
  if (drain === null) return `${who(view)} is not draining`
  if (drain.state === 'drained') return `${who(view)} is drained: it holds no task and takes no new one`
  const tasks = `${view.running} task${view.running === 1 ? '' : 's'} still there`
  const end =
    drain.deadlineAtMs === null
      ? 'they may finish'
      : `stopped and re-queued elsewhere at ${new Date(drain.deadlineAtMs).toISOString()} (in ${formatDuration(drain.deadlineAtMs - nowMs)})`
  return `draining ${who(view)}: no new tasks; ${tasks}, ${end}`
}

export async function undrainCommand(args: string[], env: Env): Promise<number> {
  const p = parse(args, env, false)
  if (helped(p)) return 0
  const [node] = exactly('undrain', p.positionals, ['NODE'])
  const view = await p.client.undrainNode(node!)
  if (p.json) return print(JSON.stringify(view, null, 2))
  return print(`${who(view)} takes tasks again`)
}

export async function leaderCommand(args: string[], env: Env): Promise<number> {
  const [sub, ...rest] = args
  if (sub === '--help' || sub === '-h') return usage()
  if (sub !== 'transfer')
    throw new UsageError(
      sub === undefined ? 'leader: missing the subcommand (transfer)' : `leader: unknown subcommand "${sub}"`,
      OPERATE_USAGE,
    )
  const p = parse(rest, env, false)
  if (helped(p)) return 0
  if (p.positionals.length > 1)
    throw new UsageError(`leader transfer: unexpected argument "${p.positionals[1]}"`, OPERATE_USAGE)
  const moved = await p.client.transferLeader(p.positionals[0])
  if (p.json) return print(JSON.stringify(moved, null, 2))
  return print(describeTransfer(moved))
}

export function describeTransfer(t: LeaderTransferView): string {
  const now = who({ id: t.leader, name: t.name })
  if (t.leader === t.previous.leader) return `${now} already leads (term ${t.term})`
  const before = t.previous.leader === null ? 'no leader' : who({ id: t.previous.leader, name: t.previous.name })
  return `leadership moved from ${before} to ${now} (term ${t.previous.term} → ${t.term})`
}

export async function votersCommand(args: string[], env: Env): Promise<number> {
  const [sub, ...rest] = args
  if (sub === '--help' || sub === '-h') return usage()
  if (sub !== 'remove')
    throw new UsageError(
      sub === undefined ? 'voters: missing the subcommand (remove)' : `voters: unknown subcommand "${sub}"`,
      OPERATE_USAGE,
    )
  const p = parse(rest, env, false)
  if (helped(p)) return 0
  const [node] = exactly('voters remove', p.positionals, ['NODE'])
  const cluster = await p.client.removeVoter(node!)
  if (p.json) return print(JSON.stringify(cluster, null, 2))
  return print(describeRemoval(node!, cluster))
}

export function describeRemoval(asked: string, c: ClusterView): string {
  const voters = c.voters.map(v => (v.id === c.leader ? `${v.name ?? v.id} (leader)` : (v.name ?? v.id)))
  return `removed ${asked} from the voters; ${c.voters.length} voters now: ${voters.join(', ')}`
}
