// What a Raft message must satisfy on its own, whatever the receiver's state: the wire schema
// (transport/raft-wire.ts) refuses a frame that breaks one of these rules, and RaftCore.step
// checks them again, so no input, from the network or from a caller in this process, can make the
// core throw or persist a log it could not read back.

import { configProblem } from './raft-config.js'
import type { RaftMessage } from './types.js'

/**
 * Largest term or index a node accepts. Far below 2^53 so that every `+ 1` and every sum of an
 * index and a count the core computes stays an exact integer; and beyond any real value (a
 * million entries a second would take 8 years to reach it).
 */
export const RAFT_NUMBER_MAX = 2 ** 48

const inRange = (n: number): boolean => Number.isSafeInteger(n) && n >= 0 && n <= RAFT_NUMBER_MAX

/** The numbers of `m` other than those inside entry data and snapshot data. */
function numbersOf(m: RaftMessage): number[] {
  switch (m.type) {
    case 'preVote':
    case 'vote':
      return [m.term, m.lastLogIndex, m.lastLogTerm]
    case 'append':
      return [m.term, m.prevLogIndex, m.prevLogTerm, m.commit, ...m.entries.flatMap(e => [e.index, e.term])]
    case 'appendResp':
      return [m.term, m.index, m.hintIndex, m.hintTerm]
    case 'snapshot':
      return [m.term, m.snapshot.index, m.snapshot.term]
    case 'heartbeat':
      return [m.term, m.commit]
    case 'commit':
      return [m.term, m.commit, m.logTerm]
    default:
      return [m.term]
  }
}

/**
 * Why `m` cannot have been sent by a correct node, or null. Terms and indexes are integers in
 * [0, RAFT_NUMBER_MAX]; nothing refers to a term after the message's own; an append's entries
 * follow prevLogIndex one by one with terms that never decrease, and its config entries hold
 * valid configs; a snapshot covers at least entry 1 and holds a valid config.
 */
export function messageProblem(m: RaftMessage): string | null {
  if (!numbersOf(m).every(inRange)) return `a term or index is not an integer in [0, 2^48]`
  switch (m.type) {
    case 'preVote':
    case 'vote':
      return m.lastLogTerm > m.term ? 'lastLogTerm is after the term' : null
    case 'append': {
      if (m.prevLogTerm > m.term) return 'prevLogTerm is after the term'
      if (m.prevLogIndex === 0 && m.prevLogTerm !== 0) return 'entry 0 has term 0'
      let previousTerm = m.prevLogTerm
      for (const [offset, entry] of m.entries.entries()) {
        if (entry.index !== m.prevLogIndex + 1 + offset) return `entry ${entry.index} does not follow its predecessor`
        if (entry.term < previousTerm || entry.term > m.term) return `entry ${entry.index} has an impossible term`
        previousTerm = entry.term
        if (entry.type === 'config') {
          const problem = configProblem(entry.data)
          if (problem !== null) return `config entry ${entry.index}: ${problem}`
        }
      }
      return null
    }
    case 'snapshot': {
      const { index, term, config } = m.snapshot
      if (index < 1 || term < 1) return 'a snapshot covers at least entry 1, of term 1 or later'
      if (term > m.term) return 'the snapshot is of a term after the message'
      const problem = configProblem(config)
      return problem === null ? null : `snapshot config: ${problem}`
    }
    case 'commit':
      return m.logTerm > m.term ? 'logTerm is after the term' : null
    default:
      return null
  }
}
