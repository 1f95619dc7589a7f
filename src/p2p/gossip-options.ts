// How this node runs gossipsub: tuned for small clusters of sub-kilobyte heartbeats, and hardened
// against a peer that holds the cluster key but misbehaves. Only the application's topics are
// tracked (a peer announcing endless topics cannot grow our state: CVE-2026-46679 in gossipsub's
// unbounded topic table), every RPC is bounded when it is decoded, and each topic is scored so
// that a peer delivering invalid messages is pruned from the mesh, then ignored and disconnected.
import type { GossipsubOpts } from '@chainsafe/libp2p-gossipsub'
import type { PeerScoreStatsDump, PeerScoreThresholds, TopicScoreParams } from '@chainsafe/libp2p-gossipsub/score'
import { toString as uint8ToString } from 'uint8arrays'

/** Loopback is exempt from gossipsub's IP-colocation penalty: a local cluster or test puts many
 * nodes behind 127.0.0.1, which that defence (right for the internet) would otherwise isolate. */
const LOOPBACK_IPS = ['127.0.0.1', '::1']

/** gossipsub's defaults, spelt out because tests and the disconnect rule rely on them. Below 0 a
 * peer leaves the mesh; below `gossipThreshold` we exchange no gossip with it, below
 * `publishThreshold` we publish nothing to it, below `graylistThreshold` we ignore everything it
 * sends. */
export const GOSSIP_SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 20,
}

/** Scoring of each application topic: only invalid deliveries count (P4: -20 x count², the count
 * decaying by 0.3% a second). One invalid message makes the sender's score negative (pruned from
 * the mesh, no gossip), three graylist it, and it stays graylisted for minutes. The delivery-rate
 * terms (P1-P3b) are off: a member heartbeats once a second, too sparse to judge by rate, and a
 * quiet honest member must not lose its mesh place. Honest peers never deliver what we reject:
 * they run the same validator before forwarding, and another wire version is ignored, not
 * rejected (src/gossip/membership.ts). */
const TOPIC_SCORE = {
  topicWeight: 1,
  timeInMeshWeight: 0,
  timeInMeshQuantum: 1000,
  firstMessageDeliveriesWeight: 0,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -20,
  invalidMessageDeliveriesDecay: 0.997,
} satisfies Partial<TopicScoreParams>

/** What a peer's invalid deliveries cost its score (P4 over all topics; 0 or negative). The host
 * disconnects a peer, and refuses it, while this is below the graylist threshold. The rest of the
 * score (IP colocation, broken gossip promises) only keeps a peer out of the mesh: honest nodes
 * behind one NAT address or on a slow link must stay connected for Raft and task traffic.
 * gossipsub keeps a disconnected peer's stats, undecayed, for an hour (its retainScore). */
export function invalidDeliveryPenalty(stats: PeerScoreStatsDump[string] | undefined): number {
  let penalty = 0
  for (const topic of Object.values(stats?.topics ?? {}))
    penalty +=
      TOPIC_SCORE.topicWeight * TOPIC_SCORE.invalidMessageDeliveriesWeight * topic.invalidMessageDeliveries ** 2
  return penalty
}

/** Far above what an honest meshos peer sends in one RPC (it announces one or two topics and a
 * few heartbeats); without limits a single 4 MiB RPC decodes into ~350,000 entries. */
const DECODE_RPC_LIMITS = {
  maxSubscriptions: 64,
  maxMessages: 1024,
  maxIhaveMessageIDs: 5000,
  maxIwantMessageIDs: 5000,
  maxIdontwantMessageIDs: 5000,
  maxControlMessages: 128,
  maxPeerInfos: 16,
}

/** A gossip RPC larger than this is not decoded (heartbeats are at most 16 KiB each). */
const MAX_INBOUND_RPC_BYTES = 1024 * 1024

export function gossipsubOptions(topics: readonly string[]): Partial<GossipsubOpts> {
  return {
    allowedTopics: new Set(topics),
    decodeRpcLimits: DECODE_RPC_LIMITS,
    maxInboundDataLength: MAX_INBOUND_RPC_BYTES,
    // Heartbeats are published from the first second, before any peer has subscribed.
    allowPublishToZeroTopicPeers: true,
    fallbackToFloodsub: false,
    // Every node gets each heartbeat from several mesh peers. Without a fast id gossipsub
    // verifies each copy's signature before noticing it is a duplicate (measured: ~3x the CPU
    // of a 10-node cluster). from+seqno is what identifies a signed message anyway, and an id is
    // cached only after its signature verified, so forgeries cannot poison it.
    fastMsgIdFn: msg =>
      msg.from != null && msg.seqno != null
        ? uint8ToString(msg.from, 'base64') + uint8ToString(msg.seqno, 'base64')
        : uint8ToString(msg.data ?? new Uint8Array(0), 'base64'),
    // IDONTWANT (gossipsub 1.2) pays off for large messages; for sub-kilobyte heartbeats the
    // control messages cost more than the duplicates they prevent.
    idontwantMinDataSize: 16384,
    scoreParams: {
      IPColocationFactorWhitelist: new Set(LOOPBACK_IPS),
      topics: Object.fromEntries(topics.map(topic => [topic, { ...TOPIC_SCORE } as TopicScoreParams])),
    },
    scoreThresholds: GOSSIP_SCORE_THRESHOLDS,
  }
}
