// The answers about this node and its members (GET /v1/status, /v1/nodes, the kv writes): zod
// schemas the API documents its answers with, and the types derived from them. Only schemas
// here, so the client's types do not reach the node's internals.
import { z } from 'zod'
import { RAFT_ROLE_VIEWS, type ClusterView } from '../cluster/cluster-view-schema.js'
import { MEMBER_STATES } from '../gossip/member-state.js'
import type { IsolationView } from '../executor/sandbox.js'
import type { SameType } from '../util/same-type.js'
import { drainViewSchema, type DrainView } from '../tasks/drain-table.js'
import type { LeaderTransferView } from '../cluster/cluster-view-schema.js'

export type { ClusterView, DrainView, IsolationView, LeaderTransferView }

export const isolationViewSchema = z
  .object({
    taskUser: z
      .string()
      .nullable()
      .describe("The user tasks run as; null when they run as the agent's own user (an agent that is not root)."),
    taskUid: z.number().int().describe("The uid tasks run as (the agent's own when taskUser is null)."),
    cgroups: z.enum(['v1', 'v2']).nullable(),
    memoryLimit: z
      .enum(['kernel', 'polling'])
      .describe("Who enforces memoryMb: the kernel (the attempt's cgroup) or the executor polling RSS."),
  })
  .describe('What keeps tasks away from the agent: their user, their cgroups, who enforces memory limits')
// The executor owns IsolationView (it runs in a process that loads no zod): the build stops if
// the schema no longer describes it.
const isolationMatches: SameType<z.infer<typeof isolationViewSchema>, IsolationView> = true
void isolationMatches

export const statusViewSchema = z
  .object({
    nodeId: z.string(),
    name: z.string(),
    version: z.string(),
    addrs: z.array(z.string()),
    uptimeMs: z.number(),
    role: z.enum(RAFT_ROLE_VIEWS).nullable(),
    leader: z.string().nullable(),
    term: z.number().int().nullable(),
    insecure: z.boolean().describe('Started with --insecure: no cluster key, yet reachable beyond loopback.'),
    isolation: isolationViewSchema,
  })
  .describe('This node: its identity, version, addresses, Raft role, leader and term')
export type StatusView = z.infer<typeof statusViewSchema>

const resourcesSchema = z.object({ cpus: z.number(), memoryMb: z.number() })

export const nodeViewSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    addrs: z.array(z.string()),
    state: z.enum(MEMBER_STATES),
    capacity: resourcesSchema,
    allocated: resourcesSchema,
    running: z.number().int().describe("Tasks assigned to or running on it, as this node's replica of the log says."),
    load: z
      .number()
      .nullable()
      .describe('One-minute load average: known for the node answering only (load is not gossiped).'),
    labels: z.record(z.string()),
    version: z.string(),
    incarnation: z.number().int(),
    startedAt: z
      .string()
      .nullable()
      .describe("ISO-8601; null if the node's start time is not one a date can hold (never 500 over it)."),
    lastSeenMs: z.number().describe('Milliseconds since this node last heard from that one (0 for itself).'),
    drain: drainViewSchema
      .nullable()
      .describe(
        'null unless an operator drains the node: no new placements while `draining` (what runs there finishes, or is re-queued at `deadlineAtMs`), nothing held once `drained`; times are epoch ms.',
      ),
    activeView: z
      .array(z.string())
      .describe(
        'Node ids it keeps membership connections to (its ring observers and subjects): exact for the ' +
          'answering node, implied by its member table for the others; empty when it is not live.',
      ),
  })
  .describe('A member as this node sees it: state, capacity, allocations, labels')
export type NodeView = z.infer<typeof nodeViewSchema>

export const nodeListSchema = z.object({ nodes: z.array(nodeViewSchema) }).describe('The members, by name')

export const kvPutAnswerSchema = z
  .object({ key: z.string(), value: z.string(), index: z.number().int(), term: z.number().int() })
  .describe('The write, committed at this log index and term')
export const kvDeleteAnswerSchema = z
  .object({ key: z.string(), index: z.number().int(), term: z.number().int() })
  .describe('The removal, committed at this log index and term')
export type KvPutAnswer = z.infer<typeof kvPutAnswerSchema>
export type KvDeleteAnswer = z.infer<typeof kvDeleteAnswerSchema>
