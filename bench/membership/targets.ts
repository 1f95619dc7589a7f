// The membership targets (issue 2), and how each cluster size is judged against them.
import type { Judged } from '../lib/verdict.js'
import type { MembershipSizeResult } from './index.js'

export const MEMBERSHIP_TARGETS = {
  joinAt10Ms: 1000,
  deadAfterKillMs: 4000,
  idleRssMiB: 100,
}

export type MembershipTargets = typeof MEMBERSHIP_TARGETS

/** The join target, judged on the 10-node cluster (none when it was not measured). "From ready"
 * starts when the new node answers its API; "from spawn" adds the ~1 s a Node process takes to
 * load libp2p. Both are judged, so neither hides the other. */
export function judgeJoin(t: MembershipTargets, results: MembershipSizeResult[]): Judged[] {
  const at10 = results.find(r => r.nodes === 10)
  if (at10 == null) return []
  const join = (from: 'ready' | 'spawn', p99: number): Judged => ({
    target: `join visible everywhere ≤ ${t.joinAt10Ms} ms at 10 nodes, from ${from}`,
    value: p99,
    shown: `p99 ${p99} ms`,
    pass: p99 <= t.joinAt10Ms,
  })
  return [join('ready', at10.joinFromReadyMs.p99), join('spawn', at10.joinFromSpawnMs.p99)]
}

/** The targets every cluster size must meet. */
export function judgeSize(t: MembershipTargets, r: MembershipSizeResult): Judged[] {
  const dead = r.deadAfterKillMs.max
  const rss = r.idleRssMiB.max
  return [
    {
      target: `killed node dead ≤ ${t.deadAfterKillMs} ms`,
      value: dead,
      shown: `max ${dead} ms`,
      pass: dead <= t.deadAfterKillMs,
    },
    { target: `idle RSS ≤ ${t.idleRssMiB} MiB`, value: rss, shown: `max ${rss.toFixed(1)}`, pass: rss <= t.idleRssMiB },
  ]
}
