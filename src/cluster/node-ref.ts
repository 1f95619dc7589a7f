// How an operator names a node (meshos drain NODE, leader transfer NODE, voters remove NODE): by
// its peer id, or by its name when exactly one known node has that name.
import type { MemberDirectory } from '../gossip/member-directory.js'
import { AmbiguousNodeError, NodeNotFoundError } from './errors.js'

export interface NamedNode {
  id: string
  name: string | null
}

/** This node and every member it knows (live or not, until forgotten). */
export function knownNodes(members: MemberDirectory): NamedNode[] {
  return [
    { id: members.selfInfo.nodeId, name: members.selfInfo.name },
    ...members.others().map(m => ({ id: m.record.info.nodeId, name: m.record.info.name })),
  ]
}

/** The id `ref` names among `nodes`: an exact peer id, else the one node with that name.
 * NodeNotFoundError when none matches, AmbiguousNodeError when several have the name. */
export function resolveNode(ref: string, nodes: readonly NamedNode[]): string {
  const exact = nodes.find(n => n.id === ref)
  if (exact !== undefined) return exact.id
  const named = nodes.filter(n => n.name === ref)
  if (named.length === 1) return named[0]!.id
  if (named.length > 1)
    throw new AmbiguousNodeError(
      `${named.length} nodes are named "${ref}": give the peer id of the one you mean (${named.map(n => n.id).join(', ')})`,
    )
  throw new NodeNotFoundError(
    `no node "${ref}" is known to this node: give a peer id or a node name (meshos nodes lists them)`,
  )
}
