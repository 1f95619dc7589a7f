// Which executor the agent runs depends on how tasks are spawned (spawner.ts):
// - With the launcher, the Executor runs inside the agent. The agent never forks for a task (the
//   launcher is started once, while the agent's heap is still small), and each task saves the
//   round trips to a second Node process and that process's wake-ups. A/B at 10 tasks/s on the
//   2-core VM, three runs each: submit->started p50 10.4-11.8 -> 9.8-10.8 ms, the cluster's CPU
//   ~10% less; and ~50 MiB less RSS per node.
// - With Node's child_process, every task is a fork of the process that spawns it, which from the
//   agent stalls Raft (executor-process.ts says how much): the Executor runs in its own small
//   process (isolated-executor.ts).
// Either way the node is fail-stop: if the launcher or the executor process dies, tasks can
// neither be watched nor reported, and the agent exits (after killing the launcher's task groups;
// an executor process's are orphans for the agent's next start). And tasks do not outlive their
// agent: the launcher kills them when its stdin closes, the executor process when its IPC
// channel does.
import { Executor, type ExecutorOptions, type TaskExecutor } from './executor.js'
import { IsolatedExecutor } from './isolated-executor.js'
import { launcherAvailable } from './spawner.js'

/** Throws if the launcher was asked for explicitly and is not built. */
export function createAgentExecutor (opts: ExecutorOptions): TaskExecutor {
  const choice = opts.spawner ?? 'auto'
  if (choice === 'child_process' || (choice === 'auto' && !launcherAvailable())) return new IsolatedExecutor(opts)
  const executor: Executor = new Executor({
    ...opts,
    onSpawnerDied: () => {
      opts.logger?.error({}, 'stopping the agent: without its launcher, tasks can neither be watched nor reported')
      // stop() SIGKILLs every task group before its first await (the launcher's last words, its
      // SPAWNED records included, were read before its death was reported); what it would then
      // wait for, their exits, only the dead launcher could report.
      void executor.stop()
      process.exit(1)
    }
  })
  return executor
}
