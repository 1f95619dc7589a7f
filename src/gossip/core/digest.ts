// Digests for anti-entropy: the member table split into buckets by id, each bucket summarised by
// an order-independent sum of its members' hashes, so a digest is updated in O(1) when one member
// changes and two nodes find the buckets they disagree on without sending the table.
import type { MemberState } from '../member-state.js'
import { hash32 } from './hash.js'
import type { Digest } from './types.js'

const BUCKET_SEED = 0x5eed
const LANE_SEEDS = [11, 12] as const

export function bucketOf(nodeId: string, buckets: number): number {
  return hash32(nodeId, BUCKET_SEED) % buckets
}

/** One member's contribution: changes whenever its record or its state does. */
export function memberHash(
  nodeId: string,
  incarnation: number,
  seq: number,
  state: MemberState,
  stateIncarnation: number,
): Digest {
  const key = `${nodeId}|${incarnation}|${seq}|${state}|${stateIncarnation}`
  return [hash32(key, LANE_SEEDS[0]), hash32(key, LANE_SEEDS[1])]
}

export function sameDigest(a: Digest, b: Digest): boolean {
  return a[0] === b[0] && a[1] === b[1]
}

export class TableDigest {
  private readonly bucketSums: Digest[]
  private readonly total: Digest = [0, 0]

  constructor(readonly buckets: number) {
    this.bucketSums = Array.from({ length: buckets }, (): Digest => [0, 0])
  }

  add(nodeId: string, h: Digest): void {
    this.change(nodeId, h, 1)
  }

  remove(nodeId: string, h: Digest): void {
    this.change(nodeId, h, -1)
  }

  get root(): Digest {
    return [this.total[0], this.total[1]]
  }

  bucketDigests(): Digest[] {
    return this.bucketSums.map((d): Digest => [d[0], d[1]])
  }

  /** Bucket numbers whose digests differ from `theirs` (all of them if the lengths differ). */
  differingBuckets(theirs: readonly Digest[]): number[] {
    const out: number[] = []
    for (let i = 0; i < this.buckets; i++) {
      const t = theirs.length === this.buckets ? theirs[i] : undefined
      if (t === undefined || !sameDigest(this.bucketSums[i]!, t)) out.push(i)
    }
    return out
  }

  private change(nodeId: string, h: Digest, sign: 1 | -1): void {
    const b = this.bucketSums[bucketOf(nodeId, this.buckets)]!
    for (const lane of [0, 1] as const) {
      b[lane] = (b[lane] + sign * h[lane]) >>> 0
      this.total[lane] = (this.total[lane] + sign * h[lane]) >>> 0
    }
  }
}
