// The capacity a member advertises, as the scheduler may use it. Heartbeats claiming more than a
// node may advertise are dropped on the wire (heartbeat.ts); this is the second fence, for any
// value that reached the table another way: a claim no machine can make is not trusted at all.
import { MEMBERSHIP_LIMITS } from './config.js'
import type { Resources } from '../util/resources.js'

const NOTHING: Resources = { cpus: 0, memoryMb: 0 }

/** True when `value` is a number a node may advertise for a resource bounded by `max`. */
function plausible(value: number, max: number): boolean {
  return Number.isFinite(value) && value >= 0 && value <= max
}

/** `capacity` when both of its resources are plausible, otherwise nothing: a node that claims
 * 1e300 cpus, or NaN, gets no task rather than a clamped share. */
export function usableCapacity(capacity: Resources): Resources {
  return plausible(capacity.cpus, MEMBERSHIP_LIMITS.maxCpus) &&
    plausible(capacity.memoryMb, MEMBERSHIP_LIMITS.maxMemoryMb)
    ? capacity
    : NOTHING
}
