import assert from 'node:assert/strict'
import * as lp from 'it-length-prefixed'
import { FrameQueue, encodeFrames, lengthPrefixed } from '../../src/p2p/frames.js'

const frame = (byte: number, length: number): Uint8Array => new Uint8Array(length).fill(byte)

/** What a receiver decodes from the chunks the stream was given. */
async function decodeAll(chunks: Uint8Array[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for (const f of lp.decode(chunks)) out.push(f.subarray())
  return out
}

describe('length-prefixed frames, one chunk each', function () {
  it('lengthPrefixed is the varint and the body in one array, as it-length-prefixed decodes it', async function () {
    for (const length of [0, 1, 127, 128, 70_000]) {
      const body = frame(7, length)
      const chunk = lengthPrefixed(body)
      assert.ok(chunk instanceof Uint8Array)
      assert.deepEqual(await decodeAll([chunk]), [body])
    }
  })

  it('encodeFrames yields exactly one chunk per frame', async function () {
    const frames = [frame(1, 3), frame(2, 200), frame(3, 0)]
    const chunks: Uint8Array[] = []
    for await (const chunk of encodeFrames(frames)) chunks.push(chunk)
    assert.equal(chunks.length, 3)
    assert.deepEqual(await decodeAll(chunks), frames)
  })

  it('FrameQueue joins the frames queued while the stream was busy into one chunk, in order', async function () {
    const q = new FrameQueue()
    const it = q[Symbol.asyncIterator]()
    q.push(frame(1, 10))
    const first = await it.next() // an idle queue gives its frame at once, alone
    q.push(frame(2, 20))
    q.push(frame(3, 30))
    q.push(frame(4, 40))
    assert.equal(q.queuedBytes, 21 + 31 + 41)
    const second = await it.next()
    assert.equal(q.queuedBytes, 0)
    assert.deepEqual(await decodeAll([first.value as Uint8Array]), [frame(1, 10)])
    assert.deepEqual(await decodeAll([second.value as Uint8Array]), [frame(2, 20), frame(3, 30), frame(4, 40)])
  })

  it('FrameQueue wakes a waiting reader, caps a batch at 64 KiB and still sends a bigger frame alone', async function () {
    const q = new FrameQueue()
    const it = q[Symbol.asyncIterator]()
    const pending = it.next()
    q.push(frame(9, 5))
    assert.deepEqual(await decodeAll([(await pending).value as Uint8Array]), [frame(9, 5)])

    for (let i = 0; i < 10; i++) q.push(frame(i, 10_000))
    q.push(frame(99, 100_000))
    const sizes: number[] = []
    const chunks: Uint8Array[] = []
    while (q.queuedBytes > 0) {
      const chunk = (await it.next()).value as Uint8Array
      sizes.push(chunk.byteLength)
      chunks.push(chunk)
    }
    assert.ok(
      sizes.every(size => size <= 64 * 1024 || size === lengthPrefixed(frame(99, 100_000)).byteLength),
      `chunk sizes ${sizes.join(',')}`,
    )
    assert.ok(sizes.length >= 3, `10 × 10 kB and one 100 kB frame need at least 3 chunks, got ${sizes.length}`)
    const decoded = await decodeAll(chunks)
    assert.deepEqual(
      decoded.map(f => f[0]),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99],
    )
  })

  it('FrameQueue.end() lets the reader drain what is queued, then ends; later pushes are dropped', async function () {
    const q = new FrameQueue()
    q.push(frame(1, 1))
    q.end()
    q.push(frame(2, 1))
    const chunks: Uint8Array[] = []
    for await (const chunk of q) chunks.push(chunk)
    assert.deepEqual(await decodeAll(chunks), [frame(1, 1)])

    const idle = new FrameQueue()
    const waiting = idle[Symbol.asyncIterator]().next()
    idle.end()
    assert.equal((await waiting).done, true)
  })
})
