// The form that runs a task: a shell command and what it asks for, sent as one spec (or an array
// of `count` specs) to POST /v1/tasks. Empty fields are left out, so the node's defaults apply;
// the node checks every field and its error names the one that is wrong.
import { describeError, type Api } from '../net/api.js'
import { fill } from './dom.js'

/** The most specs one request may carry (TASK_LIMITS.maxBatch on the node). */
const MAX_COUNT = 1000

interface Submitted {
  id: string
  state: string
}

export function bindSubmitForm(
  form: HTMLFormElement,
  result: HTMLElement,
  api: Api,
  onSubmitted: (ids: string[]) => void,
): void {
  form.addEventListener('submit', e => {
    e.preventDefault()
    void submit()
  })

  const field = (name: string): string => (form.elements.namedItem(name) as HTMLInputElement | null)?.value.trim() ?? ''

  /** A number field, or undefined when empty; text that is not a number goes as is, so the node
   * names the field in its answer. */
  const numberField = (name: string, scale = 1): number | string | undefined => {
    const text = field(name)
    if (text === '') return undefined
    const n = Number(text)
    return Number.isFinite(n) ? Math.round(n * scale * 1000) / 1000 : text
  }

  async function submit(): Promise<void> {
    const button = form.querySelector('button[type=submit]') as HTMLButtonElement
    const countText = field('count')
    const count = countText === '' ? 1 : Number(countText)
    if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
      show('error', `count: must be a whole number from 1 to ${MAX_COUNT}`)
      return
    }
    const spec: Record<string, unknown> = { command: field('command') }
    const optional: Record<string, unknown> = {
      name: field('name') || undefined,
      cpus: numberField('cpus'),
      memoryMb: numberField('memoryMb'),
      timeoutMs: numberField('timeoutSeconds', 1000),
      retries: numberField('retries'),
      tenant: field('tenant') || undefined,
    }
    for (const [key, value] of Object.entries(optional)) if (value !== undefined) spec[key] = value
    button.disabled = true
    show('pending', count === 1 ? 'submitting…' : `submitting ${count} tasks…`)
    try {
      const ids =
        count === 1
          ? [(await api.post<Submitted>('v1/tasks', spec)).id]
          : (
              await api.post<{ tasks: Submitted[] }>(
                'v1/tasks',
                Array.from({ length: count }, () => spec),
              )
            ).tasks.map(t => t.id)
      show('ok', count === 1 ? `submitted ${ids[0]}` : `submitted ${ids.length} tasks`)
      onSubmitted(ids)
    } catch (err) {
      show('error', describeError(err))
    } finally {
      button.disabled = false
    }
  }

  function show(kind: 'ok' | 'error' | 'pending', text: string): void {
    result.className = `form-result ${kind}`
    result.setAttribute('role', kind === 'error' ? 'alert' : 'status')
    fill(result, text)
  }
}
