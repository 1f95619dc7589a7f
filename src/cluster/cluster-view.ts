// What GET /v1/cluster shows: the leader, the term, and every voter and learner with its
// replication state (contact and match are known on the leader only), as
// cluster-view-schema.ts describes it.
import type { MemberDirectory } from '../gossip/member-directory.js'
import type { Replica } from './replica.js'
import type { ClusterView, PeerView } from './cluster-view-schema.js'

export type { ClusterView, PeerView }

export function clusterView(replica: Replica, members: MemberDirectory, tickMs: number): ClusterView {
  const raft = replica.started()
  const progress = new Map((raft.progress() ?? []).map(p => [p.id, p]))
  const peer = (id: string): PeerView => {
    const p = progress.get(id)
    const isSelfLeader = id === replica.self && raft.role === 'leader'
    return {
      id,
      name: members.nameOf(id),
      lastContactMs: isSelfLeader
        ? 0
        : p?.lastContactTick == null
          ? null
          : Math.max(0, raft.tickCount - p.lastContactTick) * tickMs,
      matchIndex: isSelfLeader ? raft.lastIndex : (p?.matchIndex ?? null),
    }
  }
  const config = raft.config
  return {
    leader: raft.leader,
    term: raft.term,
    commitIndex: raft.commitIndex,
    voters: config.voters.map(peer),
    learners: config.learners.map(peer),
  }
}
