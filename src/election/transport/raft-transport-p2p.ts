// RaftTransport over libp2p: one long-lived /meshos/raft/2.0.0 stream per peer, one frame per
// message, or a run of chunk frames for a message larger than a chunk (raft-wire.ts). Delivery is
// best effort (the core retries what matters); what arrives is checked against the wire schema
// and against the authenticated sender before the core sees it, and the chunks of a large message
// are buffered only for a sender the node would take that message from. The trust anchor's
// question travels on /meshos/raft-config/1.0.0, one request and one answer per stream.
import type { Logger } from 'pino'
import type { P2PHost } from '../../p2p/host.js'
import type { NodeMetrics } from '../../metrics/node-metrics.js'
import { systemClock, type Clock } from '../../util/clock.js'
import type { MessageAdmission, RaftTransport } from './transport.js'
import type { NodeId, RaftMessage } from '../core/types.js'
import type { ConfigAnswer } from '../core/raft-gate.js'
import {
  RAFT_FRAME_MAX_BYTES,
  RAFT_MESSAGE_MAX_BYTES,
  RAFT_PROTOCOL,
  decodeRaftFrame,
  decodeRaftMessage,
  encodeRaftFrames,
  type ChunkHeader,
} from './raft-wire.js'
import { ChunkAssembler } from './raft-chunks.js'
import {
  RAFT_CONFIG_ANSWER_MAX_BYTES,
  RAFT_CONFIG_PROTOCOL,
  RAFT_CONFIG_REQUEST_MAX_BYTES,
  decodeConfigAnswer,
  decodeConfigRequest,
  encodeConfigAnswer,
  encodeConfigRequest,
} from './raft-config-wire.js'

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
/** Once its first chunk is queued, a message goes whole: a message cut short is useless. */
const REST_OF_MESSAGE_LIMITS = {
  ...CHANNEL_LIMITS,
  maxQueuedBytes: RAFT_MESSAGE_MAX_BYTES + CHANNEL_LIMITS.maxQueuedBytes,
}

const REASSEMBLY_LIMITS = {
  /** Only a leader sends large messages, so one or two senders at a time; two whole messages. */
  maxTotalBytes: 2 * RAFT_MESSAGE_MAX_BYTES,
  /** A chunk crosses a LAN in milliseconds; a sender silent this long has given up. */
  idleTimeoutMs: 10_000,
}

const CONFIG_QUERY = { timeoutMs: 2000 }

/** The label sets of this transport's counters, made once: a message counts without allocating. */
const RAFT_LABELS = { protocol: RAFT_PROTOCOL } as const
const CONFIG_LABELS = { protocol: RAFT_CONFIG_PROTOCOL } as const

export class P2PRaftTransport implements RaftTransport {
  private handler: ((msg: RaftMessage) => void) | null = null
  private admit: MessageAdmission | null = null
  private configAnswer: ((from: NodeId) => ConfigAnswer) | null = null
  private readonly chunks: ChunkAssembler
  /** Numbers the chunked messages this node sends, so a receiver tells them apart. */
  private nextTransfer = 0

  constructor(
    private readonly host: P2PHost,
    private readonly metrics: NodeMetrics,
    private readonly log: Logger,
    clock: Clock = systemClock,
  ) {
    this.chunks = new ChunkAssembler(REASSEMBLY_LIMITS, clock)
  }

  async start(): Promise<void> {
    await this.host.handleFrames(RAFT_PROTOCOL, RAFT_FRAME_MAX_BYTES, (from, frame) => {
      this.receive(from, frame)
    })
    await this.host.handle(
      RAFT_CONFIG_PROTOCOL,
      { maxRequestBytes: RAFT_CONFIG_REQUEST_MAX_BYTES, timeoutMs: CONFIG_QUERY.timeoutMs },
      async (from, request) => await Promise.resolve().then(() => this.answerConfig(from, request)),
    )
  }

  /** Counts the message (not its chunks) as sent once all of it is queued. */
  send(msg: RaftMessage): void {
    try {
      const [first, ...rest] = encodeRaftFrames(msg, this.nextTransfer++)
      let queued = this.host.sendFrame(msg.to, RAFT_PROTOCOL, first!, CHANNEL_LIMITS)
      for (let i = 0; queued && i < rest.length; i++)
        queued = this.host.sendFrame(msg.to, RAFT_PROTOCOL, rest[i]!, REST_OF_MESSAGE_LIMITS)
      ;(queued ? this.metrics.wireSent : this.metrics.wireSendDropped).inc(RAFT_LABELS)
    } catch (err) {
      // A transport never throws at the core (RaftTransport): a message that cannot go is a
      // dropped message, which Raft retries; throwing would stop this node's Raft.
      this.metrics.wireSendDropped.inc(RAFT_LABELS)
      this.log.warn({ peer: msg.to, type: msg.type, err }, 'could not send raft message')
    }
  }

