// Counts what the executor does with each attempt: how it ended, how long it ran, whether its
// process could not even start. A wrapper rather than code in the executor, so the in-agent
// executor and its proxy for an executor process (agent-executor.ts) are counted alike, on the
// agent's side, and the worker that listens keeps its one listener.
import type { NodeMetrics } from '../metrics/node-metrics.js'
import type { ExecutorListener, TaskExecutor } from './executor.js'
import type { TaskOutcome } from './types.js'

/** The outcome label of an attempt, in the words of the task table (task-table.ts FailureReason). */
export function outcomeLabel(outcome: TaskOutcome): string {
  if (outcome.reason !== 'exited') return outcome.reason
  return outcome.exitCode === 0 ? 'succeeded' : 'exit_code'
}

export function meteredExecutor(inner: TaskExecutor, metrics: NodeMetrics): TaskExecutor {
  const count = (outcome: TaskOutcome): void => {
    metrics.taskOutcomes.inc({ outcome: outcomeLabel(outcome) })
    if (outcome.reason === 'spawn_error') metrics.spawnFailures.inc()
    if (outcome.startedAtMs !== null)
      metrics.taskRunDuration.observe(Math.max(0, outcome.finishedAtMs - outcome.startedAtMs) / 1000)
  }
  return {
    listen: (listener: ExecutorListener) => {
      inner.listen({
        onStarted: task => {
          listener.onStarted(task)
        },
        onFinished: outcome => {
          count(outcome)
          listener.onFinished(outcome)
        },
      })
    },
    launch: req => {
      const result = inner.launch(req)
      if (!result.ok) metrics.taskOutcomes.inc({ outcome: 'refused' })
      return result
    },
    cancel: taskId => inner.cancel(taskId),
    running: () => inner.running(),
    isRunning: (taskId, attempt) => inner.isRunning(taskId, attempt),
    allocated: () => inner.allocated(),
    readLog: async (taskId, attempt, stream, offset, maxBytes) =>
      await inner.readLog(taskId, attempt, stream, offset, maxBytes),
    killOrphans: async () => await inner.killOrphans(),
    stop: async () => {
      await inner.stop()
    },
    get spawnerKind() {
      return inner.spawnerKind
    },
  }
}
