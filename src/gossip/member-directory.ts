// The members as the rest of the node reads them (scheduler, tasks, Raft's voter checks, the API):
// this node's view, read-only. Implemented by Membership over the membership core.
import type { Member } from './core/membership-core.js'
import type { MemberInfo } from './core/types.js'

export type MemberView = Readonly<Pick<Member, 'record' | 'state' | 'stateIncarnation' | 'stateSinceMs' | 'lastSeenMs'>>

export interface MemberDirectory {
  readonly selfInfo: MemberInfo
  get: (nodeId: string) => MemberView | undefined
  /** Every other member this node knows, live or not (until forgotten). */
  others: () => MemberView[]
  /** The display name of a node (this one included), or null if it is not known here. */
  nameOf: (nodeId: string) => string | null
  /** Alive or suspect here, or this node itself. */
  isLiveMember: (nodeId: string) => boolean
  /** Live members, this node included. */
  liveCount: () => number
}
