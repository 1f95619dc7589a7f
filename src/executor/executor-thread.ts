// The executor thread: runs an Executor off the agent's main thread. Starting a process blocks
// the thread that calls spawn() for several ms (fork and exec happen inside it); here that stalls
// only this thread, while the main thread keeps Raft, gossip and the API responsive.
import { parentPort, workerData } from 'node:worker_threads'
import { Executor } from './executor.js'
import type { ExecutorLogger } from './types.js'
import type { ExecutorThreadConfig, FromThread, ToThread } from './thread-protocol.js'

const port = parentPort
if (port === null) throw new Error('executor-thread.js must run as a worker thread')
const post = (msg: FromThread): void => { port.postMessage(msg) }

/** Errors are not structured-clone friendly in logs: send their message and stack as text. */
function plain (obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) out[k] = v instanceof Error ? { message: v.message, stack: v.stack } : v
  return out
}

const logger: ExecutorLogger = {
  debug: (obj, msg) => { post({ op: 'log', level: 'debug', obj: plain(obj as Record<string, unknown>), msg }) },
  info: (obj, msg) => { post({ op: 'log', level: 'info', obj: plain(obj as Record<string, unknown>), msg }) },
  warn: (obj, msg) => { post({ op: 'log', level: 'warn', obj: plain(obj as Record<string, unknown>), msg }) },
  error: (obj, msg) => { post({ op: 'log', level: 'error', obj: plain(obj as Record<string, unknown>), msg }) }
}

const config = workerData as ExecutorThreadConfig
const executor = new Executor({
  ...config,
  logger,
  onStarted: task => { post({ op: 'started', task }) },
  onFinished: outcome => { post({ op: 'finished', outcome }) }
})

port.on('message', (msg: ToThread) => {
  switch (msg.op) {
    case 'launch': {
      const result = executor.launch(msg.req)
      if (!result.ok) post({ op: 'refused', taskId: msg.req.taskId, attempt: msg.req.attempt, reason: result.reason })
      break
    }
    case 'cancel':
      executor.cancel(msg.taskId)
      break
    case 'stop':
      void executor.stop().then(() => { post({ op: 'stopped' }) })
      break
  }
})
