// Group commit for task submissions. Every submission is a write through the leader: a forwarded
// frame, a log entry, a round of appends and acknowledgements, an fsync on a majority. Under load
// most of a node's time went to that per-write machinery (measured at 100 single-task POSTs/s
// on 3 nodes: the forwarding follower and the leader were CPU-bound, acknowledgements queued for
// hundreds of milliseconds). So while MAX_WRITES_IN_FLIGHT submission writes are in flight, the
// submissions that arrive wait and then go out together as one task.submit entry. A quiet node
// sends each submission at once: batching costs nothing until there is something to batch.
//
// Each caller still hears about its own tasks only: the batch commits as a whole, and if the
// leader refuses the combined command (a spec one node accepted and the leader does not), the
// submissions are resent one by one so that only the refused one fails.
import { CommandRefusedError } from './cluster-port.js'
import { TASK_LIMITS } from './spec.js'
import type { TaskSubmitCommand } from './commands.js'

export type SubmittedTask = TaskSubmitCommand['tasks'][number]

/** Two, not one: a submission arriving while a single write is in flight need not wait for it. */
export const MAX_WRITES_IN_FLIGHT = 2
/** Submissions are joined only while the batch stays under this much JSON: 1,000 tasks of
 * large specs would otherwise make a command past the forwarding frame limit (one request
 * alone is bounded by the HTTP body limit). */
export const MAX_BYTES_PER_WRITE = 4 * 1024 * 1024

interface Waiting {
  tasks: SubmittedTask[]
  bytes: number
  resolve: () => void
  reject: (err: unknown) => void
}

export class SubmitBatcher {
  private readonly waiting: Waiting[] = []
  private inFlight = 0

  /** `write` commits one task.submit command (and resolves once it is applied here). */
  constructor(
    private readonly write: (tasks: SubmittedTask[]) => Promise<void>,
    private readonly maxBytesPerWrite = MAX_BYTES_PER_WRITE,
  ) {}

  /** Resolves once these tasks are committed; rejects as the write of these tasks would. */
  async submit(tasks: SubmittedTask[]): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.waiting.push({ tasks, bytes: JSON.stringify(tasks).length, resolve, reject })
      this.pump()
    })
  }

  private pump(): void {
    while (this.inFlight < MAX_WRITES_IN_FLIGHT && this.waiting.length > 0) {
      const batch: Waiting[] = [this.waiting.shift() as Waiting]
      let count = batch[0].tasks.length
      let bytes = batch[0].bytes
      while (
        this.waiting.length > 0 &&
        count + this.waiting[0].tasks.length <= TASK_LIMITS.maxBatch &&
        bytes + this.waiting[0].bytes <= this.maxBytesPerWrite
      ) {
        const next = this.waiting.shift() as Waiting
        count += next.tasks.length
        bytes += next.bytes
        batch.push(next)
      }
      this.inFlight++
      void this.send(batch).finally(() => {
        this.inFlight--
        this.pump()
      })
    }
  }

  private async send(batch: Waiting[]): Promise<void> {
    try {
      await this.write(batch.flatMap(w => w.tasks))
      for (const w of batch) w.resolve()
    } catch (err) {
      if (batch.length > 1 && err instanceof CommandRefusedError) {
        for (const w of batch) await this.send([w])
        return
      }
      for (const w of batch) w.reject(err)
    }
  }
}
