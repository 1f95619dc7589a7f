// The libp2p adapter: the only place that knows about libp2p. Everything above it sees peer ids
// and multiaddrs as strings, byte payloads, and a handful of callbacks.
import './polyfills.js'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub, type GossipSub } from '@chainsafe/libp2p-gossipsub'
import { TopicValidatorResult, type PeerId, type PrivateKey, type PubSub, type Message } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { pipe } from 'it-pipe'
import * as lp from 'it-length-prefixed'
import { FrameQueue, encodeFrames } from './frames.js'
import { GOSSIP_SCORE_THRESHOLDS, gossipsubOptions, invalidDeliveryPenalty } from './gossip-options.js'
import { connectionProtector } from './private-network.js'
import type { Logger } from 'pino'

/** Loopback is exempt from the per-host connection rate limit: a local cluster or test puts many
 * nodes behind 127.0.0.1, which that defence (right for the internet) would otherwise isolate.
 * Other addresses keep the defaults. */
const LOOPBACK_ALLOW = ['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128']

/** Why a peer was kept out: it is not in our private network (no or another cluster key), or
 * it delivered invalid gossip (gossip-options.ts: invalidDeliveryPenalty). */
export type PeerRefusalReason = 'private_network' | 'gossip_score'

/** The labels of meshos_wire_messages_rejected_total under which gossip for a topic outside the
 * host's topics is counted (topic announcements and messages alike). */
export const FOREIGN_TOPIC_REJECTION = { protocol: 'gossipsub', reason: 'topic_not_allowed' } as const

const REFUSAL_LOG_INTERVAL_MS = 60_000
/** libp2p pings every connection this often and closes one that does not answer: what ends a
 * half-open TCP connection (a machine gone without a reset). Its default, 10 s, opened a stream
 * and wrote the peer store per connection and ping, a third of an idle worker's CPU; membership's
 * own probes already find a dead member within seconds, so a stale connection may now linger up
 * to a minute before a returning peer's frames take its new one. */
const CONNECTION_PING_INTERVAL_MS = 60_000

/** Says yes for a key at most once per interval; forgets everything past `maxKeys`. */
class OncePerInterval {
  private readonly lastMs = new Map<string, number>()
  constructor(
    private readonly intervalMs: number,
    private readonly maxKeys = 1000,
  ) {}

  shouldLog(remoteAddr: string): boolean {
    // An inbound address carries the peer's ephemeral port: key by IP.
    const key = remoteAddr.split('/').slice(0, 3).join('/')
    const nowMs = Date.now()
    if (nowMs - (this.lastMs.get(key) ?? -Infinity) < this.intervalMs) return false
    if (this.lastMs.size >= this.maxKeys) this.lastMs.clear()
    this.lastMs.set(key, nowMs)
    return true
  }
}

export interface P2PHostInit {
  privateKey: PrivateKey
  listen: string[]
  logger: Logger
  /** The only gossipsub topics peers may announce or publish on; each is scored (gossip-options.ts). */
  topics: readonly string[]
  /** The cluster key (pnet's format, checked by cluster-key.ts): the node joins that private
   * network and completes connections only with peers holding the same key. */
  clusterKey?: Uint8Array
  /** Called for each connection refused or cut, for metrics. */
  onPeerRefused?: (reason: PeerRefusalReason) => void
  /** Called with how many topic announcements and messages one gossip RPC carried for topics
   * outside `topics`, for metrics: gossipsub drops them without a trace. */
  onForeignTopics?: (count: number) => void
}

/** The request never left this node (no stream could be opened): sending it again is safe. */
export class RequestNotSentError extends Error {}

export interface RequestOptions {
  timeoutMs: number
  maxResponseBytes: number
}

export type RequestHandler = (fromPeerId: string, request: Uint8Array) => Promise<Uint8Array>
export type GossipHandler = (authorPeerId: string, data: Uint8Array) => void
/** accept: deliver and forward; ignore: drop quietly; reject: drop and penalise the sender. */
export type GossipVerdict = 'accept' | 'ignore' | 'reject'
export type GossipValidator = (authorPeerId: string, data: Uint8Array) => GossipVerdict
const VERDICTS = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
} as const

