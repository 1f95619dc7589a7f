// How a node's drain shows in `meshos nodes` (a marker after its state) and `meshos status`.
import type { DrainView } from '../client/client.js'
import { formatDuration } from './durations.js'

/** " (draining)", " (drained)", or nothing; a view from a node of an earlier version has no drain. */
export function drainMarker(drain: DrainView | null | undefined): string {
  return drain == null ? '' : ` (${drain.state})`
}

/** "draining for 1m02s, stopped and re-queued in 3m58s", "drained for 10s", or null. */
export function drainLine(drain: DrainView | null | undefined, nowMs: number): string | null {
  if (drain == null) return null
  const since = `${drain.state} for ${formatDuration(nowMs - drain.sinceMs)}`
  if (drain.state === 'drained') return `${since}: no task runs here, none is placed here`
  const deadline =
    drain.deadlineAtMs === null
      ? 'what runs here may finish'
      : `what still runs here is stopped and re-queued in ${formatDuration(drain.deadlineAtMs - nowMs)}`
  return `${since}: no new task is placed here; ${deadline}`
}
