// The top bar: which node serves the page and its role, the leader and term, member counts,
// and whether the page is live.
import { MEMBER_STATES } from '../model/api-types.js'
import { ROLE_LABELS } from '../model/roles.js'
import type { DashboardState } from '../state.js'
import { fill, h } from './dom.js'

export function renderHeader(summary: HTMLElement, live: HTMLElement, banner: HTMLElement, s: DashboardState): void {
  const status = s.status
  const leaderId = s.cluster?.leader ?? status?.leader ?? null
  const leaderName = leaderId === null ? null : (s.nodes.find(n => n.id === leaderId)?.name ?? leaderId)
  const term = s.cluster?.term ?? status?.term ?? null
  const counts = MEMBER_STATES.map(state => [state, s.nodes.filter(n => n.state === state).length] as const)
  const running = s.nodes.reduce((sum, n) => sum + n.running, 0)
  // Its part in the cluster as the configuration says (a follower is a voter), else its own word.
  const composed = status === null ? null : s.roleOf(status.nodeId)
  const ownRole = composed === null ? (status?.role ?? 'starting') : ROLE_LABELS[composed]
  fill(
    summary,
    status === null
      ? 'loading…'
      : [
          h(
            'span',
            { class: 'item' },
            'node ',
            h('b', { dataset: { testid: 'self-name' } }, status.name),
            ' ',
            h('span', { class: `role role-${composed ?? status.role ?? 'none'}` }, ownRole),
          ),
          h(
            'span',
            { class: 'item' },
            'leader ',
            h('b', { dataset: { testid: 'leader-name' } }, leaderName ?? 'none'),
            term === null ? null : ` · term ${term}`,
          ),
          h(
            'span',
            { class: 'item', dataset: { testid: 'member-counts' } },
            `${s.nodes.length} nodes: `,
            counts
              .filter(([state, n]) => n > 0 || state === 'alive')
              .map(([state, n], i) => [
                i > 0 ? ' · ' : '',
                h('span', { class: `state-text state-${state}` }, `${n} ${state}`),
              ]),
          ),
          h('span', { class: 'item' }, `${running} tasks placed`),
        ],
  )
  live.dataset.state = s.live.state
  live.title = s.live.detail
  fill(
    live,
    s.live.state === 'live'
      ? s.taskUpdates === 'polling'
        ? 'live · tasks polled'
        : 'live'
      : s.live.state === 'connecting'
        ? 'connecting…'
        : 'disconnected',
  )
  banner.hidden = s.loadError === null
  fill(banner, s.loadError ?? '')
}
