// The task queue as metrics: how long tasks wait for a placement (on the leader, which places
// them) and how many wait, per tenant (on every node, from its replica of the table).
import type { NodeMetrics } from '../metrics/node-metrics.js'
import type { Clock } from '../util/clock.js'
import type { TaskClusterView } from './cluster-port.js'
import type { TaskRecord } from './task-table.js'

export function meterTaskQueue(cluster: TaskClusterView, clock: Clock, metrics: NodeMetrics): void {
  /** When each task entered the queue, for tasks queued while this node was the ready leader.
   * Keyed by record: a task forgotten, or replaced by a snapshot, takes its entry with it. */
  const queuedAtMs = new WeakMap<TaskRecord, number>()
  cluster.table.onEvent(ev => {
    if (ev.type === 'transition' && ev.task.state === 'pending') {
      if (cluster.isReadyLeader()) queuedAtMs.set(ev.task, clock.nowMs())
      return
    }
    if (ev.type !== 'assigned') return
    const sinceMs = queuedAtMs.get(ev.task)
    if (sinceMs === undefined) return
    queuedAtMs.delete(ev.task)
    metrics.schedulingLatency.observe(Math.max(0, clock.nowMs() - sinceMs) / 1000)
  })
  // A pass over the pending tasks once per scrape costs nothing between scrapes.
  metrics.onScrape(() => {
    const byTenant = new Map<string, number>()
    for (const t of cluster.table.pending()) byTenant.set(t.spec.tenant, (byTenant.get(t.spec.tenant) ?? 0) + 1)
    metrics.tasksPending.reset()
    for (const [tenant, n] of byTenant) metrics.tasksPending.set({ tenant }, n)
  })
}
