// `meshos run`, `tasks`, `task`, `logs` and `cancel`: tasks through the local node's API. Each
// returns its exit status; output is written as it comes (a followed log can last for hours).
import { parseArgs } from 'node:util'
import { MeshosApiError, type MeshClient, type TaskSubmitted, type TaskView } from '../client/client.js'
import { TASK_LIMITS } from '../tasks/spec.js'
import { TASK_STATES, type TaskState } from '../tasks/task-table.js'
import { CLIENT_OPTIONS, clientFor, describeApiError, flags, intFlag, type NodeAddress } from './args.js'
import { parseRunArgs } from './run-args.js'
import { formatTaskDetail, formatTaskList } from './task-format.js'
import { exitStatusOf, followUntilEnd, waitForMany, waitForOne } from './task-wait.js'
import { ProgressReporter } from './progress.js'
import { styleFor } from './style.js'
import { RUN_USAGE, TASKS_USAGE, UsageError } from './usage.js'

type Env = Record<string, string | undefined>

/** GET /v1/tasks refuses larger pages. */
const PAGE_MAX = 1000
/** Failed tasks listed after `run --count N --wait`; the rest are a `meshos tasks --state failed` away. */
const FAILURES_SHOWN = 10

const out = (text: string): void => {
  process.stdout.write(text + '\n')
}
const err = (text: string): void => {
  process.stderr.write(text + '\n')
}

function help(section: string): number {
  process.stdout.write(`usage: ${section}`)
  return 0
}

export async function runCommand(args: string[], env: Env): Promise<number> {
  const req = parseRunArgs(args, Date.now())
  if (req === 'help') return help(RUN_USAGE)
  const client = clientFor(req.node, env, RUN_USAGE)
  if (req.count === 1) {
    const submitted = await client.submitTask(req.spec)
    // With --wait stdout is the task's own output, so the id is not mixed into it.
    if (!req.wait) {
      out(req.json ? JSON.stringify(submitted, null, 2) : submitted.id)
      return 0
    }
    stopWaitingOnInterrupt([submitted.id])
    // With --json stdout is the task as it ended; its output stays a `meshos logs` away.
    const ended = req.json
      ? (await waitForMany(client, [submitted.id], () => undefined))[0]!
      : await waitForOne(client, submitted.id)
    if (req.json) out(JSON.stringify(ended, null, 2))
    const { code, note } = exitStatusOf(ended)
    if (note !== null) err(note)
    return code
  }
  const submitted: TaskSubmitted[] = []
  try {
    for (let i = 0; i < req.count; i += TASK_LIMITS.maxBatch) {
      const batch = Array.from({ length: Math.min(TASK_LIMITS.maxBatch, req.count - i) }, () => req.spec)
      const { tasks } = await client.submitTasks(batch)
      submitted.push(...tasks)
      // Printed per batch: if a later batch is refused, the ids of those already submitted are known.
      if (!req.json) for (const t of tasks) out(t.id)
    }
  } finally {
    if (req.json && !req.wait) out(JSON.stringify({ tasks: submitted }, null, 2))
  }
  if (!req.wait) return 0
  const ids = submitted.map(t => t.id)
  stopWaitingOnInterrupt(ids)
  const progress = new ProgressReporter(
    {
      write: text => {
        process.stderr.write(text)
      },
      isTTY: process.stderr.isTTY,
      columns: process.stderr.columns,
    },
    Date.now,
    styleFor(process.stderr, env),
  )
  const ended = await waitForMany(client, ids, p => {
    progress.update(p)
  })
  progress.end()
  if (req.json) out(JSON.stringify({ tasks: ended }, null, 2))
  return reportMany(ended)
}

/** Ctrl-C stops the waiting, not the tasks: they were submitted and keep running. */
function stopWaitingOnInterrupt(ids: string[]): void {
  process.once('SIGINT', () => {
    const which = ids.length === 1 ? `task ${ids[0]} keeps` : `the ${ids.length} tasks keep`
    process.stderr.write(`\nmeshos: stopped waiting; ${which} running (meshos cancel ID stops one)\n`)
    process.exit(130)
  })
}

function reportMany(ended: TaskView[]): number {
  const count = (state: TaskState): number => ended.filter(t => t.state === state).length
  const succeeded = count('succeeded')
  err(
    `meshos: ${ended.length} tasks: ${succeeded} succeeded, ${count('failed')} failed, ${count('cancelled')} cancelled`,
  )
  const bad = ended.filter(t => t.state !== 'succeeded')
  for (const t of bad.slice(0, FAILURES_SHOWN)) err(`  ${t.id} ${t.state}${whyFailed(t)}`)
  if (bad.length > FAILURES_SHOWN) err(`  … and ${bad.length - FAILURES_SHOWN} more (meshos tasks --state failed)`)
  return succeeded === ended.length ? 0 : 1
}

function whyFailed(t: TaskView): string {
  if (t.state !== 'failed') return ''
  if (t.reason === 'exit_code') return ` (exit code ${t.exitCode ?? '?'})`
  return ` (${[t.reason, t.message].filter(x => x !== null && x !== '').join(': ')})`
}

