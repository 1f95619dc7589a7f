// RaftTransport over libp2p: one long-lived /meshos/raft/1.0.0 stream per peer, one JSON frame
// per message. Delivery is best effort (the core retries what matters); what arrives is checked
// against the wire schema and against the authenticated sender before the core sees it.
import type { Logger } from 'pino'
import type { P2PHost } from '../../p2p/host.js'
import type { NodeMetrics } from '../../metrics/node-metrics.js'
import type { RaftTransport } from './transport.js'
import type { RaftMessage } from '../core/types.js'
import { RAFT_FRAME_MAX_BYTES, RAFT_PROTOCOL, decodeRaftMessage, encodeRaftMessage } from './raft-wire.js'

const CHANNEL_LIMITS = {
  maxFrameBytes: RAFT_FRAME_MAX_BYTES,
  /** Many election timeouts' worth of heartbeats and full append batches; beyond that the
   * peer is gone or hopelessly behind, and the core will probe it again anyway. */
  maxQueuedBytes: 8 * 1024 * 1024,
  dialTimeoutMs: 2000,
  /** A dead peer is tried again twice an election timeout: a restarted node is back in
   * replication within half a second, and a dead one costs a dial per 500 ms, not 20 per second. */
  redialBackoffMs: 500,
}

export class P2PRaftTransport implements RaftTransport {
  private handler: ((msg: RaftMessage) => void) | null = null

  constructor(
    private readonly host: P2PHost,
    private readonly metrics: NodeMetrics,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.host.handleFrames(RAFT_PROTOCOL, RAFT_FRAME_MAX_BYTES, (from, frame) => this.receive(from, frame))
  }

  send(msg: RaftMessage): void {
    try {
      this.host.sendFrame(msg.to, RAFT_PROTOCOL, encodeRaftMessage(msg), CHANNEL_LIMITS)
    } catch (err) {
      // A transport never throws at the core (RaftTransport): a message that cannot go is a
      // dropped message, which Raft retries; throwing would stop this node's Raft.
      this.log.warn({ to: msg.to, type: msg.type, err }, 'could not send raft message')
    }
  }

  onMessage(handler: (msg: RaftMessage) => void): void {
    this.handler = handler
  }

  private receive(from: string, frame: Uint8Array): void {
    const result = decodeRaftMessage(frame)
    let reason: string | null = result.ok ? null : result.reason
    let detail = result.ok ? '' : result.detail
    if (result.ok && (result.value.from !== from || result.value.to !== this.host.peerId)) {
      reason = 'wrong_sender'
      detail = `frame from ${from} claims ${result.value.from} → ${result.value.to}`
    }
    if (reason != null || !result.ok) {
      this.metrics.wireRejected.inc({ protocol: RAFT_PROTOCOL, reason: reason ?? 'invalid_schema' })
      this.log.debug({ from, reason, detail }, 'dropped invalid raft frame')
      return
    }
    this.metrics.wireAccepted.inc({ protocol: RAFT_PROTOCOL })
    this.handler?.(result.value)
  }
}
