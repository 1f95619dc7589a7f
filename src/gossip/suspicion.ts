// The failure detector's formulas, as small pure functions (after hashicorp/memberlist's
// util.go suspicionTimeout and suspicion.go, and the Lifeguard paper).
import type { MembershipConfig } from './config.js'

/** Full suspicion timeout for a cluster of `clusterSize` live members: grows with log10(n)
 * because in a bigger cluster a refutation takes longer to reach everyone. */
export function suspicionTimeoutMs(cfg: MembershipConfig, clusterSize: number): number {
  const scale = Math.max(1, Math.log10(Math.max(1, clusterSize)))
  return Math.round(cfg.suspicionMult * scale * cfg.suspicionBaseMs)
}

/** Lifeguard's dynamic suspicion: each independent confirmation (another member suspecting the
 * same node) shortens the timeout logarithmically, down to suspicionMinFraction of the full
 * timeout once the expected number of confirmations arrived. With fewer than 3 members no one
 * else can confirm, so the full timeout applies. */
export function confirmedSuspicionTimeoutMs(cfg: MembershipConfig, clusterSize: number, confirmations: number): number {
  const maxMs = suspicionTimeoutMs(cfg, clusterSize)
  const expected = Math.min(cfg.suspicionMaxConfirmations, clusterSize - 2)
  if (expected < 1 || confirmations <= 0) return maxMs
  const minMs = maxMs * cfg.suspicionMinFraction
  const fraction = Math.log(Math.min(confirmations, expected) + 1) / Math.log(expected + 1)
  return Math.round(Math.max(minMs, maxMs - (maxMs - minMs) * fraction))
}
