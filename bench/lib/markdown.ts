// Markdown for bench/README.md: tables, and the line saying when, at which commit and on what
// machine the figures were measured.
import { describeMachine } from './machine.js'
import type { ResultsHeader } from './results.js'
import type { Summary } from './stats.js'
import { verdict, type Judged } from './verdict.js'

/** Escapes what would break a table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

/** A table; `align` has one letter per column, l (text) or r (figures); by default the first
 * column is text and the others are figures. */
export function table(head: string[], rows: string[][], align = 'l' + 'r'.repeat(head.length - 1)): string {
  const line = (cells: string[]): string => `| ${cells.map(cell).join(' | ')} |`
  const rule = head.map((_, i) => (align[i] === 'r' ? '---:' : '---'))
  return [line(head), `|${rule.join('|')}|`, ...rows.map(line)].join('\n')
}

/** Median, p99, min, max and N of `s`, as table cells. */
export function summaryCells(s: Summary, digits = 0): string[] {
  const f = (v: number): string => v.toFixed(digits)
  return [f(s.median), f(s.p99), f(s.min), f(s.max), String(s.n)]
}

export const SUMMARY_HEAD = ['median', 'p99', 'min', 'max', 'N']

/** Targets with what was measured and PASS or FAIL. */
export function verdictTable(judged: Judged[]): string {
  return table(
    ['target', 'measured', 'verdict'],
    judged.map(j => [j.target, j.shown, verdict(j.pass)]),
    'lll',
  )
}

export function bullets(lines: string[]): string {
  return lines.map(l => `- ${l}`).join('\n')
}

/** "2026-12-06 01:31 UTC" from an ISO 8601 date. */
function minuteUtc(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`
}

export function measuredOn(r: ResultsHeader, file: string): string {
  const commit =
    r.commit == null
      ? 'a commit not recorded'
      : `commit ${r.commit}${r.uncommittedChanges === true ? ' with uncommitted changes' : ''}`
  return `Measured ${minuteUtc(r.date)} at ${commit}, on ${describeMachine(r.machine)}. Figures from \`${file}\`.`
}
