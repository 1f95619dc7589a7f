// How a RaftNode reaches its peers, kept to the calls the driver needs so
// the libp2p adapter (/meshos/raft/2.0.0, /meshos/raft-config/1.0.0) and the
// in-memory test network are interchangeable. Delivery is best effort, like the network: Raft retries
// everything that matters (heartbeats, probes, snapshot resends), so a
// transport may drop, delay or reorder, but must never alter a message.

import type { NodeId, RaftMessage } from '../core/types.js'
import type { MessageEnvelope } from '../core/authorize.js'
import type { ConfigAnswer } from '../core/raft-gate.js'

/** Would the node take a message of this type, from this sender, at this term? */
export type MessageAdmission = (envelope: MessageEnvelope) => boolean

export interface RaftTransport {
  /** Fire and forget; `msg.to` names the peer. Must not throw for an unreachable peer. */
  send(msg: RaftMessage): void
  /**
   * Registers the one handler for messages addressed to this node (a later call replaces it).
   * `admit`, when given, is asked before the transport buffers the parts of a message that
   * arrives in chunks, so a sender the node would refuse cannot make it hold megabytes.
   */
  onMessage(handler: (msg: RaftMessage) => void, admit?: MessageAdmission): void
  /** Asks `target` (a node id, or an address naming one) which voters it knows (RaftGate).
   * Rejects when it cannot be reached in time or answers something invalid. */
  askConfig(target: string): Promise<ConfigAnswer>
  /** Registers how this node answers askConfig; `from` is the asker's authenticated id. */
  onConfigQuery(answer: (from: NodeId) => ConfigAnswer): void
  /** Registers a listener for the loss of every connection to a peer (a killed process closes
   * its sockets at once), so a follower need not wait out an election timeout to notice. */
  onPeerGone(listener: (peer: NodeId) => void): void
}

export interface MemoryNetworkStats {
  delivered: number
  dropped: number
}

interface Endpoint {
  handler: ((msg: RaftMessage) => void) | null
  configAnswer: ((from: NodeId) => ConfigAnswer) | null
  peerGone: Array<(peer: NodeId) => void>
}

/**
 * An in-process network for tests. Messages are copied through JSON (as the
 * wire would) and delivered on a later macrotask (setImmediate) so a send
 * never re-enters the sender, and timers still get to run between deliveries.
 * Reachability is checked both when a message is sent and when it arrives, so
 * a partition also cuts messages already in flight.
 */
export class MemoryNetwork {
  private readonly endpoints = new Map<NodeId, Endpoint>()
  private readonly crashed = new Set<NodeId>()
  /** Node id -> partition group; null when the network is whole. */
  private groups: Map<NodeId, number> | null = null
  private readonly counters: MemoryNetworkStats = { delivered: 0, dropped: 0 }

  /** The transport of node `id`. Joining again (a restart) replaces the old endpoint and un-crashes the node. */
  join(id: NodeId): RaftTransport {
    const endpoint: Endpoint = { handler: null, configAnswer: null, peerGone: [] }
    this.endpoints.set(id, endpoint)
    this.crashed.delete(id)
    return {
      send: msg => {
        // A stale endpoint (the node restarted since) is a dead process: it sends nothing.
        if (this.endpoints.get(id) === endpoint) this.deliverLater(msg)
      },
      onMessage: handler => {
        endpoint.handler = handler
      },
      askConfig: async target => await this.askConfig(id, target),
      onConfigQuery: answer => {
        endpoint.configAnswer = answer
      },
      onPeerGone: listener => {
        endpoint.peerGone.push(listener)
      },
    }
  }

  /** Messages to `id` are dropped (including those in flight) until it joins again; the others
   * hear that it is gone, as its closed connections would tell them. */
  crash(id: NodeId): void {
    this.crashed.add(id)
    setImmediate(() => {
      for (const [other, endpoint] of this.endpoints) {
        if (other === id || this.crashed.has(other)) continue
        for (const listener of endpoint.peerGone) listener(id)
      }
    })
  }

  /**
   * Splits the network: each group can talk only within itself, and every node
   * not listed forms one more group. Replaces any earlier partition.
   */
  partition(...groups: NodeId[][]): void {
    const map = new Map<NodeId, number>()
    groups.forEach((group, n) => {
      for (const id of group) map.set(id, n + 1)
    })
    this.groups = map
  }

  heal(): void {
    this.groups = null
  }

  get stats(): MemoryNetworkStats {
    return { ...this.counters }
  }

  private reachable(from: NodeId, to: NodeId): boolean {
    if (this.crashed.has(to)) return false
    if (this.groups === null) return true
    return (this.groups.get(from) ?? 0) === (this.groups.get(to) ?? 0)
  }

  private async askConfig(from: NodeId, target: NodeId): Promise<ConfigAnswer> {
    await new Promise(resolve => setImmediate(resolve))
    const answer = this.endpoints.get(target)?.configAnswer
    if (!answer || !this.reachable(from, target) || !this.reachable(target, from)) {
      throw new Error(`${target} cannot be reached from ${from}`)
    }
    return JSON.parse(JSON.stringify(answer(from))) as ConfigAnswer
  }

  private deliverLater(msg: RaftMessage): void {
    if (!this.reachable(msg.from, msg.to)) {
      this.counters.dropped++
      return
    }
    // Copy now: the sender's Ready shares objects with its live log.
    const copy = JSON.parse(JSON.stringify(msg)) as RaftMessage
    setImmediate(() => {
      const handler = this.endpoints.get(copy.to)?.handler
      if (!handler || !this.reachable(copy.from, copy.to)) {
        this.counters.dropped++
        return
      }
      this.counters.delivered++
      handler(copy)
    })
  }
}
