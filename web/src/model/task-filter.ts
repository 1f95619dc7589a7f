// The task list's filters: state and node are also asked of the node (so a page of results is
// all matches), text is matched here, over what the page has loaded.
import type { TaskState, TaskView } from './api-types.js'

export interface TaskFilter {
  /** '' for any. */
  state: TaskState | ''
  /** A node id, '' for any. */
  node: string
  /** Case-insensitive words, each of which must appear in the id, name, command, tenant or node. */
  text: string
}

export const NO_FILTER: Readonly<TaskFilter> = { state: '', node: '', text: '' }

export function commandOf(t: Pick<TaskView, 'spec'>): string {
  return t.spec.command ?? t.spec.argv?.join(' ') ?? ''
}

export function matchesFilter(t: TaskView, f: TaskFilter): boolean {
  if (f.state !== '' && t.state !== f.state) return false
  if (f.node !== '' && t.node !== f.node) return false
  const words = f.text
    .toLowerCase()
    .split(/\s+/)
    .filter(w => w !== '')
  if (words.length === 0) return true
  const haystack = [t.id, t.name ?? '', commandOf(t), t.spec.tenant, t.nodeName ?? '', t.node ?? '']
    .join('\n')
    .toLowerCase()
  return words.every(w => haystack.includes(w))
}

/** The query string of GET /v1/tasks for these filters: newest first. */
export function listQuery(f: TaskFilter, limit: number, after?: string): string {
  const q = new URLSearchParams({ order: 'newest', limit: String(limit) })
  if (f.state !== '') q.set('state', f.state)
  if (f.node !== '') q.set('node', f.node)
  if (after !== undefined) q.set('after', after)
  return q.toString()
}
