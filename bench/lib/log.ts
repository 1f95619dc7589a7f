// How a benchmark reports its progress and figures: one line at a time.
export type Log = (line: string) => void
