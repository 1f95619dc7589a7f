// What the event stream (GET /v1/events) carries: one shape per topic, each event stamped with
// an id and a time by the hub (event-hub.ts). Clients and the HTTP layer take these types from here.
import type { MemberState } from '../gossip/member-state.js'
import type { TaskState } from '../tasks/task-table.js'
import type { RaftRoleView } from '../cluster/cluster-view-schema.js'

export const EVENT_TOPICS = ['members', 'leader', 'voters', 'tasks', 'drain'] as const
export type EventTopic = (typeof EVENT_TOPICS)[number]

/** A member's state as this node sees it changed; `joined` is the first time it heard of it. */
export interface MemberEventData {
  nodeId: string
  /** null while this node does not know the member's name. */
  name: string | null
  from: MemberState | null
  to: MemberState
  reason: string
}

/** This node learned of a leader (`elected`), or no longer knows one (`lost`). */
export interface LeaderEventData {
  leader: string | null
  name: string | null
  term: number
  /** This node's own role from then on. */
  role: RaftRoleView
}

/** A committed change of the Raft configuration (autopilot's or an operator's), one event per node
 * that entered or left a role; the lists are the configuration after it. */
export interface VoterEventData {
  nodeId: string
  name: string | null
  voters: string[]
  learners: string[]
}

/** A task changed state in this node's replica of the log. */
export interface TaskEventData {
  id: string
  from: TaskState | null
  to: TaskState
  /** The node it is assigned to or ran on (for a return to pending, the one it left); null
   * before it was ever placed. */
  node: string | null
  nodeName: string | null
  /** The attempt after the change: a return to pending starts the next one. */
  attempt: number
  /** Why it failed, was cancelled or went back to pending; null otherwise. */
  reason: string | null
  tenant: string
}

/** Progress of draining a node: no new placements, its running tasks finishing. */
export interface DrainEventData {
  nodeId: string
  name: string | null
  /** Tasks still running on the node. */
  running: number
  message: string | null
}

interface EventOf<T extends EventTopic, Type extends string, Data> {
  /** Monotonic per node: `<life>-<seq>`, where the life grows each time the node starts. */
  id: string
  /** ISO-8601, by this node's clock. */
  time: string
  topic: T
  type: Type
  data: Data
}

export type MemberEvent = EventOf<'members', 'joined' | MemberState, MemberEventData>
export type LeaderEvent = EventOf<'leader', 'elected' | 'lost', LeaderEventData>
export type VoterEvent = EventOf<
  'voters',
  'voter_added' | 'voter_removed' | 'learner_added' | 'learner_removed',
  VoterEventData
>
export type TaskEvent = EventOf<'tasks', TaskState, TaskEventData>
export type DrainEvent = EventOf<'drain', 'started' | 'progress' | 'drained' | 'undrained', DrainEventData>

export type MeshEvent = MemberEvent | LeaderEvent | VoterEvent | TaskEvent | DrainEvent

/** An event as published: the hub adds the id and the time. */
export type MeshEventInput = Unstamped<MeshEvent>
type Unstamped<E> = E extends MeshEvent ? Omit<E, 'id' | 'time'> : never

/** Why a subscriber must fetch the state afresh instead of relying on the events it got. */
export const RESYNC_REASONS = ['too_far_behind', 'node_restarted', 'unknown_id', 'slow_consumer'] as const
export type ResyncReason = (typeof RESYNC_REASONS)[number]

/** Sent as `event: resync`: events were missed. The stream goes on after `lastEventId` (also the
 * SSE id of the notice), unless the reason is slow_consumer, which ends the connection. */
export interface ResyncNotice {
  reason: ResyncReason
  message: string
  lastEventId: string
}
