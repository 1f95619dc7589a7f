// The leader's replication state for one peer (etcd's tracker.Progress).
//
// probe:     we do not know where the follower's log matches ours; send one
//            append at a time and wait for the answer (or the next heartbeat
//            response) before sending another.
// replicate: the follower is caught up to `matchIndex`; stream entries
//            optimistically, advancing nextIndex as we send.
// snapshot:  a snapshot is in flight; send nothing until it is acknowledged or
//            `snapshotRetryTicks` pass (a dropped snapshot must not stall the peer).

import type { NodeId, PeerProgress, ProgressState } from './types.js'

export class Progress {
  state: ProgressState = 'probe'
  matchIndex = 0
  nextIndex: number
  /** In probe state: an append is outstanding, wait for its answer. */
  probeSent = false
  pendingSnapshotIndex = 0
  snapshotSentTick = 0
  /** The highest commit index this peer can have learned from what we sent it (appends, heartbeats,
   * commit messages; a lost message makes this optimistic, and the next heartbeat repairs it). */
  commitSent = 0
  /** Heard from since the last check-quorum round. */
  recentActive = false
  lastContactTick: number | null = null
  /** When we last sent it an append or a commit message (either resets its election timer). */
  lastSentTick: number | null = null

  constructor(
    readonly id: NodeId,
    public isLearner: boolean,
    nextIndex: number,
  ) {
    this.nextIndex = nextIndex
  }

  isPaused(): boolean {
    if (this.state === 'probe') return this.probeSent
    return this.state === 'snapshot'
  }

  becomeProbe(): void {
    // Leaving snapshot state this way means the snapshot was not acknowledged
    // (maybe dropped), so do not assume the follower has it.
    this.state = 'probe'
    this.probeSent = false
    this.pendingSnapshotIndex = 0
    this.nextIndex = this.matchIndex + 1
  }

  becomeReplicate(): void {
    this.state = 'replicate'
    this.probeSent = false
    this.pendingSnapshotIndex = 0
    this.nextIndex = this.matchIndex + 1
  }

  becomeSnapshot(snapshotIndex: number, nowTick: number): void {
    this.state = 'snapshot'
    this.probeSent = false
    this.pendingSnapshotIndex = snapshotIndex
    this.snapshotSentTick = nowTick
  }

  /** A successful append response for `index`. Returns false if it told us nothing new. */
  maybeUpdate(index: number): boolean {
    let updated = false
    if (this.matchIndex < index) {
      this.matchIndex = index
      this.probeSent = false
      updated = true
    }
    this.nextIndex = Math.max(this.nextIndex, index + 1)
    return updated
  }

  /**
   * A rejected append for prevLogIndex `rejected`; `hintIndex` is where the
   * leader's and follower's logs are likely to match. Returns false if the
   * rejection is stale (answers an append we have already moved past).
   */
  maybeDecrTo(rejected: number, hintIndex: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.matchIndex) return false
      this.nextIndex = this.matchIndex + 1
      return true
    }
    if (this.state === 'snapshot' || this.nextIndex - 1 !== rejected) return false
    this.nextIndex = Math.max(Math.min(rejected, hintIndex + 1), this.matchIndex + 1, 1)
    this.probeSent = false
    return true
  }

  /** Record that an append was sent in this state. */
  sentEntries(lastSentIndex: number): void {
    if (this.state === 'replicate') this.nextIndex = Math.max(this.nextIndex, lastSentIndex + 1)
    else if (this.state === 'probe') this.probeSent = true
  }

  contact(nowTick: number): void {
    this.recentActive = true
    this.lastContactTick = nowTick
  }

  view(): PeerProgress {
    return {
      id: this.id,
      isLearner: this.isLearner,
      state: this.state,
      matchIndex: this.matchIndex,
      nextIndex: this.nextIndex,
      recentActive: this.recentActive,
      lastContactTick: this.lastContactTick,
    }
  }
}
