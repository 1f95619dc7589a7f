// Copies one of a task's output pipes into its log file, up to a size cap. Past the cap (or after a
// write error, e.g. a full disk) the sink keeps reading the pipe and drops the bytes: a task whose
// pipe is not drained blocks in write() and would hang until its timeout, for a reason that has
// nothing to do with the task.
import { closeSync, createWriteStream, type WriteStream } from 'node:fs'
import { openRegularForWrite } from './safe-open.js'
import type { Readable } from 'node:stream'
import type { ExecutorLogger } from '../types.js'

export class LogSink {
  private writtenBytes = 0
  /** Past the cap or after a write error: read and drop. */
  private dropping = false
  private ended = false
  private readonly file: WriteStream
  /** Resolves once the log file is flushed and closed; never rejects. */
  readonly closed: Promise<void>

  /**
   * `fd` is the already-open log file (opened in launch, so a failure is a launch failure rather
   * than a half-started task); the sink owns and closes it.
   */
  constructor(
    private readonly pipe: Readable,
    fd: number,
    private readonly maxBytes: number,
    private readonly truncatedMarker: string,
    private readonly logger: ExecutorLogger,
    private readonly context: object,
  ) {
    this.file = createWriteStream('', { fd, autoClose: true })
    this.closed = new Promise(resolve => {
      this.file.once('close', resolve)
    })
    this.file.on('error', err => {
      this.logger.warn({ ...this.context, err }, 'log write failed; dropping the rest of this stream')
      this.dropping = true
      this.pipe.resume()
      // An errored write stream closes its fd itself (autoClose) and then emits 'close'.
    })
    pipe.on('data', (chunk: Buffer) => this.onData(chunk))
    // 'close' also covers a pipe destroyed without 'end' (output held open by an escaped process).
    pipe.once('end', () => this.end())
    pipe.once('close', () => this.end())
    pipe.on('error', err => this.logger.debug({ ...this.context, err }, 'task output pipe error'))
  }

  private onData(chunk: Buffer): void {
    if (this.dropping || this.ended) return
    const room = this.maxBytes - this.writtenBytes
    let data = chunk
    if (chunk.length > room) {
      data = chunk.subarray(0, room)
      this.dropping = true
      this.markTruncated()
    }
    if (data.length === 0) return
    this.writtenBytes += data.length
    // Backpressure: let the pipe fill (and the task wait) only while the disk is behind, never
    // because of the cap.
    if (!this.file.write(data) && !this.dropping) {
      this.pipe.pause()
      this.file.once('drain', () => this.pipe.resume())
    }
  }

  private markTruncated(): void {
    try {
      closeSync(openRegularForWrite(this.truncatedMarker))
    } catch (err) {
      this.logger.warn({ ...this.context, err }, 'could not write the log truncation marker')
    }
  }

  private end(): void {
    if (this.ended) return
    this.ended = true
    if (this.file.destroyed) return
    this.file.end()
  }
}
