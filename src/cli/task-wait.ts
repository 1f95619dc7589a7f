// Waiting for tasks to end, for `meshos run --wait` and `meshos logs -f`: one task's output
// streamed as it is written, across its retries; many tasks counted by polling their state.
import { MeshosApiError, type MeshClient, type TaskView } from '../client/client.js'
import { isTerminal } from '../tasks/task-table.js'
import type { LogStream } from '../executor/types.js'
import type { Progress } from './progress.js'

/** Reads are local: a node that is not the leader may apply a submission a moment after it was answered. */
const JUST_SUBMITTED_GRACE_MS = 10_000
const POLL_MS = 250
/** Requests in flight while polling many tasks: enough to be quick, few enough not to swamp the node. */
const POLL_CONCURRENCY = 50
/** The node could not read the output (its worker is unreachable): the task itself may still end. */
const OUTPUT_GONE = new Set(['logs_unavailable', 'logs_interrupted'])

const sleep = async (ms: number): Promise<void> => {
  await new Promise(resolve => setTimeout(resolve, ms))
}

const notFound = (err: unknown): boolean => err instanceof MeshosApiError && err.status === 404

/** Retries `fn` for up to `graceMs` while the node does not know the task yet. */
async function onceKnown<T>(graceMs: number, fn: () => Promise<T>): Promise<T> {
  const until = Date.now() + graceMs
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (!notFound(err) || Date.now() > until) throw err
      await sleep(100)
    }
  }
}

export interface FollowHooks {
  write: (text: string) => void
  /** Something the user should know that is not the task's output. */
  note: (text: string) => void
  /** For a task just submitted: how long an unknown id is taken for a lagging node, not a typo. */
  unknownGraceMs?: number
}

/**
 * Prints one stream of a task until the task has ended. A retry is a new attempt with output of
 * its own, so the attempts are followed in turn from `fromAttempt` (default: the last that ran):
 * one that came and went while an earlier one was being read is printed too.
 */
export async function followUntilEnd(
  client: MeshClient,
  id: string,
  stream: LogStream,
  hooks: FollowHooks,
  fromAttempt?: number,
): Promise<void> {
  const first = await onceKnown(hooks.unknownGraceMs ?? 0, async () => await client.task(id))
  let attempt = fromAttempt ?? lastThatRan(first)
  for (;;) {
    try {
      await client.followTaskLogs(id, { stream, attempt }, hooks.write)
    } catch (err) {
      if (!(err instanceof MeshosApiError)) throw err
      if (OUTPUT_GONE.has(err.code)) {
        hooks.note(`meshos: ${err.code}: ${err.message}; waiting for the task to end`)
        await untilAttemptEnds(client, id, attempt)
      } else if (!notFound(err)) {
        throw err
      } // else: an attempt older than the node keeps on record (it keeps the last ten); go on
    }
    const t = await client.task(id)
    if (attempt < t.attempt) attempt++
    else if (isTerminal(t.state)) return
  }
}

/** A task cancelled (or expired) while pending after a retry: its last attempt never ran, the one before did. */
function lastThatRan(t: TaskView): number {
  const last = t.attempts[t.attempts.length - 1]
  return isTerminal(t.state) && t.startedAt === null && last !== undefined ? last.attempt : t.attempt
}

async function untilAttemptEnds(client: MeshClient, id: string, attempt: number): Promise<void> {
  for (;;) {
    const t = await client.task(id)
    if (isTerminal(t.state) || t.attempt !== attempt) return
    await sleep(500)
  }
}

/** How `run --wait` exits for a task that ended, and what it says on stderr first. */
export function exitStatusOf(t: TaskView): { code: number; note: string | null } {
  if (t.state === 'succeeded') return { code: 0, note: null }
  // The task's own exit code, as if it had run here; its stderr has said why.
  if (t.state === 'failed' && t.reason === 'exit_code' && t.exitCode !== null) return { code: t.exitCode, note: null }
  // 130 is what a shell reports for a job stopped with Ctrl-C, the nearest thing to a cancel.
  if (t.state === 'cancelled') return { code: 130, note: `meshos: task ${t.id} was cancelled` }
  const why = [t.reason, t.message].filter(x => x !== null && x !== '').join(': ')
  return {
    code: 1,
    note: `meshos: task ${t.id} ${isTerminal(t.state) ? t.state : `is still ${t.state}`}${why === '' ? '' : `: ${why}`}`,
  }
}

/** Follows stdout and stderr of one task to this process's, then reports how it ended. */
export async function waitForOne(client: MeshClient, id: string): Promise<TaskView> {
  const note = (text: string): void => {
    process.stderr.write(text + '\n')
  }
  const unknownGraceMs = JUST_SUBMITTED_GRACE_MS
  await Promise.all([
    followUntilEnd(
      client,
      id,
      'stdout',
      {
        write: text => {
          process.stdout.write(text)
        },
        note,
        unknownGraceMs,
      },
      1,
    ),
    followUntilEnd(
      client,
      id,
      'stderr',
      {
        write: text => {
          process.stderr.write(text)
        },
        note,
        unknownGraceMs,
      },
      1,
    ),
  ])
  return await client.task(id)
}

/** Polls each unfinished task (its own GET: no list query selects by id) until all have ended. */
export async function waitForMany(
  client: MeshClient,
  ids: string[],
  onProgress: (p: Progress) => void,
): Promise<TaskView[]> {
  const open = new Set(ids)
  const ended = new Map<string, TaskView>()
  let failed = 0
  while (open.size > 0) {
    const roundStart = Date.now()
    const queue = [...open]
    await Promise.all(
      Array.from({ length: Math.min(POLL_CONCURRENCY, queue.length) }, async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          let t: TaskView
          try {
            t = await client.task(id)
          } catch (err) {
            if (notFound(err)) continue // not applied on this node yet
            throw err
          }
          if (!isTerminal(t.state)) continue
          open.delete(id)
          ended.set(id, t)
          if (t.state !== 'succeeded') failed++
        }
      }),
    )
    onProgress({ done: ended.size, total: ids.length, failed })
    if (open.size > 0) await sleep(Math.max(0, POLL_MS - (Date.now() - roundStart)))
  }
  return ids.map(id => ended.get(id)!)
}
