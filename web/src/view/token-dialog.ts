// Asks for the node's bearer token (its --http-token-file) when the node answers 401; the page
// keeps it in sessionStorage for this tab.
import { fill } from './dom.js'

export async function askToken(dialog: HTMLDialogElement, why: string): Promise<string> {
  const form = dialog.querySelector('form')!
  const input = form.elements.namedItem('token') as HTMLInputElement
  fill(dialog.querySelector('.why')!, why)
  input.value = ''
  // Without a token the page can show nothing: Escape does not dismiss the question.
  dialog.addEventListener('cancel', e => e.preventDefault())
  dialog.showModal()
  input.focus()
  return await new Promise<string>(resolve => {
    const submitted = (e: Event): void => {
      e.preventDefault()
      const token = input.value.trim()
      if (token === '') return
      form.removeEventListener('submit', submitted)
      dialog.close()
      resolve(token)
    }
    form.addEventListener('submit', submitted)
  })
}
