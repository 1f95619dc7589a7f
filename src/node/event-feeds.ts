// What the node's event hub (src/events) hears: membership transitions, leadership as this node's
// Raft sees it, committed voter-set changes, and task state transitions and drains of nodes from
// its replica of the log.
import type { EventHub } from '../events/event-hub.js'
import type { Membership } from '../gossip/membership.js'
import type { Replica } from '../cluster/replica.js'
import type { TaskTable } from '../tasks/task-table.js'
import type { ClusterConfig } from '../election/core/types.js'

export interface EventSources {
  membership: Membership
  replica: Replica
  table: TaskTable
}

export function feedEvents(hub: EventHub, { membership, replica, table }: EventSources): void {
  const nameOf = (id: string | null): string | null => (id === null ? null : membership.nameOf(id))

  membership.onChange(t => {
    hub.publish({
      topic: 'members',
      type: t.from === null ? 'joined' : t.to,
      data: { nodeId: t.nodeId, name: nameOf(t.nodeId), from: t.from, to: t.to, reason: t.reason },
    })
  })

  let leader: string | null = null
  let term = 0
  replica.onSoftState(soft => {
    const known = soft.leader !== null && (soft.leader !== leader || soft.term !== term)
    const lost = soft.leader === null && leader !== null
    leader = soft.leader
    term = soft.term
    if (!known && !lost) return
    hub.publish({
      topic: 'leader',
      type: known ? 'elected' : 'lost',
      data: { leader: soft.leader, name: nameOf(soft.leader), term: soft.term, role: replica.role ?? 'follower' },
    })
  })

  replica.onConfigCommitted((config, previous) => {
    const changes: Array<[keyof ClusterConfig, 'added' | 'removed', string]> = []
    for (const kind of ['voters', 'learners'] as const) {
      for (const id of config[kind]) if (!previous[kind].includes(id)) changes.push([kind, 'added', id])
      for (const id of previous[kind]) if (!config[kind].includes(id)) changes.push([kind, 'removed', id])
    }
    for (const [kind, change, nodeId] of changes)
      hub.publish({
        topic: 'voters',
        type: `${kind === 'voters' ? 'voter' : 'learner'}_${change}`,
        data: { nodeId, name: nameOf(nodeId), voters: config.voters, learners: config.learners },
      })
  })

  const ACTIVE = new Set(['assigned', 'running'])
  table.onEvent(ev => {
    if (ev.type === 'drain' && ev.index > replica.replayedThroughIndex) {
      const { change } = ev
      hub.publish({
        topic: 'drain',
        type: change.type !== 'draining' ? change.type : change.deadlineReplaced ? 'progress' : 'started',
        data: {
          nodeId: change.node,
          name: nameOf(change.node),
          running: ev.running,
          deadlineAtMs: change.drain?.deadlineAtMs ?? null,
          message: change.deadlineReplaced ? 'a new deadline replaced the old one' : null,
        },
      })
    }
    if (ev.type !== 'transition' || ev.index <= replica.replayedThroughIndex) return
    const { task } = ev
    hub.publish({
      topic: 'tasks',
      type: task.state,
      data: {
        id: task.id,
        from: ev.from,
        to: task.state,
        node: ev.node,
        nodeName: nameOf(ev.node),
        attempt: task.attempt,
        reason: ev.reason,
        tenant: task.spec.tenant,
      },
    })
    // A task left a draining node: one fewer to wait for.
    const drain = ev.node === null ? undefined : table.drains.get(ev.node)
    if (
      ev.node !== null &&
      drain?.state === 'draining' &&
      ev.from !== null &&
      ACTIVE.has(ev.from) &&
      !ACTIVE.has(task.state)
    )
      hub.publish({
        topic: 'drain',
        type: 'progress',
        data: {
          nodeId: ev.node,
          name: nameOf(ev.node),
          running: table.activeOn(ev.node),
          deadlineAtMs: drain.deadlineAtMs,
          message: `task ${task.id} left it (${task.state})`,
        },
      })
  })
}
