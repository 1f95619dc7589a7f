// Puts chunked raft messages back together (see raft-wire.ts). Each sender has at most one
// message in progress, whose chunks must arrive in order on its stream; a new message from the
// same sender replaces an unfinished one (the sender gave up on it). What a sender may make this
// node hold is bounded three ways: the declared size of one message, the sum over all senders,
// and a time limit between two chunks, after which the partial message is dropped.
import type { Clock, TimerHandle } from '../../util/clock.js'
import type { ChunkHeader } from './raft-wire.js'

export interface ChunkLimits {
  /** Sum of the declared sizes of all messages in progress. */
  maxTotalBytes: number
  /** A message whose next chunk takes longer than this is dropped. */
  idleTimeoutMs: number
}

/** Why a chunk was dropped; also the `reason` label of the wire rejection counter. */
export type ChunkFailure =
  /** A chunk that does not continue the sender's message in progress. */
  | 'chunk_out_of_order'
  /** Accepting the message would exceed maxTotalBytes. */
  | 'reassembly_full'

export type ChunkResult =
  | { status: 'partial' }
  | { status: 'complete'; bytes: Uint8Array; header: ChunkHeader }
  | { status: 'dropped'; reason: ChunkFailure }

interface Transfer {
  header: ChunkHeader
  buffer: Uint8Array
  received: number
  nextSeq: number
  timer: TimerHandle | undefined
}

export class ChunkAssembler {
  private readonly transfers = new Map<string, Transfer>()
  private reservedBytes = 0
  /** Partial messages dropped because their next chunk never came. */
  timedOut = 0

  constructor(
    private readonly limits: ChunkLimits,
    private readonly clock: Clock,
  ) {}

  /** Bytes held for messages in progress. */
  get heldBytes(): number {
    return this.reservedBytes
  }

  /** Adds one chunk from `sender` (the authenticated peer); the header was validated by the wire. */
  add(sender: string, header: ChunkHeader, payload: Uint8Array): ChunkResult {
    let transfer = this.transfers.get(sender)
    if (header.seq === 0) {
      if (transfer) this.drop(sender, transfer)
      if (this.reservedBytes + header.bytes > this.limits.maxTotalBytes)
        return { status: 'dropped', reason: 'reassembly_full' }
      transfer = {
        header,
        // Sized by the header: the wire checked it against the cap, and the sender was admitted.
        buffer: new Uint8Array(header.bytes),
        received: 0,
        nextSeq: 0,
        timer: undefined,
      }
      this.reservedBytes += header.bytes
      this.transfers.set(sender, transfer)
    } else if (!transfer || !continues(transfer, header)) {
      if (transfer) this.drop(sender, transfer)
      return { status: 'dropped', reason: 'chunk_out_of_order' }
    }
    transfer.buffer.set(payload, transfer.received)
    transfer.received += payload.byteLength
    transfer.nextSeq++
    this.clock.clear(transfer.timer)
    if (transfer.nextSeq === header.count) {
      this.drop(sender, transfer)
      return { status: 'complete', bytes: transfer.buffer, header: transfer.header }
    }
    const current = transfer
    transfer.timer = this.clock.setTimeout(() => {
      if (this.transfers.get(sender) !== current) return
      this.drop(sender, current)
      this.timedOut++
    }, this.limits.idleTimeoutMs)
    return { status: 'partial' }
  }

  /** Forget everything held (the transport stops). */
  clear(): void {
    for (const [sender, transfer] of this.transfers) this.drop(sender, transfer)
  }

  private drop(sender: string, transfer: Transfer): void {
    this.clock.clear(transfer.timer)
    if (this.transfers.get(sender) === transfer) {
      this.transfers.delete(sender)
      this.reservedBytes -= transfer.header.bytes
    }
  }
}

function continues(transfer: Transfer, header: ChunkHeader): boolean {
  const first = transfer.header
  return (
    header.transfer === first.transfer &&
    header.seq === transfer.nextSeq &&
    header.to === first.to &&
    header.from === first.from &&
    header.term === first.term &&
    header.type === first.type &&
    header.count === first.count &&
    header.bytes === first.bytes
  )
}