export async function tasksCommand(args: string[], env: Env): Promise<number> {
  const { values: v } = flags(TASKS_USAGE, () =>
    parseArgs({
      args,
      options: {
        state: { type: 'string' },
        node: { type: 'string' },
        tenant: { type: 'string' },
        limit: { type: 'string' },
        after: { type: 'string' },
        json: { type: 'boolean' },
        ...CLIENT_OPTIONS,
        help: { type: 'boolean', short: 'h' },
      },
    }),
  )
  if (v.help === true) return help(TASKS_USAGE)
  if (v.state !== undefined && !TASK_STATES.includes(v.state as TaskState)) {
    throw new UsageError(`--state "${v.state}": expected one of ${TASK_STATES.join(', ')}`, TASKS_USAGE)
  }
  const limit = intFlag('--limit', v.limit, 1, PAGE_MAX, TASKS_USAGE)
  const client = clientFor({ addr: v.addr, tokenFile: v['token-file'] }, env, TASKS_USAGE)
  const list = await client.tasks({
    state: v.state as TaskState | undefined,
    node: v.node === undefined ? undefined : await nodeId(client, v.node),
    tenant: v.tenant,
    limit,
    after: v.after,
  })
  if (v.json === true) {
    out(JSON.stringify(list, null, 2))
    return 0
  }
  const filters = [
    ['--state', v.state],
    ['--node', v.node],
    ['--tenant', v.tenant],
    ['--limit', v.limit],
  ]
    .filter(([, value]) => value !== undefined)
    .flat()
    .join(' ')
  out(
    formatTaskList(
      list,
      Date.now(),
      after => `meshos tasks ${filters}${filters === '' ? '' : ' '}--after ${after}`,
      styleFor(process.stdout, env),
    ),
  )
  return 0
}

/** Tasks are filtered by node id; a name is easier to type, so it is looked up. */
async function nodeId(client: MeshClient, idOrName: string): Promise<string> {
  const nodes = await client.nodes()
  if (nodes.some(n => n.id === idOrName)) return idOrName
  const named = nodes.filter(n => n.name === idOrName)
  if (named.length > 1)
    throw new UsageError(`--node "${idOrName}": ${named.length} nodes have that name; give the id`, TASKS_USAGE)
  // An id the node no longer lists (a member that left) still filters its old tasks.
  return named[0]?.id ?? idOrName
}

/** The task ID(s) a command takes, and its other flags. */
function idArgs<O extends Record<string, { type: 'string' | 'boolean'; short?: string }>>(
  command: string,
  args: string[],
  options: O,
  many: boolean,
) {
  const parsed = flags(TASKS_USAGE, () =>
    parseArgs({
      args,
      options: { ...options, ...CLIENT_OPTIONS, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    }),
  )
  const ids = parsed.positionals
  const helpWanted = (parsed.values as { help?: boolean }).help === true
  if (!helpWanted && (ids.length === 0 || (!many && ids.length > 1))) {
    throw new UsageError(
      `${command}: expected ${many ? 'one or more task IDs' : 'one task ID'}, got ${ids.length}`,
      TASKS_USAGE,
    )
  }
  const values = parsed.values as { addr?: string; 'token-file'?: string }
  const node: NodeAddress = { addr: values.addr, tokenFile: values['token-file'] }
  return { ...parsed, ids, helpWanted, node }
}

export async function taskCommand(args: string[], env: Env): Promise<number> {
  const { ids, values, helpWanted, node } = idArgs('task', args, { json: { type: 'boolean' } }, false)
  if (helpWanted) return help(TASKS_USAGE)
  const t = await clientFor(node, env, TASKS_USAGE).task(ids[0]!)
  out(
    values.json === true ? JSON.stringify(t, null, 2) : formatTaskDetail(t, Date.now(), styleFor(process.stdout, env)),
  )
  return 0
}

export async function logsCommand(args: string[], env: Env): Promise<number> {
  const {
    ids,
    values: v,
    helpWanted,
    node,
  } = idArgs(
    'logs',
    args,
    {
      follow: { type: 'boolean', short: 'f' },
      stderr: { type: 'boolean' },
      attempt: { type: 'string' },
    },
    false,
  )
  if (helpWanted) return help(TASKS_USAGE)
  const id = ids[0]!
  const attempt = intFlag('--attempt', v.attempt as string | undefined, 1, 1_000_000, TASKS_USAGE)
  const stream = v.stderr === true ? 'stderr' : 'stdout'
  const client = clientFor(node, env, TASKS_USAGE)
  const write = (text: string): void => {
    process.stdout.write(text)
  }
  if (v.follow !== true) {
    write(await client.taskLogs(id, { stream, attempt }))
  } else if (attempt !== undefined) {
    await client.followTaskLogs(id, { stream, attempt }, write)
  } else {
    await followUntilEnd(client, id, stream, { write, note: err })
  }
  return 0
}

export async function cancelCommand(args: string[], env: Env): Promise<number> {
  const { ids, values, helpWanted, node } = idArgs('cancel', args, { json: { type: 'boolean' } }, true)
  if (helpWanted) return help(TASKS_USAGE)
  const client = clientFor(node, env, TASKS_USAGE)
  const views: TaskView[] = []
  let status = 0
  // One refused (unknown, already finished) does not stop the others.
  for (const id of ids) {
    try {
      views.push(await client.cancelTask(id))
    } catch (e) {
      if (!(e instanceof MeshosApiError)) throw e
      err(`meshos: ${describeApiError(e)}`)
      status = 1
    }
  }
  if (values.json === true) out(JSON.stringify({ tasks: views }, null, 2))
  else
    for (const t of views)
      out(t.state === 'cancelled' ? `${t.id}: cancelled` : `${t.id}: cancel requested; its node is stopping it`)
  return status
}
