// Bookkeeping of the ready()/advance() handshake: what was last handed to the
// adapter, so ready() reports only changes and advance() acknowledges exactly
// what that ready() contained, even if the core moved on in between.

import type { RaftLog } from './raft-log.js'
import type { HardState, RaftMessage, Ready, SoftState } from './types.js'

interface HandedOut {
  stable: { index: number; term: number } | null
  appliedTo: number | null
  snapshotIndex: number | null
}

export class ReadyTracker {
  private prevHardState: HardState
  private prevSoftState: SoftState
  private handedOut: HandedOut | null = null

  constructor(hardState: HardState, softState: SoftState) {
    this.prevHardState = hardState
    this.prevSoftState = softState
  }

  get awaitingAdvance(): boolean {
    return this.handedOut !== null
  }

  hasReady(log: RaftLog, outboxSize: number, hardState: HardState, softState: SoftState): boolean {
    if (this.handedOut) return false
    return (
      outboxSize > 0 ||
      log.stableIndex < log.lastIndex() ||
      log.unstableSnapshot !== null ||
      log.committed > log.applied ||
      !sameHardState(hardState, this.prevHardState) ||
      !sameSoftState(softState, this.prevSoftState)
    )
  }

  build(log: RaftLog, messages: RaftMessage[], hardState: HardState, softState: SoftState): Ready {
    if (this.handedOut) throw new Error('advance() the previous Ready before calling ready() again')
    const entries = log.unstableEntries()
    const committedEntries = log.committedEntriesAfter(log.applied)
    const rd: Ready = { entries, messages, committedEntries, softState }
    if (!sameHardState(hardState, this.prevHardState)) rd.hardState = hardState
    const snapshot = log.unstableSnapshot
    if (snapshot) rd.snapshot = snapshot

    this.prevHardState = hardState
    this.prevSoftState = softState
    const last = entries[entries.length - 1]
    this.handedOut = {
      stable: last ? { index: last.index, term: last.term } : null,
      appliedTo: committedEntries[committedEntries.length - 1]?.index ?? null,
      snapshotIndex: snapshot ? snapshot.index : null,
    }
    return rd
  }

  /** Mark everything in the last Ready as persisted and applied. */
  acknowledge(log: RaftLog): void {
    const done = this.handedOut
    if (!done) throw new Error('advance() without a pending ready()')
    this.handedOut = null
    if (done.snapshotIndex !== null) log.snapshotPersisted(done.snapshotIndex)
    // stableTo checks the term: entries overwritten since ready() stay unstable.
    if (done.stable) log.stableTo(done.stable.index, done.stable.term)
    if (done.appliedTo !== null) log.appliedTo(done.appliedTo)
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term
}