export interface FrameChannelLimits {
  /** Largest frame accepted from a peer. */
  maxFrameBytes: number
  /** Bytes queued for a peer whose stream is still opening (or slow) before new frames are
   * dropped: the protocols using channels retry what matters, so dropping beats buffering.
   * A frame larger than this is still sent when nothing else is queued. */
  maxQueuedBytes: number
  dialTimeoutMs: number
  /** After a failed dial, frames to that peer are dropped for this long instead of redialling
   * on every frame (a leader sends to a dead peer 20 times a second). */
  redialBackoffMs: number
}

export type FrameHandler = (fromPeerId: string, frame: Uint8Array) => void

/** One long-lived outbound stream per (peer, protocol): per-message streams cost ~10x the
 * latency (measured: p50 1.5-1.9 ms vs 0.17-0.19 ms on loopback). */
interface OutboundChannel {
  queue: FrameQueue
}

export class P2PHost {
  private readonly log: Logger
  private readonly channels = new Map<string, OutboundChannel>()
  /** (peer, protocol) → time before which no new channel is opened, after a failed dial. */
  private readonly channelBackoffUntilMs = new Map<string, number>()
  private readonly channelClosedHandlers: Array<(peerId: string, protocol: string, opened: boolean) => void> = []
  private constructor(
    private readonly node: Libp2p<{ pubsub: PubSub }>,
    private readonly topics: ReadonlySet<string>,
    logger: Logger,
    private readonly onPeerRefused: (reason: PeerRefusalReason) => void,
    onForeignTopics: (count: number) => void,
  ) {
    this.log = logger
    this.countForeignTopics(onForeignTopics)
    // gossipsub only ignores a graylisted peer; cutting the connection also stops its other
    // streams (rpc, raft), and the gater refuses it while its penalty stays (see create()).
    this.gossipsub.addEventListener('gossipsub:heartbeat', () => {
      this.disconnectInvalidSenders()
    })
    // A channel whose connection is gone may never notice (a sink waiting for its next frame is
    // not always aborted): end the peer's channels when its last connection closes, so the next
    // frame opens a fresh stream instead of vanishing into a dead one.
    node.addEventListener('peer:disconnect', evt => {
      this.endChannels(evt.detail.toString())
    })
  }

  static async create(init: P2PHostInit): Promise<P2PHost> {
    const onPeerRefused = init.onPeerRefused ?? (() => {})
    const refusalLog = new OncePerInterval(REFUSAL_LOG_INTERVAL_MS)
    // The gater runs before the host exists; it reads the penalty through this reference.
    let banned = (_peer: PeerId): boolean => false
    const node = await createLibp2p({
      privateKey: init.privateKey,
      addresses: { listen: init.listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionProtector: connectionProtector(init.clusterKey, (remoteAddr, why) => {
        // A node with another key (or none), or a scanner: said once a minute per address at
        // info (a reconnecting node would fill the log), never a crash.
        const level = refusalLog.shouldLog(remoteAddr) ? 'info' : 'debug'
        init.logger[level]({ remoteAddr, why }, 'connection refused: peer not in the same private network')
        onPeerRefused('private_network')
      }),
      connectionManager: { allow: LOOPBACK_ALLOW },
      connectionMonitor: { pingInterval: CONNECTION_PING_INTERVAL_MS },
      connectionGater: {
        denyDialPeer: async peer => banned(peer),
        denyInboundEncryptedConnection: async peer => banned(peer),
      },
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub(gossipsubOptions(init.topics)) as unknown as () => PubSub,
      },
    })
    const host = new P2PHost(node, new Set(init.topics), init.logger, onPeerRefused, init.onForeignTopics ?? (() => {}))
    banned = peer => {
      if (host.invalidGossipPenalty(peer.toString()) >= GOSSIP_SCORE_THRESHOLDS.graylistThreshold) return false
      onPeerRefused('gossip_score')
      return true
    }
    return host
  }

  /** gossipsub is typed as generic PubSub; its scores and tables need the concrete class. */
  private get gossipsub(): GossipSub {
    return this.node.services.pubsub as unknown as GossipSub
  }

  /** This node's gossipsub score of a peer (0 for one it knows nothing about). */
  gossipScore(peerId: string): number {
    return this.gossipsub.getScore(peerId)
  }

