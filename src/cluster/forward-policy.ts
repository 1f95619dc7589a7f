// What another node may ask the leader to commit over /meshos/rpc: only what a node that is not
// the leader has reason to write. Submissions (without placements: the leader places them
// itself), cancellations, key-value writes, an operator's drains and undrains, and reports of the
// sender's own tasks. Assignments, lost tasks, expiries, evictions at a drain's deadline and the
// drained mark are the leader's own decisions and never come from a peer. A peer must
// also be a member the leader counts as alive or suspect.
import type { ClusterCommand } from './commands.js'

/** Why a forwarded write was refused: the `reason` label of the rejection counter. */
export type ForwardRefusal = 'not_member' | 'leader_only' | 'preassigned' | 'foreign_report'

export type ForwardVerdict = { ok: true } | { ok: false; reason: ForwardRefusal; message: string }

const ALLOWED: ForwardVerdict = { ok: true }

/** Pure: `isMember` says whether the leader's membership table counts `from` as alive or suspect. */
export function authorizeForward(
  from: string,
  command: ClusterCommand,
  isMember: (peerId: string) => boolean,
): ForwardVerdict {
  if (!isMember(from))
    return {
      ok: false,
      reason: 'not_member',
      message: `${from} is not a member this leader counts as alive or suspect (yet)`,
    }
  switch (command.type) {
    case 'kv.put':
    case 'kv.delete':
    case 'task.cancel':
    case 'node.drain':
    case 'node.undrain':
      return ALLOWED
    case 'task.submit':
      return command.term === undefined && command.tasks.every(t => t.assign === undefined)
        ? ALLOWED
        : {
            ok: false,
            reason: 'preassigned',
            message: 'task.submit: placements and their term are set by the leader, not by the submitting node',
          }
    case 'task.report':
      return command.node === from
        ? ALLOWED
        : {
            ok: false,
            reason: 'foreign_report',
            message: `task.report: ${from} may report only its own tasks, not those of ${command.node}`,
          }
    case 'task.assign':
    case 'task.lost':
    case 'task.expire':
    case 'task.evict':
    case 'node.drained':
      return { ok: false, reason: 'leader_only', message: `${command.type}: only the leader decides this` }
  }
}
