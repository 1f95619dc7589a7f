// An operator's drain and undrain of a node, as the HTTP API asks for them: the node is named by
// peer id or unique name as this node's membership knows it, and the change is a command in the
// replicated log (forwarded to the leader from any node), answered once committed.
import type { MemberDirectory } from '../gossip/member-directory.js'
import type { WritePath } from '../cluster/write-path.js'
import { NodeNotFoundError } from '../cluster/errors.js'
import { knownNodes, resolveNode } from '../cluster/node-ref.js'
import type { NodeView } from '../http/node-api.js'
import type { Clock } from '../util/clock.js'

export interface DrainRequestsInit {
  writes: WritePath
  members: MemberDirectory
  clock: Clock
  /** The node's view once the change is applied (where this node reads it). */
  view: (id: string) => Promise<NodeView | undefined>
}

export class DrainRequests {
  constructor(private readonly init: DrainRequestsInit) {}

  /** The deadline is counted from now, by this node's clock. */
  async drain(ref: string, deadlineSeconds: number | undefined): Promise<NodeView> {
    const { writes, clock } = this.init
    const node = this.resolve(ref)
    const at = clock.nowMs()
    const deadlineAtMs = deadlineSeconds === undefined ? null : at + Math.round(deadlineSeconds * 1000)
    // Applying it twice changes nothing more than once (the same deadline), so it may be resent.
    await writes.write({ type: 'node.drain', node, at, deadlineAtMs }, { idempotent: true })
    return await this.viewOf(node)
  }

  async undrain(ref: string): Promise<NodeView> {
    const node = this.resolve(ref)
    await this.init.writes.write({ type: 'node.undrain', node, at: this.init.clock.nowMs() }, { idempotent: true })
    return await this.viewOf(node)
  }

  private resolve(ref: string): string {
    return resolveNode(ref, knownNodes(this.init.members))
  }

  private async viewOf(id: string): Promise<NodeView> {
    const view = await this.init.view(id)
    if (view === undefined) throw new NodeNotFoundError(`node ${id} is no longer known to this node`)
    return view
  }
}
