// The executor process: runs an Executor in a small child process of the agent. Creating a
// process costs its parent a fork of its whole address space: from the agent (a large, busy V8
// heap) each spawn stalled the event loop for 6-25 ms and made the agent's own threads take
// copy-on-write faults until the child exec'd, enough under load for Raft to lose its leader.
// Forking from this lean process leaves the agent alone.
//
// It lives exactly as long as its agent: when the IPC channel closes (the agent exited, however
// it exited), it kills every task group and exits, so a SIGKILLed agent leaves no tasks behind.
import { Executor } from '../executor.js'
import type { ExecutorLogger } from '../types.js'
import type { FromExecutor, ToExecutor } from './executor-protocol.js'
import { removeNodeCgroups } from '../cgroups/setup.js'
import type { CgroupSetup } from '../cgroups/cgroups.js'

if (process.send === undefined) throw new Error('executor-process.js must be started by the agent with an IPC channel')
const post = (msg: FromExecutor): void => {
  process.send?.(msg)
}

/** Errors do not survive serialisation well: send their message and stack as text. */
function plain(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) out[k] = v instanceof Error ? { message: v.message, stack: v.stack } : v
  return out
}

/** Set by 'configure'. */
let debugLogs = false

const logger: ExecutorLogger = {
  debug: (obj, msg) => {
    if (debugLogs) post({ op: 'log', level: 'debug', obj: plain(obj), msg })
  },
  info: (obj, msg) => {
    post({ op: 'log', level: 'info', obj: plain(obj), msg })
  },
  warn: (obj, msg) => {
    post({ op: 'log', level: 'warn', obj: plain(obj), msg })
  },
  error: (obj, msg) => {
    post({ op: 'log', level: 'error', obj: plain(obj), msg })
  },
}

let executor: Executor | null = null
let cgroups: CgroupSetup | null = null

process.on('message', (msg: ToExecutor) => {
  switch (msg.op) {
    case 'configure':
      debugLogs = msg.debugLogs
      cgroups = msg.config.sandbox?.cgroups ?? null
      executor ??= new Executor({
        ...msg.config,
        logger,
        // Its tasks can no longer be watched or reported: kill them (stop() does before its first
        // await; their exits would never be reported) and exit, which stops the agent too.
        onSpawnerDied: () => {
          void executor?.stop()
          process.exit(1)
        },
      })
      executor.listen({
        onStarted: task => {
          post({ op: 'started', task })
        },
        onFinished: outcome => {
          post({ op: 'finished', outcome })
        },
      })
      post({ op: 'ready', spawner: executor.spawnerKind })
      break
    case 'launch': {
      const result = executor?.launch(msg.req) ?? { ok: false, reason: 'executor not configured' }
      if (!result.ok) post({ op: 'refused', taskId: msg.req.taskId, attempt: msg.req.attempt, reason: result.reason })
      break
    }
    case 'cancel':
      executor?.cancel(msg.taskId)
      break
    case 'stop':
      void (executor?.stop() ?? Promise.resolve()).then(() => {
        post({ op: 'stopped' })
      })
      break
  }
})

// A Ctrl-C in the agent's terminal reaches this process too (same process group), as would a
// SIGTERM sent to the group: the agent's graceful stop still needs this process, and the agent
// going away is what ends it (below).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {})

// The agent is gone: nobody can be told about these tasks, and nobody accounts for them (nor for
// the node's cgroups, which the agent would have removed).
process.on('disconnect', () => {
  void (executor?.stop() ?? Promise.resolve())
    .then(async () => {
      if (cgroups !== null) await removeNodeCgroups(cgroups)
    })
    .finally(() => process.exit(0))
})
