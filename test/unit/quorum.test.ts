import assert from 'node:assert/strict'
import { committedIndex, majority, quorumActive, voteResult } from '../../src/election/core/quorum.js'

describe('quorum', () => {
  it('majority(n) is the smallest strict majority', () => {
    const table: Array<[number, number]> = [
      [1, 1],
      [2, 2],
      [3, 2],
      [4, 3],
      [5, 3],
      [6, 4],
      [7, 4],
    ]
    for (const [n, expected] of table) assert.equal(majority(n), expected, `majority(${n})`)
  })

  it('voteResult counts only voters and knows when the outcome is decided', () => {
    const voters = ['a', 'b', 'c']
    const table: Array<[Record<string, boolean>, string]> = [
      [{}, 'pending'],
      [{ a: true }, 'pending'],
      [{ a: true, b: true }, 'won'],
      [{ a: true, b: false }, 'pending'],
      [{ a: false, b: false }, 'lost'],
      [{ a: true, b: false, c: false }, 'lost'],
      // Votes from non-voters (learners, strangers) do not count.
      [{ a: true, x: true, y: true }, 'pending'],
    ]
    for (const [votes, expected] of table) {
      assert.equal(voteResult(voters, votes), expected, JSON.stringify(votes))
      assert.equal(voteResult(voters, new Map(Object.entries(votes))), expected, `Map ${JSON.stringify(votes)}`)
    }
    assert.equal(voteResult(['a'], { a: true }), 'won')
    assert.equal(voteResult([], { a: true }), 'lost')
    assert.equal(voteResult(['a', 'b', 'c', 'd'], { a: true, b: true }), 'pending')
    assert.equal(voteResult(['a', 'b', 'c', 'd'], { a: true, b: true, c: false, d: false }), 'lost')
  })

  it('committedIndex is the highest index held by a majority', () => {
    const match = (table: Record<string, number>) => (id: string) => table[id] ?? 0
    assert.equal(committedIndex(['a'], match({ a: 7 })), 7)
    assert.equal(committedIndex(['a', 'b', 'c'], match({ a: 5, b: 3, c: 1 })), 3)
    assert.equal(committedIndex(['a', 'b', 'c'], match({ a: 5, b: 5, c: 1 })), 5)
    assert.equal(committedIndex(['a', 'b', 'c', 'd'], match({ a: 9, b: 8, c: 2, d: 1 })), 2)
    assert.equal(committedIndex(['a', 'b', 'c', 'd', 'e'], match({ a: 9, b: 8, c: 7, d: 1 })), 7)
    // Unknown voters count as holding nothing.
    assert.equal(committedIndex(['a', 'b', 'c'], match({ a: 4 })), 0)
    assert.equal(committedIndex([], match({})), 0)
  })

  it('quorumActive needs a majority of voters active', () => {
    const active = (ids: string[]) => (id: string) => ids.includes(id)
    assert.equal(quorumActive(['a', 'b', 'c'], active(['a', 'b'])), true)
    assert.equal(quorumActive(['a', 'b', 'c'], active(['a', 'x'])), false)
    assert.equal(quorumActive(['a', 'b', 'c', 'd'], active(['a', 'b'])), false)
    assert.equal(quorumActive([], active(['a'])), false)
  })
})
