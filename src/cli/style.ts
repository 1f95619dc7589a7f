// Colour for people at a terminal, and none for anything else: a pipe, a file, a dumb terminal,
// or anyone who set NO_COLOR (no-color.org). Tables measure cells without the escape codes.

/** What a command writes to: a terminal has isTTY. */
export interface Output {
  isTTY?: boolean
  columns?: number
}

type Env = Record<string, string | undefined>

export function wantsColour(out: Output, env: Env): boolean {
  return out.isTTY === true && (env.NO_COLOR ?? '') === '' && env.TERM !== 'dumb'
}

export interface Style {
  bold: (text: string) => string
  dim: (text: string) => string
  green: (text: string) => string
  yellow: (text: string) => string
  red: (text: string) => string
  cyan: (text: string) => string
}

const sgr =
  (on: number, off: number) =>
  (text: string): string =>
    text === '' ? text : `\x1b[${on}m${text}\x1b[${off}m`

const COLOUR: Style = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  red: sgr(31, 39),
  cyan: sgr(36, 39),
}

const same = (text: string): string => text
export const PLAIN: Style = { bold: same, dim: same, green: same, yellow: same, red: same, cyan: same }

export function styleFor(out: Output, env: Env): Style {
  return wantsColour(out, env) ? COLOUR : PLAIN
}

// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-9;]*m/g

/** The width of `text` on a terminal, escape codes left out. */
export function visibleWidth(text: string): number {
  return text.replace(ESCAPES, '').length
}

/** A member's or a task's state, a role, or a health, in the colour that says good or bad. */
export function paintState(style: Style, state: string): string {
  switch (state) {
    case 'alive':
    case 'succeeded':
    case 'leader':
    case 'ok':
      return style.green(state)
    case 'suspect':
    case 'candidate':
    case 'degraded':
    case 'cancelled':
      return style.yellow(state)
    case 'dead':
    case 'failed':
    case 'down':
      return style.red(state)
    case 'running':
    case 'assigned':
      return style.cyan(state)
    case 'left':
    case 'learner':
    case 'pending':
      return style.dim(state)
    default:
      return state
  }
}
