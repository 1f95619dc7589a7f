// A task's output as it is written: GET /v1/tasks/:id/logs?follow=true read chunk by chunk. The
// node ends the answer once the attempt has ended and all of its output was sent.
import type { Api } from './api.js'

export type LogStreamName = 'stdout' | 'stderr'

export interface FollowedLog {
  /** The task's state when the node began answering (x-meshos-task-state). */
  stateAtStart: string | null
  truncated: boolean
}

export async function followLog(
  api: Api,
  taskId: string,
  stream: LogStreamName,
  onText: (text: string) => void,
  signal: AbortSignal,
): Promise<FollowedLog> {
  const query = new URLSearchParams({ stream, follow: 'true' })
  const res = await api.open(`v1/tasks/${encodeURIComponent(taskId)}/logs?${query.toString()}`, signal)
  const log: FollowedLog = {
    stateAtStart: res.headers.get('x-meshos-task-state'),
    truncated: res.headers.get('x-meshos-log-truncated') === 'true',
  }
  if (res.body === null) return log
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  const cancel = (): void => void reader.cancel().catch(() => undefined)
  signal.addEventListener('abort', cancel, { once: true })
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return log
      onText(value)
    }
  } finally {
    signal.removeEventListener('abort', cancel)
  }
}
