// The failure detector's topology (after Rapid): K rings, each ordering the live members by a
// differently seeded hash of their id. On each ring a node's subject is its predecessor and its
// observer its successor, so every member is watched by at most K observers and every node
// watches at most K subjects. K pseudo-random rings form an expander, so the union of subjects and
// observers (at most 2K peers: the active view) is also a low-diameter overlay for dissemination.
import { hash32 } from './hash.js'

/** Ring positions are a pure function of the id; remembered, since every ring change and every
 * lookup needs them (and a simulation of thousands of nodes asks for the same ids everywhere). */
const positionCache = new Map<string, number[]>()
const POSITION_CACHE_MAX = 200_000

function positions(id: string, count: number): number[] {
  let p = positionCache.get(id)
  if (p === undefined || p.length < count) {
    if (positionCache.size >= POSITION_CACHE_MAX) positionCache.clear()
    p = Array.from({ length: count }, (_, seed) => hash32(id, seed + 1))
    positionCache.set(id, p)
  }
  return p
}

/** addAll sorts (hash, rank in id order) pairs packed into one float: hash * 2^21 + rank is exact
 * below 2^53, so a native numeric sort orders a whole ring without a comparator. */
const RANK_BITS = 2 ** 21

/** One ring: parallel sorted arrays (hash, then id to break ties). The hashes sit in a typed
 * array, 4 bytes each: a node holds K rings of every live member, thousands of them in a fleet. */
class Ring {
  hashes = new Uint32Array(16)
  ids: string[] = []

  get length(): number {
    return this.ids.length
  }

  /** Index of the first position not less than (hash, id). */
  lowerBound(hash: number, id: string): number {
    const hashes = this.hashes
    const ids = this.ids
    let lo = 0
    let hi = ids.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const h = hashes[mid]!
      if (h < hash || (h === hash && ids[mid]! < id)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  insert(hash: number, id: string): void {
    const i = this.lowerBound(hash, id)
    const n = this.ids.length
    if (n === this.hashes.length) {
      const grown = new Uint32Array(2 * n)
      grown.set(this.hashes)
      this.hashes = grown
    }
    this.hashes.copyWithin(i + 1, i, n)
    this.hashes[i] = hash
    this.ids.splice(i, 0, id)
  }

  delete(hash: number, id: string): void {
    const i = this.lowerBound(hash, id)
    if (this.ids[i] !== id) return
    this.hashes.copyWithin(i, i + 1, this.ids.length)
    this.ids.splice(i, 1)
  }

  /** Replaces the ring with `ids` (sorted by id, distinct) ordered by their positions `hashOf`. */
  rebuild(sortedIds: readonly string[], hashOf: (id: string) => number): void {
    const n = sortedIds.length
    const keys = new Float64Array(n)
    for (let rank = 0; rank < n; rank++) keys[rank] = hashOf(sortedIds[rank]!) * RANK_BITS + rank
    keys.sort()
    this.hashes = new Uint32Array(Math.max(16, n))
    const ids = new Array<string>(n)
    for (let i = 0; i < n; i++) {
      const key = keys[i]!
      const hash = Math.floor(key / RANK_BITS)
      this.hashes[i] = hash
      ids[i] = sortedIds[key - hash * RANK_BITS]!
    }
    this.ids = ids
  }
}

export class Rings {
  private readonly rings: Ring[]

  constructor(readonly count: number) {
    this.rings = Array.from({ length: count }, () => new Ring())
  }

  get size(): number {
    return this.rings[0]?.length ?? 0
  }

  has(id: string): boolean {
    const ring = this.rings[0]
    if (ring === undefined) return false
    return ring.ids[ring.lowerBound(positions(id, this.count)[0]!, id)] === id
  }

  add(id: string): void {
    if (this.has(id)) return
    const p = positions(id, this.count)
    this.rings.forEach((ring, seed) => {
      ring.insert(p[seed]!, id)
    })
  }

  /** Adds many ids at once: one sort per ring instead of an insertion each. */
  addAll(ids: Iterable<string>): void {
    const all = new Set(this.rings[0]?.ids ?? [])
    for (const id of ids) all.add(id)
    if (all.size >= RANK_BITS) {
      for (const id of all) this.add(id)
      return
    }
    // Code-unit order, as the rings break ties on hashes (a default sort compares strings so).
    const sorted = [...all].sort()
    this.rings.forEach((ring, seed) => {
      ring.rebuild(sorted, id => positions(id, this.count)[seed]!)
    })
  }

  remove(id: string): void {
    if (!this.has(id)) return
    const p = positions(id, this.count)
    this.rings.forEach((ring, seed) => {
      ring.delete(p[seed]!, id)
    })
  }

  /** The members `id` watches: its predecessor on each ring (distinct, never itself). `id` need
   * not be on the rings (a node always computes its own position). */
  subjectsOf(id: string): string[] {
    return this.neighbours(id, -1)
  }

  /** The members that watch `id`: its successor on each ring. */
  observersOf(id: string): string[] {
    return this.neighbours(id, +1)
  }

  private neighbours(id: string, direction: 1 | -1): string[] {
    const out: string[] = []
    const p = positions(id, this.count)
    this.rings.forEach((ring, seed) => {
      const n = ring.length
      if (n === 0) return
      let i = ring.lowerBound(p[seed]!, id)
      const onRing = ring.ids[i] === id
      i = direction === 1 ? (onRing ? i + 1 : i) : i - 1
      const candidate = ring.ids[((i % n) + n) % n]!
      if (candidate !== id && !out.includes(candidate)) out.push(candidate)
    })
    return out
  }
}
