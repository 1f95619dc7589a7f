// The task list, newest first: its filters (state and node asked of the node, text matched over
// what is loaded) and its rows.
import { TASK_STATES, type NodeView } from '../model/api-types.js'
import { commandOf } from '../model/task-filter.js'
import type { DashboardActions, DashboardState } from '../state.js'
import { fill, h } from './dom.js'
import { clock, duration } from './format.js'

/** Rows drawn at once; the text filter and "older" reach the rest. */
export const TASK_ROWS_SHOWN = 200

export interface TaskListElements {
  state: HTMLSelectElement
  node: HTMLSelectElement
  text: HTMLInputElement
  count: HTMLElement
  rows: HTMLElement
  older: HTMLButtonElement
}

/** Wires the filter controls once. */
export function bindTaskFilters(els: TaskListElements, act: DashboardActions): void {
  fill(
    els.state,
    h('option', { value: '' }, 'any state'),
    TASK_STATES.map(state => h('option', { value: state }, state)),
  )
  els.state.addEventListener('change', () =>
    act.setFilter({ state: els.state.value as DashboardState['filter']['state'] }),
  )
  els.node.addEventListener('change', () => act.setFilter({ node: els.node.value }))
  els.text.addEventListener('input', () => act.setFilter({ text: els.text.value }))
  els.older.addEventListener('click', () => act.loadOlder())
}

/** The node filter's choices follow the members. */
export function renderNodeChoices(select: HTMLSelectElement, nodes: readonly NodeView[], chosen: string): void {
  const known = nodes.some(n => n.id === chosen)
  fill(
    select,
    h('option', { value: '' }, 'any node'),
    [...nodes].sort((a, b) => a.name.localeCompare(b.name)).map(n => h('option', { value: n.id }, n.name)),
    chosen !== '' && !known ? h('option', { value: chosen }, chosen) : null,
  )
  select.value = chosen
}

export function renderTasks(els: TaskListElements, s: DashboardState, act: DashboardActions): void {
  els.state.value = s.filter.state
  if (els.node.value !== s.filter.node) els.node.value = s.filter.node
  const { rows, matching } = s.tasks.visible(s.filter, TASK_ROWS_SHOWN)
  const total = s.tasks.total
  fill(
    els.count,
    total === null
      ? ''
      : s.filter.text.trim() === ''
        ? `${Math.min(rows.length, matching)} of ${total}`
        : `${rows.length} matching of ${s.tasks.size} loaded (${total} on the node)`,
  )
  els.older.hidden = s.tasks.next === null
  const now = Date.now()
  fill(
    els.rows,
    rows.length === 0
      ? h('p', { class: 'muted empty' }, total === null ? 'loading…' : 'no tasks match')
      : h(
          'table',
          { class: 'tasks-table' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['task', 'state', 'node', 'command', 'submitted', 'took'].map(c => h('th', null, c)),
            ),
          ),
          h(
            'tbody',
            null,
            rows.map(t =>
              h(
                'tr',
                {
                  class: `task${t.id === s.selectedId ? ' selected' : ''}`,
                  dataset: { taskId: t.id, state: t.state },
                  tabindex: 0,
                  onclick: () => act.select(t.id),
                  onkeydown: (e: Event) => {
                    if ((e as KeyboardEvent).key === 'Enter') act.select(t.id)
                  },
                },
                h('td', { class: 'id' }, t.name ?? t.id, t.name === null ? null : h('div', { class: 'sub' }, t.id)),
                h(
                  'td',
                  null,
                  h('span', { class: `badge task-${t.state}` }, t.state),
                  t.attempt > 1 ? h('span', { class: 'sub' }, ` #${t.attempt}`) : null,
                ),
                h('td', null, t.nodeName ?? (t.node === null ? '–' : t.node)),
                h('td', { class: 'cmd', title: commandOf(t) }, commandOf(t)),
                h('td', { class: 'num' }, clock(t.submittedAt)),
                h('td', { class: 'num' }, t.startedAt === null ? '–' : duration((t.finishedAt ?? now) - t.startedAt)),
              ),
            ),
          ),
        ),
  )
}
