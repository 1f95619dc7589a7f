// Prometheus metrics of one node. A registry per node (not prom-client's global one) so several
// nodes in one process — tests, simulations — keep separate counts.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'

export class NodeMetrics {
  readonly registry = new Registry()

  /** Wire messages refused before any code acted on them, by protocol and reason. */
  readonly wireRejected = new Counter({
    name: 'meshos_wire_messages_rejected_total',
    help: 'Wire messages dropped because they were oversized, not JSON, or failed their schema',
    labelNames: ['protocol', 'reason'] as const,
    registers: [this.registry]
  })

  readonly wireAccepted = new Counter({
    name: 'meshos_wire_messages_accepted_total',
    help: 'Wire messages that passed validation',
    labelNames: ['protocol'] as const,
    registers: [this.registry]
  })

  readonly members = new Gauge({
    name: 'meshos_members',
    help: 'Members of the cluster as this node sees them, by state (this node included)',
    labelNames: ['state'] as const,
    registers: [this.registry]
  })

  readonly memberTransitions = new Counter({
    name: 'meshos_member_transitions_total',
    help: 'Member state changes seen by this node',
    labelNames: ['to'] as const,
    registers: [this.registry]
  })

  constructor (collectProcessMetrics = true) {
    if (collectProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'meshos_' })
  }
}
