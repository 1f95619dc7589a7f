// Length-prefixed frames, written so that one frame (or a run of queued frames) reaches the
// stream as ONE chunk. it-length-prefixed's encode() yields the varint and the body as two
// chunks, and yamux turns every chunk into a data frame of its own, each its own noise message
// and socket write (and, before patches/ changed that, a window update back from the receiver).
// Measured on this VM's loopback, each costs a syscall plus a wake-up of the peer process
// (strace of a leader: 23 socket writes per committed write before this change, 7 after it and
// the yamux patch).
import * as lp from 'it-length-prefixed'
import { concat } from 'uint8arrays'

/** `frame` with its varint length prefix, as one contiguous array. No size limit here (the
 * library's default, 4 MiB, would throw at the sender, e.g. on a big raft snapshot): each
 * protocol's receiver enforces its own, and senders check it before queueing. */
export function lengthPrefixed(frame: Uint8Array): Uint8Array {
  return lp.encode.single(frame, { maxDataLength: Number.MAX_SAFE_INTEGER }).subarray()
}

/** One contiguous chunk per frame of `source`. */
export async function* encodeFrames(
  source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  for await (const frame of source) yield lengthPrefixed(frame)
}

/** At most this much goes into one chunk: yamux splits anything above its 64 KiB message size
 * anyway, and a big batch should not hold back the heartbeats queued behind it for long. */
const MAX_BATCH_BYTES = 64 * 1024

/**
 * The outbound queue of a long-lived frame stream. The stream reads it as an async iterable;
 * frames pushed while the stream was busy writing go out together, length-prefixed and joined
 * into one chunk, so a burst of raft messages to one peer costs one write, not one per message.
 * Nothing waits for a batch to fill: a frame pushed to an idle queue is read at once.
 */
export class FrameQueue implements AsyncIterable<Uint8Array> {
  private frames: Uint8Array[] = []
  private bytes = 0
  private ended = false
  private wake: (() => void) | null = null

  /** Bytes queued and not yet taken by the stream. */
  get queuedBytes(): number {
    return this.bytes
  }

  push(frame: Uint8Array): void {
    if (this.ended) return
    const prefixed = lengthPrefixed(frame)
    this.frames.push(prefixed)
    this.bytes += prefixed.byteLength
    this.wake?.()
  }

  /** No more frames: the stream ends after what is queued (a consumer that stopped reading drops it). */
  end(): void {
    this.ended = true
    this.wake?.()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.frames.length === 0) {
        if (this.ended) return
        await new Promise<void>(resolve => {
          this.wake = resolve
        })
        this.wake = null
        continue
      }
      yield this.takeBatch()
    }
  }

  private takeBatch(): Uint8Array {
    let count = 0
    let batchBytes = 0
    // Always at least one frame, however big (the receiver enforces the frame size limit).
    while (
      count < this.frames.length &&
      (count === 0 || batchBytes + this.frames[count]!.byteLength <= MAX_BATCH_BYTES)
    ) {
      batchBytes += this.frames[count]!.byteLength
      count++
    }
    const batch = this.frames.splice(0, count)
    this.bytes -= batchBytes
    return batch.length === 1 ? batch[0]! : concat(batch, batchBytes)
  }
}
