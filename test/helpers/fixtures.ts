// Small builders shared by tests: a node's self-description and an in-process libp2p host.
import { pino } from 'pino'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { P2PHost, type PeerRefusalReason } from '../../src/p2p/host.js'
import type { MemberInfo } from '../../src/gossip/core/types.js'
import type { MemberDirectory, MemberView } from '../../src/gossip/member-directory.js'
import type { MemberState } from '../../src/gossip/member-state.js'
import { MEMBERSHIP_TOPIC } from '../../src/gossip/membership.js'
import { runClusterKey } from '../../harness/cluster-key.js'

export function memberInfo(nodeId: string, over: Partial<MemberInfo> = {}): MemberInfo {
  return {
    nodeId,
    name: nodeId,
    addrs: [`/ip4/127.0.0.1/tcp/1/p2p/${nodeId}`],
    capacity: { cpus: 2, memoryMb: 1024 },
    labels: {},
    version: 'test',
    startedAt: 1000,
    ...over,
  }
}

/** A member as the directory shows it. */
export function memberView(info: MemberInfo, state: MemberState = 'alive', incarnation = 1): MemberView {
  return {
    record: { info, incarnation, seq: 0, signature: '' },
    state,
    stateIncarnation: incarnation,
    stateSinceMs: 0,
    lastSeenMs: 0,
  }
}

/** A fixed member directory: this node and the others as given. */
export function staticMembers(selfInfo: MemberInfo, others: MemberView[]): MemberDirectory {
  const byId = new Map(others.map(m => [m.record.info.nodeId, m]))
  return {
    selfInfo,
    get: id => byId.get(id),
    others: () => [...byId.values()],
    nameOf: id => (id === selfInfo.nodeId ? selfInfo.name : (byId.get(id)?.record.info.name ?? null)),
    isLiveMember: id => id === selfInfo.nodeId || byId.get(id)?.state === 'alive' || byId.get(id)?.state === 'suspect',
    liveCount: () => 1 + others.filter(m => m.state === 'alive' || m.state === 'suspect').length,
  }
}

export interface LoopbackHostOptions {
  /** Default: the run's key, which agents started by the harness share; null: no key. */
  clusterKey?: Uint8Array | null
  /** Default: the membership topic. */
  topics?: string[]
  logLevel?: string
  onPeerRefused?: (reason: PeerRefusalReason) => void
  onForeignTopics?: (count: number) => void
  /** Default: a fresh Ed25519 identity. */
  privateKey?: PrivateKey
}

/** A libp2p host with a fresh identity on an OS-assigned loopback port. */
export async function loopbackHost(opts: LoopbackHostOptions = {}): Promise<P2PHost> {
  const clusterKey = opts.clusterKey === undefined ? runClusterKey() : opts.clusterKey
  return await P2PHost.create({
    privateKey: opts.privateKey ?? (await generateKeyPair('Ed25519')),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    logger: pino({ level: opts.logLevel ?? process.env.DBG ?? 'silent' }),
    topics: opts.topics ?? [MEMBERSHIP_TOPIC],
    ...(clusterKey != null ? { clusterKey } : {}),
    ...(opts.onPeerRefused != null ? { onPeerRefused: opts.onPeerRefused } : {}),
    ...(opts.onForeignTopics != null ? { onForeignTopics: opts.onForeignTopics } : {}),
  })
}
