// Small builders shared by tests: a node's self-description and an in-process libp2p host.
import { pino } from 'pino'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { P2PHost } from '../../src/p2p/host.js'
import type { NodeInfo } from '../../src/gossip/heartbeat.js'

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

/** A libp2p host with a fresh identity on an OS-assigned loopback port. */
export async function loopbackHost(logLevel = process.env.DBG ?? 'silent'): Promise<P2PHost> {
  return await P2PHost.create({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    logger: pino({ level: logLevel }),
  })
}
