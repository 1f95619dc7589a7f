// Decides, once at agent start, what keeps this node's tasks away from the agent (the executor's
// sandbox.ts says what each part does): a root agent runs tasks as --task-user (exit 2 if that user
// does not exist or cannot reach the tasks dir) in cgroups of their own where the machine has
// them; any other agent runs them as itself, with memory limits by polling. Each choice is logged.
import path from 'node:path'
import type { Logger } from 'pino'
import { TASKS_DIR } from '../executor/files/task-dir.js'
import { reachProblem, resolveTaskUser } from '../executor/task-user.js'
import {
  removeNodeCgroups,
  removeNodeCgroupsNow,
  setUpNodeCgroups,
  type CgroupProbe,
} from '../executor/cgroups/setup.js'
import { NO_SANDBOX, type TaskSandbox } from '../executor/sandbox.js'
import { StartupError } from './startup-error.js'

export interface SandboxInputs {
  dataDir: string
  taskUser: string
  peerId: string
  /** The effective uid of the agent: only root can run tasks as another user or make cgroups. */
  agentUid: number
  /** Tests point this at an imitation of a cgroup file system. */
  cgroupProbe?: CgroupProbe
}

export function prepareTaskSandbox(inputs: SandboxInputs, log: Logger): TaskSandbox {
  if (inputs.agentUid !== 0) {
    log.info(
      { uid: inputs.agentUid },
      "the agent is not root: tasks run as the agent's own user, without cgroups (memory limits by polling)",
    )
    return NO_SANDBOX
  }
  let user
  try {
    user = resolveTaskUser(inputs.taskUser)
  } catch (err) {
    throw new StartupError(`--task-user: ${(err as Error).message}`)
  }
  const tasksDir = path.join(inputs.dataDir, TASKS_DIR)
  const problem = reachProblem(tasksDir, user)
  if (problem !== null)
    throw new StartupError(
      `tasks run as ${user.name} but cannot reach ${tasksDir}: ${problem}. ` +
        'Put the data dir where others may pass through (e.g. /var/lib/meshos), or chmod o+x that directory',
    )
  const cgroups = setUpNodeCgroups(inputs.peerId, inputs.cgroupProbe)
  if (cgroups.ok)
    log.info({ taskUser: user.name, uid: user.uid, gid: user.gid, cgroups: cgroups.setup }, 'tasks run sandboxed')
  else
    log.warn(
      { taskUser: user.name, uid: user.uid, gid: user.gid, reason: cgroups.reason },
      'tasks run as the task user but without cgroups: memory limits by polling, kills by process group',
    )
  return { user, cgroups: cgroups.ok ? cgroups.setup : null }
}

/** After the executor stopped (and removed its attempts' cgroups): the node's own cgroups go too. */
export async function releaseTaskSandbox(sandbox: TaskSandbox): Promise<void> {
  if (sandbox.cgroups !== null) await removeNodeCgroups(sandbox.cgroups)
}

/** The same for an agent about to exit on a fatal error (its launcher or executor process died,
 * so nobody else will): kills what runs in its cgroups and removes them, blocking up to a second. */
export function releaseTaskSandboxNow(sandbox: TaskSandbox): void {
  if (sandbox.cgroups !== null) removeNodeCgroupsNow(sandbox.cgroups)
}
