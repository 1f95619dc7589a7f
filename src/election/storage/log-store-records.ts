// The kinds of record the log store writes, and strict validation of both what the caller hands
// to save() and what is read back from disk (a valid checksum proves the bytes are the ones we
// wrote, not that a buggy writer wrote the right shape).
import { encodeRecord } from './record-file.js'
import { configProblem } from '../core/raft-config.js'
import type { StoredEntry, StoredHardState, StoredSnapshot } from './log-store.js'

export type LogRecord =
  | { kind: 'entry'; entry: StoredEntry }
  /** Drop every entry with index >= `index` (Raft conflict truncation). */
  | { kind: 'truncate-from'; index: number }
  | { kind: 'hard-state'; hardState: StoredHardState }
  /** Only in the snapshot file, never in a log segment. */
  | { kind: 'snapshot'; snapshot: StoredSnapshot }

export function encodeLogRecord(record: LogRecord): Buffer {
  return encodeRecord(record)
}

/** Validates a parsed record payload; throws a message naming `where` when it is malformed. */
export function decodeLogRecord(value: unknown, where: string): LogRecord {
  const record = value as Record<string, unknown> | null
  if (record === null || typeof record !== 'object') throw new Error(`${where}: record is not an object`)
  switch (record.kind) {
    case 'entry':
      return { kind: 'entry', entry: checkEntry(record.entry, where) }
    case 'truncate-from':
      return { kind: 'truncate-from', index: checkIndex(record.index, `${where}: truncate-from index`) }
    case 'hard-state':
      return { kind: 'hard-state', hardState: checkHardState(record.hardState, where) }
    case 'snapshot':
      return { kind: 'snapshot', snapshot: checkSnapshot(record.snapshot, where) }
    default:
      throw new Error(`${where}: unknown record kind ${JSON.stringify(record.kind)}`)
  }
}

export function checkEntry(value: unknown, where: string): StoredEntry {
  const entry = asObject(value, `${where}: entry`)
  const index = checkIndex(entry.index, `${where}: entry index`)
  const term = checkNonNegative(entry.term, `${where}: entry ${index} term`)
  if (entry.type !== 'normal' && entry.type !== 'config')
    throw new Error(`${where}: entry ${index} has type ${JSON.stringify(entry.type)}`)
  if (entry.type === 'config') {
    // The core reads a config entry as soon as the log is loaded: refuse it here, with the place.
    const problem = configProblem(entry.data)
    if (problem !== null) throw new Error(`${where}: config entry ${index} is not a valid config: ${problem}`)
  }
  return { term, index, type: entry.type, data: entry.data }
}

export function checkHardState(value: unknown, where: string): StoredHardState {
  const hardState = asObject(value, `${where}: hardState`)
  const vote = hardState.vote
  if (vote !== null && typeof vote !== 'string') throw new Error(`${where}: hardState.vote must be a string or null`)
  return {
    term: checkNonNegative(hardState.term, `${where}: hardState.term`),
    vote,
    commit: checkNonNegative(hardState.commit, `${where}: hardState.commit`),
  }
}

export function checkSnapshot(value: unknown, where: string): StoredSnapshot {
  const snapshot = asObject(value, `${where}: snapshot`)
  const config = asObject(snapshot.config, `${where}: snapshot.config`)
  const checked = {
    index: checkIndex(snapshot.index, `${where}: snapshot.index`),
    term: checkNonNegative(snapshot.term, `${where}: snapshot.term`),
    config: {
      voters: checkStrings(config.voters, `${where}: snapshot.config.voters`),
      learners: checkStrings(config.learners, `${where}: snapshot.config.learners`),
    },
    data: snapshot.data,
  }
  const problem = configProblem(checked.config)
  if (problem !== null) throw new Error(`${where}: snapshot.config is not a valid config: ${problem}`)
  return checked
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} is not an object`)
  return value as Record<string, unknown>
}

/** Log indexes start at 1. */
function checkIndex(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1)
    throw new Error(`${what} must be an integer >= 1, got ${String(value)}`)
  return value as number
}

function checkNonNegative(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new Error(`${what} must be an integer >= 0, got ${String(value)}`)
  return value as number
}

function checkStrings(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every(item => typeof item === 'string'))
    throw new Error(`${what} must be an array of strings`)
  return [...value] as string[]
}
