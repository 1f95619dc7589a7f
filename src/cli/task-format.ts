// Tasks for people: the `meshos tasks` table and the `meshos task` detail. Times are relative
// (age, duration) in the table, where they are compared at a glance, and absolute in the detail.
import type { TaskList, TaskView } from '../client/client.js'
import { formatDuration } from './durations.js'
import { PLAIN, paintState, type Style } from './style.js'
import { formatTable } from './table.js'

const COMMAND_COLUMN_CHARS = 40

const shortId = (id: string): string => (id.length > 16 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id)

/** A shell-safe rendering, so what is shown can be pasted back into a shell. */
function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}

export function commandOf(t: TaskView): string {
  return t.spec.command ?? (t.spec.argv ?? []).map(quote).join(' ')
}

function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ')
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

/** The state, with why it failed when the exit column does not say so. */
function stateOf(t: TaskView, style: Style): string {
  const state = paintState(style, t.state)
  if (t.cancelRequested && (t.state === 'assigned' || t.state === 'running')) return `${state} (cancelling)`
  if (t.state === 'failed' && t.reason !== null && t.reason !== 'exit_code') return `${state} (${t.reason})`
  return state
}

function nodeOf(t: TaskView): string {
  return t.nodeName ?? (t.node === null ? '-' : shortId(t.node))
}

function exitOf(t: TaskView): string {
  return t.exitCode !== null ? String(t.exitCode) : (t.signal ?? '-')
}

/** Run time so far (running) or in all (finished); '-' before it started. */
function ranFor(t: TaskView, nowMs: number): string {
  if (t.startedAt === null) return '-'
  return formatDuration((t.finishedAt ?? nowMs) - t.startedAt)
}

export function formatTaskList(
  list: TaskList,
  nowMs: number,
  nextPage: (after: string) => string,
  style: Style = PLAIN,
): string {
  const table = formatTable(
    ['ID', 'NAME/COMMAND', 'STATE', 'ATTEMPT', 'NODE', 'EXIT', 'AGE', 'DURATION'],
    list.tasks.map(t => [
      t.id,
      truncate(t.name ?? commandOf(t), COMMAND_COLUMN_CHARS),
      stateOf(t, style),
      String(t.attempt),
      nodeOf(t),
      exitOf(t),
      formatDuration(nowMs - t.submittedAt),
      ranFor(t, nowMs),
    ]),
    { align: ['left', 'left', 'left', 'right', 'left', 'right', 'right', 'right'], style },
  )
  const summary =
    `${list.tasks.length} of ${list.total} task${list.total === 1 ? '' : 's'}` +
    (list.next === null ? '' : `; next page: ${nextPage(list.next)}`)
  return list.tasks.length === 0 ? summary : `${table}\n${summary}`
}

function when(ms: number | null, nowMs: number): string {
  if (ms === null) return '-'
  return `${new Date(ms).toISOString()} (${formatDuration(nowMs - ms)} ago)`
}

export function formatTaskDetail(t: TaskView, nowMs: number, style: Style = PLAIN): string {
  const s = t.spec
  const exit = t.exitCode !== null ? `code ${t.exitCode}` : t.signal !== null ? `signal ${t.signal}` : '-'
  const lines: Array<[string, string]> = [
    ['id', t.id],
    ['name', t.name ?? '-'],
    ['command', `${commandOf(t)}   (${s.command !== undefined ? 'with /bin/sh -c' : 'run directly'})`],
    [
      'state',
      t.reason === null || t.state === 'cancelled' ? stateOf(t, style) : `${paintState(style, t.state)} (${t.reason})`,
    ],
    ['attempt', `${t.attempt} (retries allowed: ${s.retries})`],
    ['node', t.node === null ? '-' : `${t.nodeName ?? '?'} (${t.node})`],
    ['exit', exit],
    ['message', t.message ?? '-'],
    ['placement', t.placement ?? '-'],
    ['submitted', when(t.submittedAt, nowMs)],
    ['started', when(t.startedAt, nowMs)],
    ['finished', t.finishedAt === null ? '-' : `${when(t.finishedAt, nowMs)}, ran ${ranFor(t, nowMs)}`],
    [
      'resources',
      `${s.cpus} cpus, ${s.memoryMb} MB, timeout ${s.timeoutMs === null ? 'none' : formatDuration(s.timeoutMs)}`,
    ],
    ['priority', String(s.priority)],
    ['tenant', s.tenant],
    ['deadline', s.deadline === null ? '-' : new Date(s.deadline).toISOString()],
    [
      'constraints',
      Object.entries(s.constraints)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || '-',
    ],
    ['policy', s.policy ?? "(the cluster's)"],
    // Names only: values are often credentials; --json shows them.
    ['env', Object.keys(s.env).join(', ') || '-'],
  ]
  const width = Math.max(...lines.map(([k]) => k.length)) + 2
  const out = lines.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`)
  const rows = t.attempts.map(a => [
    String(a.attempt),
    a.node === t.node && t.nodeName !== null ? t.nodeName : shortId(a.node),
    paintState(style, a.outcome),
    a.startedAt === null ? '-' : new Date(a.startedAt).toISOString(),
    a.startedAt === null ? '-' : formatDuration(a.finishedAt - a.startedAt),
  ])
  // The current attempt is on record only once it has ended.
  if (
    !t.attempts.some(a => a.attempt === t.attempt) &&
    t.node !== null &&
    (t.state === 'assigned' || t.state === 'running')
  ) {
    rows.push([
      String(t.attempt),
      nodeOf(t),
      paintState(style, t.state),
      t.startedAt === null ? '-' : new Date(t.startedAt).toISOString(),
      ranFor(t, nowMs),
    ])
  }
  if (rows.length > 0) {
    out.push('attempts:')
    out.push(
      ...formatTable(['ATTEMPT', 'NODE', 'OUTCOME', 'STARTED', 'DURATION'], rows, {
        align: ['right', 'left', 'left', 'left', 'right'],
        style,
      })
        .split('\n')
        .map(l => `  ${l}`),
    )
  }
  return out.join('\n')
}
