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

/** One ring: parallel sorted arrays (hash, then id to break ties), compact for large tables. */
class Ring {
  readonly hashes: number[] = []
  readonly ids: string[] = []

  /** Index of the first position not less than (hash, id). */
  lowerBound(hash: number, id: string): number {
    let lo = 0
    let hi = this.hashes.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const h = this.hashes[mid]!
      if (h < hash || (h === hash && this.ids[mid]! < id)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  insert(hash: number, id: string): void {
    const i = this.lowerBound(hash, id)
    this.hashes.splice(i, 0, hash)
    this.ids.splice(i, 0, id)
  }

  /** Replaces the ring with these positions, sorted once (for loading a whole table). */
  rebuild(entries: Array<{ hash: number; id: string }>): void {
    entries.sort((a, b) => a.hash - b.hash || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    this.hashes.length = 0
    this.ids.length = 0
    for (const e of entries) {
      this.hashes.push(e.hash)
      this.ids.push(e.id)
    }
  }

  delete(hash: number, id: string): void {
    const i = this.lowerBound(hash, id)
    if (this.ids[i] !== id) return
    this.hashes.splice(i, 1)
    this.ids.splice(i, 1)
  }
}

export class Rings {
  private readonly rings: Ring[]
  private readonly members = new Set<string>()

  constructor(readonly count: number) {
    this.rings = Array.from({ length: count }, () => new Ring())
  }

  get size(): number {
    return this.members.size
  }

  has(id: string): boolean {
    return this.members.has(id)
  }

  add(id: string): void {
    if (this.members.has(id)) return
    this.members.add(id)
    const p = positions(id, this.count)
    this.rings.forEach((ring, seed) => {
      ring.insert(p[seed]!, id)
    })
  }

  /** Adds many ids at once: one sort per ring instead of an insertion each. */
  addAll(ids: Iterable<string>): void {
    for (const id of ids) this.members.add(id)
    this.rings.forEach((ring, seed) => {
      ring.rebuild([...this.members].map(id => ({ hash: positions(id, this.count)[seed]!, id })))
    })
  }

  remove(id: string): void {
    if (!this.members.delete(id)) return
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
      const n = ring.ids.length
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
