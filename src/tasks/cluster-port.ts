// What the tasks layer needs from the replicated cluster, owned here so that tasks/ never imports
// cluster/: the cluster layer implements it (src/cluster/task-cluster.ts). Reads are of this
// node's replica; writes go through the leader wherever it is and resolve once applied here.
import type { TaskCommand } from './commands.js'
import type { TaskTable } from './task-table.js'

export interface WriteOptions {
  /** Applying the command twice changes nothing more than once: it may be resent after an unknown
   * outcome (a leader dying mid-write), so such a write costs a retry, not an error. */
  idempotent: boolean
}

/** Read-only state of this node's replica. */
export interface TaskClusterView {
  /** The replicated task table as this node has applied it. */
  readonly table: TaskTable
  /** The leader this node knows of, or null. */
  leader: () => string | null
  /** This node holds the Raft log (a voter or a standby). A worker does not: its table stays empty,
   * it learns its assignments from the leader, and its reads are answered by the leader. */
  holdsLog: () => boolean
  /** This node's current Raft term (0 before it has one). */
  term: () => number
  /** Leads, and has applied an entry of its own term: its view of the state is complete. */
  isReadyLeader: () => boolean
  /** Knows a leader and has applied everything committed that it knows of. */
  caughtUp: () => boolean
}

export interface TaskCluster extends TaskClusterView {
  /** Commits `command`; rejects with CommandRefusedError when the leader refuses the command itself
   * (then sending it again cannot help), or with another error when it may be retried later. */
  write: (command: TaskCommand, opts: WriteOptions) => Promise<unknown>
}

/** Why the leader refused a submission that is well-formed: too many unfinished tasks. */
export const TOO_MANY_TASKS = 'too_many_tasks'

/** Reads a worker cannot answer from its own (empty) table: answered by the leader, whose view is
 * as fresh as a commit (a write answered to this worker was applied there first). */
export interface RemoteReads {
  task: (id: string) => Promise<unknown>
  tasks: (query: object) => Promise<unknown>
  logTarget: (id: string, attempt: number | undefined) => Promise<unknown>
}

/** The leader answered a read with an error of the API's kind (`code` as in the error table). */
export class RemoteReadError extends Error {
  override readonly name = 'RemoteReadError'
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** The leader refused the command itself (a peer of another version, a bug, or a cap): sending it
 * again unchanged does not help now. `reason` names a refusal the leader gave on purpose. */
export class CommandRefusedError extends Error {
  override readonly name: string = 'CommandRefusedError'
  constructor(
    message: string,
    readonly reason: string | null = null,
  ) {
    super(message)
  }
}