  /** How many topics gossipsub tracks remote subscribers for (read-only, for checking that
   * peers announcing other topics cannot grow it). */
  gossipTopicCount(): number {
    return (this.gossipsub as unknown as { topics: Map<string, Set<string>> }).topics.size
  }

  /** Peers in our mesh for `topic` (those we forward full messages to). */
  meshPeers(topic: string): string[] {
    return this.gossipsub.getMeshPeers(topic)
  }

  /** What the invalid messages `peerId` delivered cost its gossip score (0 or negative). */
  invalidGossipPenalty(peerId: string): number {
    return invalidDeliveryPenalty(this.gossipsub.dumpPeerScoreStats()[peerId])
  }

  /** Counts what each gossip RPC carries for topics outside ours before gossipsub drops it, so a
   * peer announcing endless topics shows in the rejection counters. */
  private countForeignTopics(onForeignTopics: (count: number) => void): void {
    const gossipsub = this.gossipsub
    const handle = gossipsub.handleReceivedRpc.bind(gossipsub)
    gossipsub.handleReceivedRpc = async (from, rpc) => {
      let foreign = 0
      for (const sub of rpc.subscriptions) if (sub.topic != null && !this.topics.has(sub.topic)) foreign++
      for (const msg of rpc.messages) if (!this.topics.has(msg.topic)) foreign++
      if (foreign > 0) onForeignTopics(foreign)
      await handle(from, rpc)
    }
  }

  private disconnectInvalidSenders(): void {
    const stats = this.gossipsub.dumpPeerScoreStats()
    for (const peer of this.node.getPeers()) {
      const penalty = invalidDeliveryPenalty(stats[peer.toString()])
      if (penalty >= GOSSIP_SCORE_THRESHOLDS.graylistThreshold) continue
      this.log.warn({ peer: peer.toString(), penalty }, 'disconnecting a peer that sent invalid gossip')
      this.onPeerRefused('gossip_score')
      this.node.hangUp(peer).catch((err: unknown) => {
        this.log.debug({ peer: peer.toString(), err: (err as Error).message }, 'hang up failed')
      })
    }
  }

  get peerId(): string {
    return this.node.peerId.toString()
  }

  /** Listen addresses including /p2p/<id>, ready to hand to another node. */
  multiaddrs(): string[] {
    return this.node.getMultiaddrs().map(ma => ma.toString())
  }

  connectedPeers(): string[] {
    return this.node.getPeers().map(p => p.toString())
  }

  onPeerDisconnect(cb: (peerId: string) => void): void {
    this.node.addEventListener('peer:disconnect', evt => {
      cb(evt.detail.toString())
    })
  }

  /** Records where `peerId` listens, so frames and requests addressed to it by id can dial it. */
  async rememberAddrs(peerId: string, addrs: string[]): Promise<void> {
    const multiaddrs = addrs.flatMap(a => {
      try {
        return [multiaddr(a)]
      } catch {
        return []
      }
    })
    if (multiaddrs.length === 0) return
    await this.node.peerStore.merge(peerIdFromString(peerId), { multiaddrs })
  }

  /** When the oldest open connection to `peerId` was opened (epoch ms), or null if none is open. */
  connectedSinceMs(peerId: string): number | null {
    const conns = this.node.getConnections(peerIdFromString(peerId))
    if (conns.length === 0) return null
    return Math.min(...conns.map(c => c.timeline.open))
  }

  /** Closes every connection to `peerId` (it may dial again). */
  async hangUp(peerId: string): Promise<void> {
    await this.node.hangUp(peerIdFromString(peerId))
  }

  /** Dials a peer by its multiaddrs (each with /p2p/<id>); resolves to its peer id. */
  async dial(addrs: string[], timeoutMs: number): Promise<string> {
    const conn = await this.node.dial(
      addrs.map(a => multiaddr(a)),
      { signal: AbortSignal.timeout(timeoutMs) },
    )
    return conn.remotePeer.toString()
  }

