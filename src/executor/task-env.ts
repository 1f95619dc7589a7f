// A task's environment. The agent's own environment does not leak into tasks, except PATH: it may
// hold credentials and node-local settings that a task submitted from elsewhere has no business
// seeing, and a task that behaves differently depending on which agent ran it is hard to debug.
// PATH is the exception because without it hardly any command works.
//
// Order: base, then the task's env (it may override PATH and HOME), then the MESHOS_TASK_* ids,
// which the task cannot override: killOrphans() recognizes a task's processes by them.

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

export function buildTaskEnv(
  taskEnv: Record<string, string>,
  ids: { taskId: string; attempt: number; workDir: string },
  agentPath: string | undefined = process.env.PATH,
): Record<string, string> {
  return {
    PATH: agentPath !== undefined && agentPath !== '' ? agentPath : DEFAULT_PATH,
    HOME: ids.workDir,
    ...taskEnv,
    ...taskIdentityEnv(ids.taskId, ids.attempt),
  }
}

export function taskIdentityEnv(taskId: string, attempt: number): Record<string, string> {
  return { MESHOS_TASK_ID: taskId, MESHOS_TASK_ATTEMPT: String(attempt) }
}
