// One task: its state and why, where it was placed and why there (or why it waits), its
// attempts, and controls to cancel it and pick which output to follow.
import { isTerminal, type TaskView } from '../model/api-types.js'
import { commandOf } from '../model/task-filter.js'
import type { DashboardActions, DashboardState } from '../state.js'
import { fill, h, type Child } from './dom.js'
import { clock, cpus, duration, memory, shortId } from './format.js'

export function renderTaskDetail(el: HTMLElement, s: DashboardState, act: DashboardActions): void {
  const t = s.selected
  if (s.selectedId === null) {
    fill(el, h('p', { class: 'muted' }, 'Select a task to see its placement and follow its output.'))
    return
  }
  if (t === null) {
    fill(el, h('p', { class: s.selectedError === null ? 'muted' : 'error' }, s.selectedError ?? 'loading…'))
    return
  }
  fill(
    el,
    h(
      'div',
      { class: 'detail-head' },
      h('span', { class: `badge task-${t.state}`, dataset: { testid: 'detail-state' } }, t.state),
      h('b', { class: 'detail-id' }, t.name ?? t.id),
      isTerminal(t.state)
        ? null
        : h(
            'button',
            { type: 'button', class: 'danger', disabled: t.cancelRequested, onclick: () => act.cancel(t.id) },
            t.cancelRequested ? 'cancelling…' : 'cancel',
          ),
      h('button', { type: 'button', class: 'link', onclick: () => act.select(null), title: 'close' }, '×'),
    ),
    s.selectedError === null ? null : h('p', { class: 'error', role: 'alert' }, s.selectedError),
    h('dl', { class: 'facts' }, facts(t)),
    t.attempts.length === 0 ? null : attempts(t, id => s.nodes.find(n => n.id === id)?.name ?? shortId(id)),
    h(
      'div',
      { class: 'log-tabs' },
      'output ',
      (['stdout', 'stderr'] as const).map(stream =>
        h(
          'button',
          {
            type: 'button',
            class: stream === s.logStream ? 'tab active' : 'tab',
            onclick: () => act.setLogStream(stream),
          },
          stream,
        ),
      ),
    ),
  )
}

function facts(t: TaskView): Child[] {
  const fact = (term: string, ...value: Child[]): Child[] => [h('dt', null, term), h('dd', null, ...value)]
  const outcome = t.exitCode !== null ? `exit code ${t.exitCode}` : t.signal !== null ? `killed by ${t.signal}` : null
  return [
    fact('id', t.id),
    fact('command', h('code', null, commandOf(t))),
    fact('node', t.nodeName ?? t.node ?? '–', t.attempt > 1 ? ` (attempt ${t.attempt})` : ''),
    fact(
      t.state === 'pending' ? 'waiting' : 'placement',
      h('span', { dataset: { testid: 'placement' } }, t.placement ?? '–'),
    ),
    fact('asks', `${cpus(t.spec.cpus)} cpus · ${memory(t.spec.memoryMb)} · tenant ${t.spec.tenant}`),
    outcome === null && t.reason === null && t.message === null
      ? null
      : fact('outcome', distinct([outcome, t.reason, t.message]).join(' · ')),
    fact(
      'times',
      `submitted ${clock(t.submittedAt)}`,
      t.startedAt === null ? null : ` · started ${clock(t.startedAt)}`,
      t.startedAt === null || t.finishedAt === null ? null : ` · took ${duration(t.finishedAt - t.startedAt)}`,
    ),
  ]
}

function attempts(t: TaskView, nameOf: (nodeId: string) => string): HTMLElement {
  return h(
    'table',
    { class: 'attempts' },
    h(
      'tr',
      null,
      ['attempt', 'node', 'outcome', 'took'].map(c => h('th', null, c)),
    ),
    t.attempts.map(a =>
      h(
        'tr',
        null,
        h('td', { class: 'num' }, a.attempt),
        h('td', null, nameOf(a.node)),
        h('td', null, a.outcome),
        h('td', { class: 'num' }, a.startedAt === null ? '–' : duration(a.finishedAt - a.startedAt)),
      ),
    ),
  )
}

/** The non-empty texts, each once (a reason often repeats the exit code). */
function distinct(texts: Array<string | null>): string[] {
  return [...new Set(texts.filter((t): t is string => t !== null && t !== ''))]
}
