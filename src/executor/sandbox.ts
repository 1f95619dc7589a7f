// What keeps a task away from the agent, decided once at agent start (src/node/task-sandbox.ts)
// and handed to the executor as plain data (it may run in another process):
// - who tasks run as: an unprivileged user when the agent is root (task-user.ts), else the agent's
//   own user;
// - the cgroups each attempt runs in (cgroups/), where the machine has them and the agent is root.
// The work dir's disk bound (disk-watch.ts, RLIMIT_FSIZE) holds either way.
import type { CgroupSetup, CgroupVersion } from './cgroups/cgroups.js'

export interface TaskUser {
  name: string
  uid: number
  gid: number
}

export interface TaskSandbox {
  /** Null: tasks run as the agent's own user. */
  user: TaskUser | null
  /** Null: no cgroups; memory limits by polling /proc, kills by process group. */
  cgroups: CgroupSetup | null
}

export const NO_SANDBOX: TaskSandbox = { user: null, cgroups: null }

/** What GET /v1/status says about it. */
export interface IsolationView {
  /** The user tasks run as; null when they run as the agent's own user (an agent that is not root). */
  taskUser: string | null
  /** The uid tasks run as (the agent's own when taskUser is null). */
  taskUid: number
  cgroups: CgroupVersion | null
  /** Who enforces memoryMb: the kernel (the attempt's cgroup) or the executor polling RSS. */
  memoryLimit: 'kernel' | 'polling'
}

export function isolationView(sandbox: TaskSandbox, agentUid: number): IsolationView {
  return {
    taskUser: sandbox.user?.name ?? null,
    taskUid: sandbox.user?.uid ?? agentUid,
    cgroups: sandbox.cgroups?.version ?? null,
    memoryLimit: sandbox.cgroups === null ? 'polling' : 'kernel',
  }
}
