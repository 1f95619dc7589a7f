// What a worker runs: the attempts assigned to this node, from one of two sources. A node that
// holds the Raft log reads them from its replica of the task table; a worker outside the Raft
// configuration receives them from the leader over a stream (assignment-stream.ts). The Worker
// reads either through this interface.
import type { TaskSpec } from './spec.js'
import { isTerminal, type TaskEvent, type TaskTable } from './task-table.js'

export interface Assignment {
  id: string
  attempt: number
  spec: TaskSpec
  cancelRequested: boolean
}

export type AssignmentEvent =
  /** New attempts may be waiting to launch. */
  | { type: 'assigned' }
  /** Something else changed (an entry was applied): worth a look only if the source was not ready. */
  | { type: 'changed' }
  /** Stop this task's running attempt. */
  | { type: 'cancel'; id: string }
  /** Attempts here were taken back (re-queued elsewhere): whatever still runs of them must stop. */
  | { type: 'revoked' }

export interface AssignmentSource {
  /** The source is complete (caught up with the log, or holding the leader's full set): launching
   * before would start what a later decision already moved elsewhere. */
  ready: () => boolean
  /** Attempts assigned to this node and not finished. */
  active: () => Iterable<Assignment>
  /** The attempt of `id` assigned here now, if any. */
  current: (id: string) => Assignment | undefined
  /** For the task-dir GC: when this node's attempt of a task finished (epoch ms), null while it
   * may still run, undefined when this source does not know (the GC then goes by the directory). */
  finishedAt: (id: string, attempt: number) => number | null | undefined
  onEvent: (listener: (ev: AssignmentEvent) => void) => void
  /** The worker reported this attempt's outcome (a stream forgets it at once; a table waits for
   * the report to commit). */
  finishedHere?: (id: string, attempt: number) => void
}

/** The attempts the replicated task table assigns to `self`. */
export function tableAssignments(table: TaskTable, self: string, caughtUp: () => boolean): AssignmentSource {
  const toAssignment = (t: { id: string; attempt: number; spec: TaskSpec; cancelRequested: boolean }): Assignment => ({
    id: t.id,
    attempt: t.attempt,
    spec: t.spec,
    cancelRequested: t.cancelRequested,
  })
  return {
    ready: caughtUp,
    *active() {
      for (const t of table.activeTasks()) if (t.node === self) yield toAssignment(t)
    },
    current: id => {
      const t = table.get(id)
      const active = t?.state === 'assigned' || t?.state === 'running'
      return active && t.node === self ? toAssignment(t) : undefined
    },
    finishedAt: (id, attempt) => {
      const task = table.get(id)
      // Forgotten by the table (it keeps the newest finished tasks): long finished.
      if (task === undefined) return 0
      if (attempt === task.attempt) return isTerminal(task.state) ? (task.finishedAt ?? 0) : null
      if (attempt > task.attempt) return null // assigned here after this replica's view: leave it
      return task.history.find(h => h.attempt === attempt)?.finishedAt ?? 0
    },
    onEvent: listener => {
      table.onEvent(ev => {
        if (ev.type === 'assigned' && ev.task.node === self) listener({ type: 'assigned' })
        else if (ev.type === 'changed') listener({ type: 'changed' })
        else if (ev.type === 'cancel_requested' && ev.task.node === self) listener({ type: 'cancel', id: ev.task.id })
        else if (isRevocation(ev) && ev.node === self) listener({ type: 'revoked' })
      })
    },
  }
}

/** An attempt left its node for the queue (a drain's deadline, a worker thought gone): the node
 * must stop it if it still runs. The node's own reports end attempts too, but those it has ended. */
export function isRevocation(ev: TaskEvent): ev is Extract<TaskEvent, { type: 'transition' }> {
  return ev.type === 'transition' && ev.task.state === 'pending' && (ev.from === 'assigned' || ev.from === 'running')
}

/** Reads the table while this node holds the log, the stream otherwise: a worker promoted to
 * standby learner switches once it has caught up with the log, and back if it is removed. */
export function roleAwareAssignments(
  holdsLog: () => boolean,
  fromLog: AssignmentSource,
  fromLeader: AssignmentSource,
): AssignmentSource {
  const source = (): AssignmentSource => (holdsLog() ? fromLog : fromLeader)
  return {
    ready: () => source().ready(),
    active: () => source().active(),
    current: id => source().current(id),
    finishedAt: (id, attempt) => source().finishedAt(id, attempt),
    finishedHere: (id, attempt) => {
      fromLeader.finishedHere?.(id, attempt)
    },
    onEvent: listener => {
      fromLog.onEvent(ev => {
        if (holdsLog()) listener(ev)
      })
      fromLeader.onEvent(ev => {
        if (!holdsLog()) listener(ev)
      })
    },
  }
}
