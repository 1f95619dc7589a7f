// A target from the issues judged against one measured value, as the console and
// bench/README.md show it.

export interface Judged {
  /** The target in words, with its bound: "failover median ≤ 600 ms". */
  target: string
  value: number
  /** The value as shown next to the target: "416", "max 1106 ms". */
  shown: string
  pass: boolean
}

export function verdict(pass: boolean): string {
  return pass ? 'PASS' : 'FAIL'
}

/** "target (shown): PASS", the form the console prints. */
export function judgedLine(j: Judged): string {
  return `${j.target} (${j.shown}): ${verdict(j.pass)}`
}
