// How a node that holds the log answers the reads workers forward to it (cluster/read-rpc.ts):
// from its own replica, with the API's error codes, so a worker's HTTP answer is the one this node
// would give.
import { z } from 'zod'
import type { ReadAnswer, ReadQuestion } from '../cluster/read-rpc.js'
import type { Replica } from '../cluster/replica.js'
import { clusterView } from '../cluster/cluster-view.js'
import type { MemberDirectory } from '../gossip/member-directory.js'
import type { Placer } from '../tasks/placer.js'
import type { DrainTable, DrainView } from '../tasks/drain-table.js'
import type { Resources } from '../util/resources.js'
import type { TaskService } from '../tasks/task-service.js'
import { TASK_LIST_ORDERS } from '../tasks/task-view.js'
import { TASK_STATES } from '../tasks/task-table.js'
import { apiErrorOf } from '../http/errors.js'

const listQuery = z
  .object({
    state: z.enum(TASK_STATES as unknown as [string, ...string[]]).optional(),
    node: z.string().min(1).max(128).optional(),
    tenant: z.string().min(1).max(64).optional(),
    limit: z.number().int().min(1).max(1000),
    after: z.string().min(1).max(128).optional(),
    order: z.enum(TASK_LIST_ORDERS).optional(),
  })
  .strict()

export interface ReadSources {
  tasks: TaskService
  replica: Replica
  members: MemberDirectory
  placer: Placer
  tickMs: number
}

export async function answerRead(question: ReadQuestion, s: ReadSources): Promise<ReadAnswer> {
  try {
    return { ok: true, value: await value(question, s) }
  } catch (err) {
    const known = apiErrorOf(err)
    if (known === null) throw err
    return { ok: false, code: known.code, message: (err as Error).message }
  }
}

async function value(q: ReadQuestion, s: ReadSources): Promise<unknown> {
  switch (q.op) {
    case 'task':
      return await s.tasks.get(q.id)
    case 'tasks': {
      const query = listQuery.safeParse(q.query)
      if (!query.success) return { tasks: [], next: null, total: 0 }
      const { state, ...rest } = query.data
      return await s.tasks.list({
        ...rest,
        ...(state !== undefined ? { state: state as (typeof TASK_STATES)[number] } : {}),
      })
    }
    case 'logTarget':
      return await s.tasks.logTarget(q.id, q.attempt)
    case 'cluster':
      return clusterView(s.replica, s.members, s.tickMs)
    case 'kv':
      return { value: s.replica.state.get(q.key) }
    case 'kvList':
      return Object.fromEntries(s.replica.state.list().map(({ key, value }) => [key, value]))
    case 'held':
      return heldByNode(s.placer, s.replica.state.tasks.drains)
  }
}

/** What each node holds as the log says, and its drain (GET /v1/nodes on a worker asks for it). */
export interface NodeHolding {
  id: string
  allocated: Resources
  taskCount: number
  /** Absent in an answer from a leader of an earlier version. */
  drain?: DrainView | null
}

export function heldByNode(placer: Placer, drains: DrainTable): NodeHolding[] {
  return placer.schedulerNodes().map(n => {
    const drain = drains.get(n.id)
    return {
      id: n.id,
      allocated: n.allocated,
      taskCount: n.taskCount,
      drain: drain === undefined ? null : { ...drain },
    }
  })
}
