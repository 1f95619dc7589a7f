// Which executor the agent runs depends on how tasks are spawned (spawn/spawner.ts):
// - With the launcher, the Executor runs inside the agent. The agent never forks for a task (the
//   launcher is started once, while the agent's heap is still small), and each task saves the
//   round trips to a second Node process and that process's wake-ups (~10% of the cluster's CPU
//   at 10 tasks/s, and ~50 MiB RSS per node).
// - With Node's child_process, every task is a fork of the process that spawns it, which from the
//   agent stalls Raft (isolation/executor-process.ts says how much): the Executor runs in its own
//   small process (isolation/isolated-executor.ts).
// Either way the node is fail-stop: if the launcher or the executor process dies, tasks can
// neither be watched nor reported, and `onFatal` is called (after the launcher's task groups were
// killed; an executor process's are orphans for the agent's next start) so the caller can stop
// the agent. Tasks do not outlive their agent: the launcher kills them when its stdin closes, the
// executor process when its IPC channel does.
import { Executor, type ExecutorOptions, type TaskExecutor } from './executor.js'
import { IsolatedExecutor } from './isolation/isolated-executor.js'
import { launcherAvailable } from './spawn/spawner.js'

export type AgentExecutorOptions = Omit<ExecutorOptions, 'onSpawnerDied'> & {
  /** Tasks can no longer be run or reported: the agent must stop. */
  onFatal: (reason: string) => void
}

/** Throws if the launcher was asked for explicitly and is not built. */
export function createAgentExecutor({ onFatal, ...opts }: AgentExecutorOptions): TaskExecutor {
  const choice = opts.spawner
  if (choice === 'child_process' || (choice === 'auto' && !launcherAvailable()))
    return new IsolatedExecutor({ ...opts, onSpawnerDied: onFatal })
  const executor: Executor = new Executor({
    ...opts,
    onSpawnerDied: reason => {
      // stop() SIGKILLs every task group before its first await (the launcher's last words, its
      // SPAWNED records included, were read before its death was reported); what it would then
      // wait for, their exits, only the dead launcher could report.
      void executor.stop()
      onFatal(`task launcher died: ${reason}`)
    },
  })
  return executor
}
