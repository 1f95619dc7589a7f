// patches/@chainsafe+libp2p-yamux+*.patch (applied by `npm ci` through patch-package) makes the
// receiver grant send credit once half its window is consumed, as go-yamux and rust-yamux do,
// instead of answering every data frame with a window update. This drives two real yamux muxers
// back to back and counts the window updates on the wire, so a missing or broken patch fails here
// rather than only showing up as a slower benchmark.
import assert from 'node:assert/strict'
import { yamux } from '@chainsafe/libp2p-yamux'
import { defaultLogger } from '@libp2p/logger'
import type { Stream } from '@libp2p/interface'
import { pipe } from 'it-pipe'

const HEADER_BYTES = 12
const TYPE_DATA = 0
const TYPE_WINDOW_UPDATE = 1

/** Counts yamux frames by type in a byte stream (header: version, type, flags u16, stream u32, length u32). */
class FrameCounter {
  private pending = new Uint8Array(0)
  plainWindowUpdates = 0
  windowCreditBytes = 0

  feed(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.pending.length + chunk.length)
    joined.set(this.pending)
    joined.set(chunk, this.pending.length)
    let offset = 0
    while (joined.length - offset >= HEADER_BYTES) {
      const view = new DataView(joined.buffer, joined.byteOffset + offset, HEADER_BYTES)
      const type = view.getUint8(1)
      const flags = view.getUint16(2)
      const length = view.getUint32(8)
      const frameBytes = HEADER_BYTES + (type === TYPE_DATA ? length : 0)
      if (joined.length - offset < frameBytes) break
      if (type === TYPE_WINDOW_UPDATE && flags === 0) {
        this.plainWindowUpdates++
        this.windowCreditBytes += length
      }
      offset += frameBytes
    }
    this.pending = joined.slice(offset)
  }
}

describe('yamux window updates (patched)', function () {
  it('sends 1,000 small messages and 1 MiB over one stream with window updates in bulk, not one per data frame', async function () {
    const factory = yamux()({ logger: defaultLogger() })
    let receivedBytes = 0
    let inbound: Stream | undefined
    const dialer = factory.createStreamMuxer({ direction: 'outbound' })
    const listener = factory.createStreamMuxer({
      direction: 'inbound',
      onIncomingStream: stream => {
        inbound = stream
        void (async () => {
          for await (const chunk of stream.source) receivedBytes += chunk.byteLength
        })()
      },
    })
    const backwards = new FrameCounter()
    void pipe(dialer.source, listener.sink)
    void pipe(
      listener.source,
      async function* (source) {
        for await (const chunk of source) {
          backwards.feed(chunk.subarray())
          yield chunk
        }
      },
      dialer.sink,
    )

    const stream = await dialer.newStream()
    const smallMessages = 1000
    const bigBytes = 1024 * 1024
    await stream.sink(
      (async function* () {
        for (let i = 0; i < smallMessages; i++) {
          yield new Uint8Array(100)
          // One data frame each: let the muxer send before the next message arrives.
          await new Promise(resolve => setImmediate(resolve))
        }
        for (let sent = 0; sent < bigBytes; sent += 16 * 1024) yield new Uint8Array(16 * 1024)
      })(),
    )
    const totalBytes = smallMessages * 100 + bigBytes
    const deadline = Date.now() + 10_000
    while (receivedBytes < totalBytes && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 5))
    assert.equal(receivedBytes, totalBytes, 'everything sent arrived (flow control still grants enough credit)')
    assert.ok(inbound !== undefined)

    // Unpatched, the listener answers each of the 1,000 small data frames (and each big one) with
    // an update; patched, it grants credit every half window (128 KiB at first, growing).
    assert.ok(backwards.plainWindowUpdates > 0, 'credit was granted at all')
    assert.ok(
      backwards.plainWindowUpdates <= 20,
      `window updates sent: ${backwards.plainWindowUpdates} for ${smallMessages} small and ${bigBytes / 16384} big data frames`,
    )
    await dialer.close()
    await listener.close()
  })
})
