// The nodes: state, role, what is allocated of their capacity, what runs there, and draining.
import type { NodeView } from '../model/api-types.js'
import { ROLE_LABELS } from '../model/roles.js'
import type { DashboardActions, DashboardState } from '../state.js'
import { fill, h, type Child } from './dom.js'
import { cpus, duration, fraction, memory, shortId } from './format.js'

/** A table of thousands of rows helps nobody: the ones that need a look come first. */
export const NODE_ROWS_SHOWN = 200

const STATE_ORDER = { dead: 0, suspect: 1, left: 3, alive: 2 } as const

export function renderNodes(el: HTMLElement, count: HTMLElement, s: DashboardState, act: DashboardActions): void {
  const selfId = s.status?.nodeId ?? ''
  const rank = (n: NodeView): number => {
    const role = s.roleOf(n.id)
    return role === 'leader' ? 0 : role === 'voter' ? 1 : role === 'standby' ? 2 : 3
  }
  const sorted = [...s.nodes].sort(
    (a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || rank(a) - rank(b) || a.name.localeCompare(b.name),
  )
  const shown = sorted.slice(0, NODE_ROWS_SHOWN)
  fill(count, shown.length < sorted.length ? `${shown.length} of ${sorted.length}` : String(sorted.length))
  fill(
    el,
    s.nodeActionError === null ? null : h('p', { class: 'error', role: 'alert' }, s.nodeActionError),
    h(
      'table',
      { class: 'nodes-table' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['name', 'state', 'role', 'cpus', 'memory', 'tasks', 'load', 'seen', 'drain'].map(c => h('th', null, c)),
        ),
      ),
      h(
        'tbody',
        null,
        shown.map(n => row(n, n.id === selfId, s, act)),
      ),
    ),
    shown.length < sorted.length
      ? h(
          'p',
          { class: 'muted' },
          `${sorted.length - shown.length} more nodes not listed: problems and Raft members come first`,
        )
      : null,
  )
}

function row(n: NodeView, self: boolean, s: DashboardState, act: DashboardActions): HTMLElement {
  const role = s.roleOf(n.id)
  return h(
    'tr',
    { class: `node state-${n.state}`, dataset: { nodeId: n.id, nodeName: n.name, state: n.state, role: role ?? '' } },
    h(
      'td',
      { class: 'name' },
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          title: `${n.id}\nshow its tasks`,
          onclick: () => act.setFilter({ node: n.id }),
        },
        n.name,
      ),
      self ? h('span', { class: 'tag' }, 'this node') : null,
      h('div', { class: 'sub' }, shortId(n.id), ' · ', n.version),
    ),
    h('td', null, h('span', { class: `badge state-${n.state}`, dataset: { testid: 'node-state' } }, n.state)),
    h('td', null, role === null ? '?' : h('span', { class: `badge role-${role}` }, ROLE_LABELS[role])),
    h(
      'td',
      { class: 'bar-cell' },
      bar(n.allocated.cpus, n.capacity.cpus, `${cpus(n.allocated.cpus)} / ${cpus(n.capacity.cpus)}`),
    ),
    h(
      'td',
      { class: 'bar-cell' },
      bar(
        n.allocated.memoryMb,
        n.capacity.memoryMb,
        `${memory(n.allocated.memoryMb)} / ${memory(n.capacity.memoryMb)}`,
      ),
    ),
    h('td', { class: 'num' }, n.running),
    h('td', { class: 'num' }, n.load === null ? '–' : n.load.toFixed(2)),
    h('td', { class: 'num' }, self ? '–' : duration(n.lastSeenMs)),
    h('td', { class: 'drain' }, drainCell(n, s, act)),
  )
}

function bar(used: number, total: number, label: string): HTMLElement {
  const f = fraction(used, total)
  const fillEl = h('div', { class: `fill${f >= 0.9 ? ' high' : ''}` })
  fillEl.style.width = `${(f * 100).toFixed(1)}%`
  return h('div', { class: 'bar', title: `${(f * 100).toFixed(0)}% allocated` }, fillEl, h('span', null, label))
}

function drainCell(n: NodeView, s: DashboardState, act: DashboardActions): Child {
  const busy = s.nodeActionBusy === n.id
  const live = n.state === 'alive' || n.state === 'suspect'
  if (n.drain != null)
    return [
      h('span', { class: `badge drain-${n.drain.state}` }, n.drain.state),
      n.drain.deadlineAtMs === null
        ? null
        : h('div', { class: 'sub' }, `deadline in ${duration(Math.max(0, n.drain.deadlineAtMs - Date.now()))}`),
      h('button', { type: 'button', disabled: busy, onclick: () => act.undrain(n.id) }, 'undrain'),
    ]
  if (!live) return null
  const form = s.drainForm
  if (form?.nodeId !== n.id)
    return h('button', { type: 'button', disabled: busy, onclick: () => act.openDrain(n.id) }, 'drain')
  return h(
    'form',
    {
      class: 'drain-form',
      onsubmit: (e: Event) => {
        e.preventDefault()
        const text = form.deadlineSeconds.trim()
        act.drain(n.id, text === '' ? undefined : Number(text))
      },
    },
    h('input', {
      type: 'number',
      min: 1,
      step: 1,
      placeholder: 'deadline s',
      title: 'stop and re-queue tasks still running after this many seconds (empty: wait for them)',
      value: form.deadlineSeconds,
      oninput: (e: Event) => act.setDrainDeadline((e.target as HTMLInputElement).value),
    }),
    h('button', { type: 'submit', disabled: busy }, 'drain'),
    h('button', { type: 'button', class: 'link', onclick: () => act.openDrain(null) }, '×'),
  )
}