  subscribe(topic: string, validate: GossipValidator, handler: GossipHandler): void {
    // gossipsub would subscribe, but drop every message on a topic outside allowedTopics.
    if (!this.topics.has(topic)) throw new Error(`gossip topic ${topic} is not among this host's topics`)
    const pubsub = this.node.services.pubsub
    // The validator's first argument is the peer that *forwarded* the message; the author is the
    // signer. Judging by the forwarder would reject every relayed message and get honest relays
    // penalised and pruned from the mesh.
    pubsub.topicValidators.set(topic, (_forwarder, msg) => {
      if (msg.type !== 'signed') return TopicValidatorResult.Reject
      return VERDICTS[validate(msg.from.toString(), msg.data)]
    })
    pubsub.addEventListener('message', evt => {
      const msg: Message = evt.detail
      if (msg.topic !== topic || msg.type !== 'signed') return
      handler(msg.from.toString(), msg.data)
    })
    pubsub.subscribe(topic)
  }

  /** Called when a peer announces that it subscribed to `topic`: the first moment a message
   * published there can reach it. */
  onTopicPeer(topic: string, cb: (peerId: string) => void): void {
    this.node.services.pubsub.addEventListener('subscription-change', evt => {
      if (evt.detail.subscriptions.some(s => s.topic === topic && s.subscribe)) cb(evt.detail.peerId.toString())
    })
  }

  /** Peers known to be subscribed to `topic`. */
  topicPeers(topic: string): string[] {
    return this.node.services.pubsub.getSubscribers(topic).map(p => p.toString())
  }

  /** Best effort: a failed publish is logged; the next heartbeat repairs it. */
  async publish(topic: string, data: Uint8Array): Promise<void> {
    try {
      await this.node.services.pubsub.publish(topic, data)
    } catch (err) {
      this.log.debug({ err, topic }, 'publish failed')
    }
  }

  /** Serves one length-prefixed request frame with one response frame per stream. A peer that
   * does not finish its request within `timeoutMs` has its stream aborted, so an idle or slow
   * peer cannot pin streams open. */
  async handle(
    protocol: string,
    limits: { maxRequestBytes: number; timeoutMs: number },
    handler: RequestHandler,
  ): Promise<void> {
    await this.node.handle(protocol, ({ stream, connection }) => {
      const from = connection.remotePeer.toString()
      const timer = setTimeout(() => {
        stream.abort(new Error(`${protocol}: request not completed within ${limits.timeoutMs} ms`))
      }, limits.timeoutMs)
      pipe(
        stream,
        source => lp.decode(source, { maxDataLength: limits.maxRequestBytes }),
        async function* (source) {
          for await (const frame of source) {
            yield await handler(from, frame.subarray())
            return
          }
        },
        encodeFrames,
        stream,
      )
        .catch(err => {
          this.log.debug({ err, protocol, peer: from }, 'request handling failed')
          stream.abort(err as Error)
        })
        .finally(() => {
          clearTimeout(timer)
        })
    })
  }

  /** Sends one request frame to a peer (id or full multiaddr) and returns its one response frame. */
  async request(target: string, protocol: string, request: Uint8Array, opts: RequestOptions): Promise<Uint8Array> {
    const signal = AbortSignal.timeout(opts.timeoutMs)
    const peer = target.startsWith('/') ? multiaddr(target) : peerIdFromString(target)
    let stream
    try {
      // Optimistic protocol selection: the protocol name travels with the request instead of a
      // round trip of its own before it (a peer that does not speak it fails the read below).
      stream = await this.node.dialProtocol(peer, protocol, { signal, negotiateFully: false })
    } catch (err) {
      throw new RequestNotSentError(`${protocol}: cannot open a stream to ${target}: ${(err as Error).message}`)
    }
    // The signal bounds the dial; this bounds the exchange too, so a frozen peer cannot hang us.
    const onTimeout = (): void => {
      stream.abort(new Error(`${protocol}: no answer within ${opts.timeoutMs} ms`))
    }
    signal.addEventListener('abort', onTimeout, { once: true })
    try {
      return await pipe(
        [request],
        encodeFrames,
        stream,
        source => lp.decode(source, { maxDataLength: opts.maxResponseBytes }),
        async source => {
          for await (const frame of source) return frame.subarray()
          throw new Error(`${protocol}: peer closed the stream without answering`)
        },
      )
    } catch (err) {
      stream.abort(err as Error)
      throw err
    } finally {
      signal.removeEventListener('abort', onTimeout)
      if (stream.status === 'open') await stream.close().catch(() => {})
    }
  }

