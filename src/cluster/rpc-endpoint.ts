// This node's end of the /meshos/rpc protocol: frames on long-lived per-peer channels in both
// directions. It decodes and counts what arrives and hands each frame to its one consumer: a
// forwarded write to the forwarding server (on the leader), a result to the write path that
// forwarded it.
import type { Logger } from 'pino'
import type { FrameChannelLimits, P2PHost } from '../p2p/host.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import {
  RPC_FRAME_MAX_BYTES,
  RPC_PROTOCOL,
  decodeRpcFrame,
  encodeRpcFrame,
  type ProposeRequest,
  type ProposeResult,
  type RpcFrame,
} from './write-rpc.js'

/** Forwarded writes ride a long-lived channel per peer, like Raft's own messages. */
const RPC_CHANNEL_LIMITS: FrameChannelLimits = {
  maxFrameBytes: RPC_FRAME_MAX_BYTES,
  /** A few full batches of task specs; beyond that the leader is not keeping up, and a write
   * refused here (never sent) is retried, where one queued forever would only time out. */
  maxQueuedBytes: 4 * RPC_FRAME_MAX_BYTES,
  dialTimeoutMs: 2000,
  redialBackoffMs: 250,
}

/** The one label set of this protocol's counters, made once: sends count without allocating. */
const LABELS = { protocol: RPC_PROTOCOL } as const

export interface RpcConsumers {
  /** A write another node forwarded to this one (the leader). */
  onPropose: (from: string, request: ProposeRequest) => void
  /** The answer to a write this node forwarded. */
  onResult: (from: string, result: ProposeResult) => void
  /** The channel to `peerId` ended: frames on it may be lost (`opened` false: none was sent). */
  onChannelClosed: (peerId: string, opened: boolean) => void
}

export class RpcEndpoint {
  private consumers: RpcConsumers | null = null

  constructor(
    private readonly host: P2PHost,
    private readonly metrics: NodeMetrics,
    private readonly log: Logger,
  ) {}

  /** Starts receiving; frames go to `consumers`. */
  async start(consumers: RpcConsumers): Promise<void> {
    this.consumers = consumers
    await this.host.handleFrames(RPC_PROTOCOL, RPC_FRAME_MAX_BYTES, (from, frame) => {
      this.receive(from, frame)
    })
    this.host.onChannelClosed((peerId, protocol, opened) => {
      if (protocol === RPC_PROTOCOL) this.consumers?.onChannelClosed(peerId, opened)
    })
  }

  /** Queues `frame` for `peerId`; false when it could not even be queued (no channel). */
  send(peerId: string, frame: RpcFrame): boolean {
    const queued = this.host.sendFrame(peerId, RPC_PROTOCOL, encodeRpcFrame(frame), RPC_CHANNEL_LIMITS)
    ;(queued ? this.metrics.wireSent : this.metrics.wireSendDropped).inc(LABELS)
    return queued
  }

  /** Counts a frame its consumer refused after decoding. */
  rejected(reason: string): void {
    this.metrics.wireRejected.inc({ protocol: RPC_PROTOCOL, reason })
  }

  accepted(): void {
    this.metrics.wireAccepted.inc(LABELS)
  }

  private receive(from: string, bytes: Uint8Array): void {
    const frame = decodeRpcFrame(bytes)
    if (!frame.ok) {
      // Without a parseable id there is nobody to answer; the sender's write times out.
      this.rejected(frame.reason)
      this.log.debug({ peer: from, detail: frame.detail }, 'dropped invalid rpc frame')
      return
    }
    const msg = frame.value
    if (msg.type === 'result') this.consumers?.onResult(from, msg)
    else this.consumers?.onPropose(from, msg)
  }
}