  onMessage(handler: (msg: RaftMessage) => void, admit?: MessageAdmission): void {
    this.handler = handler
    this.admit = admit ?? null
  }

  onPeerGone(listener: (peer: NodeId) => void): void {
    this.host.onPeerDisconnect(listener)
  }

  async askConfig(target: string): Promise<ConfigAnswer> {
    const bytes = await this.host.request(target, RAFT_CONFIG_PROTOCOL, encodeConfigRequest(), {
      timeoutMs: CONFIG_QUERY.timeoutMs,
      maxResponseBytes: RAFT_CONFIG_ANSWER_MAX_BYTES,
    })
    const result = decodeConfigAnswer(bytes)
    if (!result.ok) {
      this.metrics.wireRejected.inc({ protocol: RAFT_CONFIG_PROTOCOL, reason: result.reason })
      throw new Error(`${target} answered an invalid ${RAFT_CONFIG_PROTOCOL} message: ${result.detail}`)
    }
    this.metrics.wireAccepted.inc(CONFIG_LABELS)
    return result.value
  }

  onConfigQuery(answer: (from: NodeId) => ConfigAnswer): void {
    this.configAnswer = answer
  }

  /** Forgets the partial messages held for peers. */
  stop(): void {
    this.chunks.clear()
  }

  private answerConfig(from: string, request: Uint8Array): Uint8Array {
    const decoded = decodeConfigRequest(request)
    if (!decoded.ok) {
      this.metrics.wireRejected.inc({ protocol: RAFT_CONFIG_PROTOCOL, reason: decoded.reason })
      throw new Error(`invalid ${RAFT_CONFIG_PROTOCOL} request from ${from}: ${decoded.detail}`)
    }
    this.metrics.wireAccepted.inc(CONFIG_LABELS)
    return encodeConfigAnswer(this.configAnswer?.(from) ?? { status: 'refused', reason: 'not_member' })
  }

  private receive(from: string, frame: Uint8Array): void {
    const result = decodeRaftFrame(frame)
    if (!result.ok) {
      this.refuse(from, result.reason, result.detail)
      return
    }
    const decoded = result.value
    if (decoded.kind === 'chunk') {
      this.receiveChunk(from, decoded.header, decoded.payload)
      return
    }
    const msg = decoded.message
    if (msg.from !== from || msg.to !== this.host.peerId) {
      this.refuse(from, 'wrong_sender', `frame from ${from} claims ${msg.from} → ${msg.to}`)
      return
    }
    this.metrics.wireAccepted.inc(RAFT_LABELS)
    this.handler?.(msg)
  }

  private receiveChunk(from: string, header: ChunkHeader, payload: Uint8Array): void {
    if (header.from !== from || header.to !== this.host.peerId) {
      this.refuse(from, 'wrong_sender', `chunk from ${from} claims ${header.from} → ${header.to}`)
      return
    }
    // The gate counts what it refuses; a refused sender's chunks are never held.
    if (this.admit && !this.admit({ type: header.type, from, term: header.term })) return
    const added = this.chunks.add(from, header, payload)
    if (added.status === 'partial') return
    if (added.status === 'dropped') {
      this.refuse(from, added.reason, `chunk ${header.seq} of message ${header.transfer}`)
      return
    }
    const whole = decodeRaftMessage(added.bytes)
    if (!whole.ok) {
      this.refuse(from, whole.reason, `reassembled message ${header.transfer}: ${whole.detail}`)
      return
    }
    const msg = whole.value
    if (msg.from !== header.from || msg.to !== header.to || msg.type !== header.type || msg.term !== header.term) {
      this.refuse(from, 'wrong_sender', `reassembled message ${header.transfer} differs from its chunk headers`)
      return
    }
    this.metrics.wireAccepted.inc(RAFT_LABELS)
    this.handler?.(msg)
  }

  private refuse(from: string, reason: string, detail: string): void {
    this.metrics.wireRejected.inc({ protocol: RAFT_PROTOCOL, reason })
    this.log.debug({ peer: from, reason, detail }, 'dropped invalid raft frame')
  }
}