  /** Receives frames sent with sendFrame(): every inbound stream of `protocol` is read until it
   * closes. A frame over the limit ends that stream (the sender reopens on its next frame). */
  async handleFrames(protocol: string, maxFrameBytes: number, onFrame: FrameHandler): Promise<void> {
    await this.node.handle(
      protocol,
      ({ stream, connection }) => {
        const from = connection.remotePeer.toString()
        pipe(
          stream,
          source => lp.decode(source, { maxDataLength: maxFrameBytes }),
          async source => {
            for await (const frame of source) onFrame(from, frame.subarray())
          },
        ).catch(err => {
          this.log.debug({ err: (err as Error).message, protocol, peer: from }, 'frame stream ended with an error')
          stream.abort(err as Error)
        })
      },
      { maxInboundStreams: 4 },
    )
  }

  /** Called when an outbound frame channel ends: frames queued on it may or may not have been
   * delivered (`opened` false: the stream never opened, so none was). */
  onChannelClosed(handler: (peerId: string, protocol: string, opened: boolean) => void): void {
    this.channelClosedHandlers.push(handler)
  }

  private endChannels(peerId: string): void {
    for (const [key, channel] of this.channels) {
      if (!key.startsWith(`${peerId} `)) continue
      this.channels.delete(key)
      channel.queue.end()
    }
  }

  private channelClosed(peerId: string, protocol: string, opened: boolean): void {
    for (const handler of this.channelClosedHandlers) handler(peerId, protocol, opened)
  }

  /** Fire and forget: queues `frame` on the long-lived stream to `peerId`, opening it if needed.
   * Frames are dropped (and logged at debug) when the peer is unreachable or the queue is full;
   * the result says whether it was queued (queued is not delivered: the stream may still fail). */
  sendFrame(peerId: string, protocol: string, frame: Uint8Array, limits: FrameChannelLimits): boolean {
    if (frame.byteLength > limits.maxFrameBytes) {
      // The peer would refuse it and close the stream, losing the frames queued behind it.
      this.log.warn(
        { peer: peerId, protocol, bytes: frame.byteLength, limit: limits.maxFrameBytes },
        'frame over the protocol limit; not sent',
      )
      return false
    }
    const key = `${peerId} ${protocol}`
    let channel = this.channels.get(key)
    if (channel == null) {
      if (Date.now() < (this.channelBackoffUntilMs.get(key) ?? 0)) return false
      this.channelBackoffUntilMs.delete(key)
      const opened: OutboundChannel = { queue: new FrameQueue() }
      channel = opened
      this.channels.set(key, opened)
      void this.openChannel(key, peerId, protocol, opened, limits)
    }
    const queuedBytes = channel.queue.queuedBytes
    if (queuedBytes > 0 && queuedBytes + frame.byteLength > limits.maxQueuedBytes) {
      this.log.debug({ peer: peerId, protocol }, 'frame queue full; dropping frame')
      return false
    }
    channel.queue.push(frame)
    return true
  }

  private async openChannel(
    key: string,
    peerId: string,
    protocol: string,
    channel: OutboundChannel,
    limits: FrameChannelLimits,
  ): Promise<void> {
    let stream
    try {
      stream = await this.node.dialProtocol(peerIdFromString(peerId), protocol, {
        signal: AbortSignal.timeout(limits.dialTimeoutMs),
      })
    } catch (err) {
      this.channelBackoffUntilMs.set(key, Date.now() + limits.redialBackoffMs)
      this.log.debug({ peer: peerId, protocol, err: (err as Error).message }, 'frame channel dial failed; backing off')
      if (this.channels.get(key) === channel) this.channels.delete(key)
      channel.queue.end()
      this.channelClosed(peerId, protocol, false)
      return
    }
    try {
      await stream.sink(channel.queue)
    } catch (err) {
      this.log.debug({ peer: peerId, protocol, err: (err as Error).message }, 'frame channel closed')
    } finally {
      // The next frame opens a fresh stream; whatever was queued here is lost, by design.
      if (this.channels.get(key) === channel) this.channels.delete(key)
      channel.queue.end()
      this.channelClosed(peerId, protocol, true)
    }
  }

  async stop(): Promise<void> {
    for (const channel of this.channels.values()) channel.queue.end()
    this.channels.clear()
    await this.node.stop()
  }
}
