// Raft's safety properties, checked by the simulation after every event.
//
// - Election safety: at most one leader per term.
// - State machine safety: once any node applied (index -> entry), no node ever
//   applies or commits a different entry at that index.
// - Log matching up to commit: every node's log agrees with that global record
//   at every index up to its commit index.
// - Snapshot integrity: a snapshot installed from the leader equals the state
//   obtained by applying the committed prefix.
// - Durability of acknowledged proposals: a proposal acknowledged at
//   (index, term) that commits at (index, term) carries the proposed data.

import type { Entry, NodeId, Snapshot } from '../../src/election/core/types.js'
import type { NetworkObserver, SimNode } from './raft-network.js'

interface CommittedRecord {
  term: number
  type: Entry['type']
  json: string
  /** Which node first showed it committed, for error messages. */
  witness: NodeId
}

export class SafetyViolation extends Error {
  override readonly name = 'SafetyViolation'
}

export class SafetyChecker implements NetworkObserver {
  readonly leaderOfTerm = new Map<number, NodeId>()
  readonly committed = new Map<number, CommittedRecord>()
  private readonly checkedCommit = new Map<NodeId, number>()
  private readonly proposals = new Map<string, string>()
  /** How many snapshots were installed from a leader (coverage statistic). */
  snapshotsInstalled = 0

  get maxCommittedIndex(): number {
    let max = 0
    for (const index of this.committed.keys()) max = Math.max(max, index)
    return max
  }

  /** Remember an acknowledged proposal so its data can be checked when it commits. */
  recordProposal(index: number, term: number, data: unknown): void {
    this.proposals.set(`${index}:${term}`, JSON.stringify(data))
  }

  onApply(node: SimNode, entry: Entry): void {
    this.record(node.id, entry, 'applied')
  }

  onRestore(node: SimNode, snapshot: Snapshot): void {
    this.snapshotsInstalled++
    const expected: unknown[] = []
    for (let i = 1; i <= snapshot.index; i++) {
      const record = this.committed.get(i)
      if (!record)
        throw new SafetyViolation(`${node.id} installed snapshot ${snapshot.index} covering unknown index ${i}`)
      if (record.type === 'normal' && record.json !== 'null') expected.push(JSON.parse(record.json))
    }
    if (JSON.stringify(expected) !== JSON.stringify(snapshot.data)) {
      throw new SafetyViolation(
        `${node.id} installed snapshot ${snapshot.index} whose state differs from the committed log`,
      )
    }
    if (snapshot.term !== this.committed.get(snapshot.index)?.term && snapshot.index > 0) {
      throw new SafetyViolation(
        `${node.id} snapshot ${snapshot.index} has term ${snapshot.term}, committed entry differs`,
      )
    }
  }

  afterEvent(node: SimNode): void {
    const core = node.core
    if (!core) return
    if (core.role === 'leader') {
      const existing = this.leaderOfTerm.get(core.term)
      if (existing === undefined) this.leaderOfTerm.set(core.term, node.id)
      else if (existing !== node.id) {
        throw new SafetyViolation(`two leaders in term ${core.term}: ${existing} and ${node.id}`)
      }
    }
    // Incremental: only indexes that became committed since the last check.
    const from = Math.max(this.checkedCommit.get(node.id) ?? 0, core.firstIndex - 1) + 1
    this.checkLog(node, from)
    this.checkedCommit.set(node.id, core.commitIndex)
  }

  /** Re-check every node's whole committed log, not just the newly committed part. */
  fullCheck(nodes: Iterable<SimNode>): void {
    for (const node of nodes) if (node.core) this.checkLog(node, node.core.firstIndex)
  }

  /** A restarted node may have lost unpersisted commits: re-check it from scratch. */
  forget(id: NodeId): void {
    this.checkedCommit.delete(id)
  }

  private checkLog(node: SimNode, from: number): void {
    const core = node.core!
    for (let i = from; i <= core.commitIndex; i++) {
      const entry = core.entry(i)
      if (!entry) throw new SafetyViolation(`${node.id} commit ${core.commitIndex} but has no entry ${i}`)
      this.record(node.id, entry, 'committed')
    }
  }

  private record(id: NodeId, entry: Entry, how: string): void {
    const json = JSON.stringify(entry.data)
    const existing = this.committed.get(entry.index)
    if (!existing) {
      this.committed.set(entry.index, { term: entry.term, type: entry.type, json, witness: id })
    } else if (existing.term !== entry.term || existing.type !== entry.type || existing.json !== json) {
      throw new SafetyViolation(
        `${id} ${how} index ${entry.index} as (term ${entry.term}, ${json}) but ${existing.witness} had (term ${existing.term}, ${existing.json})`,
      )
    }
    const proposed = this.proposals.get(`${entry.index}:${entry.term}`)
    if (proposed !== undefined && proposed !== json) {
      throw new SafetyViolation(
        `acknowledged proposal at ${entry.index}:${entry.term} was ${proposed}, log has ${json}`,
      )
    }
  }
}
