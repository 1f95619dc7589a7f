// Proposals waiting to be applied, keyed by log index. An entry is identified
// by (index, term): a proposal succeeds only when the entry applied at its
// index has its term, and fails for certain only when a different entry is
// applied there. Losing leadership or having the entry truncated locally is
// NOT a failure: the entry may survive on another node that becomes leader
// (Raft paper, Figure 8), so the verdict waits for what is actually applied.

import { ProposalDroppedError } from './raft-node-errors.js'
import type { Entry, Snapshot } from '../core/types.js'

export interface ProposalResult {
  index: number
  term: number
}

interface Waiter {
  term: number
  resolve: (result: ProposalResult) => void
  reject: (err: Error) => void
}

export class ProposalTracker {
  /** Several waiters per index: a re-elected leader may reuse an index its earlier term used. */
  private readonly waiting = new Map<number, Waiter[]>()

  get size(): number {
    let n = 0
    for (const list of this.waiting.values()) n += list.length
    return n
  }

  add(index: number, term: number): Promise<ProposalResult> {
    return new Promise<ProposalResult>((resolve, reject) => {
      const list = this.waiting.get(index) ?? []
      list.push({ term, resolve, reject })
      this.waiting.set(index, list)
    })
  }

  /** The state machine applied `entry` (committed, so final on every node). */
  applied(entry: Entry): void {
    const list = this.waiting.get(entry.index)
    if (!list) return
    this.waiting.delete(entry.index)
    for (const w of list) {
      if (w.term === entry.term) {
        w.resolve({ index: entry.index, term: w.term })
      } else {
        w.reject(
          new ProposalDroppedError(
            'overwritten',
            entry.index,
            w.term,
            `proposal at index ${entry.index} (term ${w.term}) was overwritten by an entry of term ${entry.term}`,
          ),
        )
      }
    }
  }

  /** The state machine was replaced by `snapshot`: settle everything it covers. */
  snapshotInstalled(snapshot: Snapshot): void {
    for (const [index, list] of this.waiting) {
      if (index > snapshot.index) continue
      this.waiting.delete(index)
      for (const w of list) {
        // Log terms never decrease, so every entry the snapshot covers has a
        // term <= snapshot.term; at snapshot.index itself the term is known.
        if (index === snapshot.index && w.term === snapshot.term) {
          w.resolve({ index, term: w.term })
        } else if (w.term > snapshot.term || index === snapshot.index) {
          w.reject(
            new ProposalDroppedError(
              'overwritten',
              index,
              w.term,
              `proposal at index ${index} (term ${w.term}) was overwritten`,
            ),
          )
        } else {
          w.reject(
            new ProposalDroppedError(
              'unknown',
              index,
              w.term,
              `proposal at index ${index} (term ${w.term}) was covered by a snapshot at ${snapshot.index}; outcome unknown`,
            ),
          )
        }
      }
    }
  }

  rejectAll(makeError: (index: number, term: number) => Error): void {
    const all = [...this.waiting]
    this.waiting.clear()
    for (const [index, list] of all) for (const w of list) w.reject(makeError(index, w.term))
  }
}
