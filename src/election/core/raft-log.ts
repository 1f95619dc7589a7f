// The in-memory Raft log: a snapshot (everything up to snapshotIndex, compacted)
// followed by entries. It also tracks which entries the adapter has made durable
// (stableIndex), which are committed, and which were applied, because those
// three cursors decide what ready() hands out.

import type { ClusterConfig, Entry, Snapshot } from './types.js'

const EMPTY_CONFIG: ClusterConfig = { voters: [], learners: [] }

export class RaftLog {
  private snapshotIndex: number
  private snapshotTerm: number
  private snapshotConfig: ClusterConfig
  /** The latest snapshot, sent to followers that need compacted entries. */
  private latestSnapshot: Snapshot | null
  private entries: Entry[]

  /** Highest index known committed. Never decreases. */
  committed: number
  /** Highest index the state machine has applied (acknowledged via advance). */
  applied: number
  /** Highest index the adapter has made durable. Entries after it go into the next ready(). */
  stableIndex: number
  /** A snapshot received from the leader, not yet persisted by the adapter. */
  unstableSnapshot: Snapshot | null = null

  constructor(snapshot: Snapshot | null, entries: Entry[], commit: number) {
    this.latestSnapshot = snapshot
    this.snapshotIndex = snapshot?.index ?? 0
    this.snapshotTerm = snapshot?.term ?? 0
    this.snapshotConfig = snapshot?.config ?? EMPTY_CONFIG
    entries.forEach((entry, offset) => {
      if (entry.index !== this.snapshotIndex + 1 + offset) {
        throw new Error(`persisted entries are not contiguous after snapshot ${this.snapshotIndex}`)
      }
    })
    this.entries = entries.slice()
    this.stableIndex = this.lastIndex()
    this.applied = this.snapshotIndex
    // A commit beyond the durable log can only come from a storage bug; clamp
    // rather than refuse to start, since commit is re-learned from the leader.
    this.committed = Math.max(this.snapshotIndex, Math.min(commit, this.lastIndex()))
  }

  get snapshot(): Snapshot | null {
    return this.latestSnapshot
  }

  firstIndex(): number {
    return this.snapshotIndex + 1
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0
  }

  /** Term of the entry at `index`, or undefined if compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined
    return this.entries[index - this.snapshotIndex - 1]!.term
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex()) return undefined
    return this.entries[index - this.snapshotIndex - 1]
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term
  }

  /** Entries in [from, toExclusive), at most maxCount; undefined if `from` was compacted. */
  slice(from: number, toExclusive: number, maxCount = Infinity): Entry[] | undefined {
    if (from <= this.snapshotIndex) return undefined
    const end = Math.min(toExclusive, this.lastIndex() + 1, from + maxCount)
    if (end <= from) return []
    return this.entries.slice(from - this.snapshotIndex - 1, end - this.snapshotIndex - 1)
  }

  /** Raft's election restriction (§5.4.1): is (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm()
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex())
  }

  /** Leader path: append entries that directly follow lastIndex. */
  append(entries: Entry[]): void {
    for (const entry of entries) {
      if (entry.index !== this.lastIndex() + 1) throw new Error(`append out of order at ${entry.index}`)
      this.entries.push(entry)
    }
  }

  /**
   * Follower path (AppendEntries receiver). Returns the last index now known to
   * match the leader, or null if the log has no entry (prevIndex, prevTerm).
   * Only a genuinely conflicting suffix is truncated: a stale, shorter append
   * from the same leader must not cut off entries it sent later.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: Entry[]): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null
    const lastNewIndex = prevIndex + entries.length
    const conflictAt = entries.findIndex(entry => !this.matchTerm(entry.index, entry.term))
    if (conflictAt >= 0) {
      const first = entries[conflictAt]!
      if (first.index <= this.committed) {
        throw new Error(`entry ${first.index} conflicts with committed log (commit ${this.committed})`)
      }
      this.truncateAndAppend(entries.slice(conflictAt))
    }
    this.commitTo(Math.min(leaderCommit, lastNewIndex))
    return lastNewIndex
  }

  private truncateAndAppend(entries: Entry[]): void {
    const from = entries[0]!.index
    if (from <= this.snapshotIndex) throw new Error(`cannot overwrite compacted index ${from}`)
    this.entries = this.entries.slice(0, from - this.snapshotIndex - 1).concat(entries)
    // The adapter must overwrite from `from`: mark those entries as not durable.
    this.stableIndex = Math.min(this.stableIndex, from - 1)
  }

  /**
   * Largest index <= `index` whose term is <= `term`, used by both sides of
   * the fast log backtracking (etcd's findConflictByTerm). Stops at the
   * snapshot, whose entries are committed and thus shared with any leader.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex())
    for (; i > this.snapshotIndex; i--) {
      if (this.term(i)! <= term) return i
    }
    return i
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false
    if (index > this.lastIndex()) throw new Error(`commit ${index} beyond last index ${this.lastIndex()}`)
    this.committed = index
    return true
  }

  unstableEntries(): Entry[] {
    return this.entries.slice(this.stableIndex - this.snapshotIndex)
  }

  /** Committed entries the state machine has not applied yet. */
  committedEntriesAfter(appliedIndex: number): Entry[] {
    return this.slice(appliedIndex + 1, this.committed + 1) ?? []
  }

  /** The adapter persisted entries through (index, term); ignore if the log changed since. */
  stableTo(index: number, term: number): void {
    if (index > this.stableIndex && this.matchTerm(index, term)) this.stableIndex = index
  }

  appliedTo(index: number): void {
    if (index > this.applied) this.applied = Math.min(index, this.committed)
  }

  /** Replace the whole log with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    this.setSnapshot(snapshot)
    this.entries = []
    this.committed = snapshot.index
    this.applied = snapshot.index
    this.stableIndex = snapshot.index
    this.unstableSnapshot = snapshot
  }

  /** The adapter persisted the snapshot handed out in ready(). */
  snapshotPersisted(index: number): void {
    if (this.unstableSnapshot?.index === index) this.unstableSnapshot = null
  }

  /** Drop entries up to `snapshot.index`, which the application has already applied and saved. */
  compact(snapshot: Snapshot): void {
    if (snapshot.index <= this.snapshotIndex) throw new Error(`already compacted through ${this.snapshotIndex}`)
    if (snapshot.index > this.applied) throw new Error(`cannot compact unapplied index ${snapshot.index}`)
    this.entries = this.entries.slice(snapshot.index - this.snapshotIndex)
    this.setSnapshot(snapshot)
  }

  /**
   * The membership in effect at `index`: the last config entry at or before
   * it, or the snapshot's. Config entries take effect when appended, so
   * configAt(lastIndex()) is the node's current config.
   */
  configAt(index: number): { config: ClusterConfig; index: number } {
    for (let i = Math.min(index, this.lastIndex()); i > this.snapshotIndex; i--) {
      const entry = this.entries[i - this.snapshotIndex - 1]!
      if (entry.type === 'config') return { config: entry.data as ClusterConfig, index: i }
    }
    return { config: this.snapshotConfig, index: this.snapshotIndex }
  }

  private setSnapshot(snapshot: Snapshot): void {
    this.latestSnapshot = snapshot
    this.snapshotIndex = snapshot.index
    this.snapshotTerm = snapshot.term
    this.snapshotConfig = snapshot.config
  }
}
