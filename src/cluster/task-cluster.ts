// The cluster as the tasks layer sees it (tasks/cluster-port.ts): this node's replica for reads,
// the write path for writes. The leader refusing a command surfaces as the port's own error.
import { CommandRefusedError, TOO_MANY_TASKS, type TaskCluster, type TaskClusterView } from '../tasks/cluster-port.js'
import { TooManyTasksError } from '../tasks/errors.js'
import { InvalidCommandError } from './errors.js'
import type { Replica } from './replica.js'
import type { LeaderLocator } from './leader-locator.js'
import type { WritePath } from './write-path.js'

export function taskClusterView(replica: Replica, leaders: LeaderLocator): TaskClusterView {
  return {
    table: replica.state.tasks,
    leader: () => leaders.leader(),
    holdsLog: () => replica.holdsLog(),
    term: () => replica.term ?? 0,
    isReadyLeader: () => replica.isReadyLeader(),
    caughtUp: () => replica.caughtUp(),
  }
}

export function taskCluster(view: TaskClusterView, writes: WritePath): TaskCluster {
  return {
    ...view,
    write: async (command, opts) => {
      try {
        return await writes.write(command, opts)
      } catch (err) {
        if (err instanceof InvalidCommandError)
          throw err.reason === TOO_MANY_TASKS
            ? new TooManyTasksError(err.detail)
            : new CommandRefusedError(err.message, err.reason)
        throw err
      }
    },
  }
}
