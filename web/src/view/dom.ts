// Building DOM nodes without markup: every text the node sends (names, commands, output) becomes
// a text node, never HTML, so nothing a task or a peer wrote can run in the page.

export type Child = Node | string | number | null | undefined | false | Child[]

type Listener = (event: Event) => void
export type Props = Record<string, string | number | boolean | Listener | Record<string, string> | null | undefined>

function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue
    if (Array.isArray(c)) append(parent, c)
    else parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c)
  }
}

function setProps(el: Element, props: Props): void {
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue
    if (typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value)
    else if (key === 'dataset') Object.assign((el as HTMLElement).dataset, value)
    else if (key === 'class') el.setAttribute('class', String(value))
    else if (key === 'value' && el instanceof HTMLInputElement) el.value = String(value)
    else if (typeof value === 'object') continue
    else el.setAttribute(key, value === true ? '' : String(value))
  }
}

/** An HTML element: `onclick`-style keys add listeners, `dataset` sets data-*, others are attributes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  if (props !== null) setProps(el, props)
  append(el, children)
  return el
}

const SVG_NS = 'http://www.w3.org/2000/svg'

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag)
  if (props !== null) setProps(el, props)
  append(el, children)
  return el
}

/** Replaces what `parent` holds. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren()
  append(parent, children)
}

export function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`the page has no #${id}`)
  return el as T
}
