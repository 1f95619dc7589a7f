// Small builders shared by tests: a node's self-description and an in-process libp2p host.
import { pino } from 'pino'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { P2PHost, type PeerRefusalReason } from '../../src/p2p/host.js'
import type { NodeInfo } from '../../src/gossip/heartbeat.js'
import { MEMBERSHIP_TOPIC } from '../../src/gossip/membership.js'
import { runClusterKey } from '../../harness/cluster-key.js'

export function nodeInfo(nodeId: string, over: Partial<NodeInfo> = {}): NodeInfo {
  return {
    nodeId,
    name: nodeId,
    addrs: [`/ip4/127.0.0.1/tcp/1/p2p/${nodeId}`],
    incarnation: 1,
    seq: 1,
    capacity: { cpus: 2, memoryMb: 1024 },
    allocated: { cpus: 0, memoryMb: 0 },
    running: 0,
    load: 0,
    labels: {},
    version: 'test',
    startedAt: 1000,
    ...over,
  }
}

export interface LoopbackHostOptions {
  /** Default: the run's key, which agents started by the harness share; null: no key. */
  clusterKey?: Uint8Array | null
  /** Default: the membership topic. */
  topics?: string[]
  logLevel?: string
  onPeerRefused?: (reason: PeerRefusalReason) => void
}

/** A libp2p host with a fresh identity on an OS-assigned loopback port. */
export async function loopbackHost(opts: LoopbackHostOptions = {}): Promise<P2PHost> {
  const clusterKey = opts.clusterKey === undefined ? runClusterKey() : opts.clusterKey
  return await P2PHost.create({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    logger: pino({ level: opts.logLevel ?? process.env.DBG ?? 'silent' }),
    topics: opts.topics ?? [MEMBERSHIP_TOPIC],
    ...(clusterKey != null ? { clusterKey } : {}),
    ...(opts.onPeerRefused != null ? { onPeerRefused: opts.onPeerRefused } : {}),
  })
}
