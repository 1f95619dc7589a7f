// The mesh picture (model/mesh-layout.ts) as SVG, or its summary past a few hundred nodes.
// Pointing at a node brings its lines forward.
import { MEMBER_STATES } from '../model/api-types.js'
import { MESH_SIZE, meshLayout, type MeshPicture, type MeshSummary } from '../model/mesh-layout.js'
import { NODE_ROLES, ROLE_LABELS } from '../model/roles.js'
import type { DashboardState } from '../state.js'
import { fill, h, svg } from './dom.js'

export function renderMesh(el: HTMLElement, s: DashboardState): void {
  if (s.nodes.length === 0) {
    fill(el, h('p', { class: 'muted' }, 'no members known yet'))
    return
  }
  const layout = meshLayout(s.nodes, s.roleOf, s.status?.nodeId ?? '')
  fill(el, layout.kind === 'picture' ? picture(layout) : summary(layout))
}

function picture(p: MeshPicture): SVGSVGElement {
  const at = new Map(p.points.map(pt => [pt.id, pt]))
  const root = svg('svg', {
    viewBox: `0 0 ${MESH_SIZE.width} ${MESH_SIZE.height}`,
    class: 'mesh-svg',
    role: 'img',
    'aria-label': `${p.points.length} nodes and ${p.lines.length} connections`,
  })
  const lines = svg(
    'g',
    { class: 'lines' },
    p.lines.map(l => {
      const a = at.get(l.a)!
      const b = at.get(l.b)!
      return svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: `line ${l.kind}`, dataset: { a: l.a, b: l.b } })
    }),
  )
  const nodes = svg(
    'g',
    { class: 'points' },
    p.points.map(pt => {
      const group = svg(
        'g',
        {
          class: `point state-${pt.state} role-${pt.role ?? 'unknown'}${pt.self ? ' self' : ''}`,
          transform: `translate(${pt.x} ${pt.y})`,
          dataset: { nodeId: pt.id, nodeName: pt.name, role: pt.role ?? '', state: pt.state },
        },
        svg(
          'title',
          null,
          `${pt.name}\n${pt.state} · ${pt.role === null ? 'role unknown' : ROLE_LABELS[pt.role]}\n${pt.id}`,
        ),
        pt.role === 'leader' ? svg('circle', { r: pt.r + 5, class: 'leader-ring' }) : null,
        svg('circle', { r: pt.r, class: 'dot' }),
        pt.role === 'leader' ? svg('text', { class: 'leader-mark', y: 4 }, '★') : null,
        p.labels === 'none' ? null : label(pt.name, pt.r + (pt.role === 'leader' ? 5 : 0), pt.angle, p.labels),
      )
      group.addEventListener('mouseenter', () => highlight(root, pt.id, true))
      group.addEventListener('mouseleave', () => highlight(root, pt.id, false))
      return group
    }),
  )
  root.append(lines, nodes)
  return root
}

/** Written outward from the centre: level beside the dot, or along the radius (kept upright on
 * the left half) when the circle is crowded. */
function label(name: string, r: number, angle: number, style: 'level' | 'radial'): SVGTextElement {
  const rad = (angle * Math.PI) / 180
  const cos = Math.cos(rad)
  const sin = Math.sin(rad)
  if (style === 'level') {
    const anchor = cos > 0.3 ? 'start' : cos < -0.3 ? 'end' : 'middle'
    const gap = r + 6
    return svg(
      'text',
      {
        class: 'label',
        x: round(cos * gap),
        y: round(sin * gap + (sin > 0.3 ? 10 : sin < -0.3 ? -2 : 4)),
        'text-anchor': anchor,
      },
      name,
    )
  }
  const left = cos < 0
  return svg(
    'text',
    {
      class: 'label',
      transform: `rotate(${left ? angle - 180 : angle})`,
      x: left ? -(r + 6) : r + 6,
      y: 4,
      'text-anchor': left ? 'end' : 'start',
    },
    name,
  )
}

const round = (v: number): number => Math.round(v * 10) / 10

function highlight(root: SVGSVGElement, id: string, on: boolean): void {
  root.classList.toggle('focus', on)
  for (const line of root.querySelectorAll<SVGLineElement>('line.line'))
    if (line.dataset.a === id || line.dataset.b === id) line.classList.toggle('hl', on)
}

function summary(m: MeshSummary): HTMLElement {
  const cell = (n: number, cls: string): HTMLElement => h('td', { class: `num ${cls}` }, n)
  return h(
    'div',
    { class: 'mesh-summary', dataset: { testid: 'mesh-summary' } },
    h('p', null, `${m.total} nodes: too many to draw, so counted.`),
    h(
      'table',
      null,
      h(
        'tr',
        null,
        MEMBER_STATES.map(state => h('th', { class: `state-text state-${state}` }, state)),
      ),
      h(
        'tr',
        null,
        MEMBER_STATES.map(state => cell(m.byState[state], `state-text state-${state}`)),
      ),
    ),
    h(
      'table',
      null,
      h('tr', null, [...NODE_ROLES.map(role => h('th', null, ROLE_LABELS[role])), h('th', null, 'unknown')]),
      h('tr', null, [...NODE_ROLES.map(role => cell(m.byRole[role], '')), cell(m.byRole.unknown, '')]),
    ),
    h('p', { class: 'muted' }, 'Live nodes (alive or suspect) by role.'),
  )
}
