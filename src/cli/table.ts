// Plain-text tables for the CLI: columns padded to their widest cell (measured without colour
// codes), numbers right-aligned when the caller says so, headers bold on a terminal.
import { PLAIN, visibleWidth, type Style } from './style.js'

export type Align = 'left' | 'right'

export interface TableOptions {
  /** Per column; left by default. */
  align?: readonly Align[]
  style?: Style
}

export function formatTable(headers: string[], rows: string[][], opts: TableOptions = {}): string {
  const style = opts.style ?? PLAIN
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => visibleWidth(r[i] ?? ''))))
  const pad = (cell: string, i: number): string => {
    const fill = ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleWidth(cell)))
    return opts.align?.[i] === 'right' ? fill + cell : cell + fill
  }
  const line = (cells: string[]): string => cells.map(pad).join('  ').trimEnd()
  return [style.bold(line(headers)), ...rows.map(line)].join('\n')
}
