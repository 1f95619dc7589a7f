// A small, fast, seeded 32-bit string hash (FNV-1a with murmur3's finaliser): ring positions,
// bucket numbers and digest contributions must agree on every node, so they cannot use a
// per-process random hash.

export function hash32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  // Avalanche, so ids that differ in one character land far apart on a ring.
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
