// The client's text/event-stream parser (src/client/sse-parser.ts) against the rules of the HTML
// standard's event stream interpretation, and against any way the bytes may be split into chunks.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { SseParser, type SseMessage } from '../../src/client/sse-parser.js'

function parse(...chunks: string[]): { messages: SseMessage[]; parser: SseParser } {
  const parser = new SseParser()
  const messages = chunks.flatMap(c => parser.push(c))
  return { messages, parser }
}

describe('SSE parser', () => {
  it('reads id, event and data fields; a blank line dispatches; the event name defaults to message', () => {
    const { messages } = parse('id: 3-1\ndata: {"a":1}\n\nevent: resync\nid: 3-9\ndata: x\n\n')
    assert.deepEqual(messages, [
      { event: 'message', data: '{"a":1}', lastEventId: '3-1' },
      { event: 'resync', data: 'x', lastEventId: '3-9' },
    ])
  })

  it('joins data lines with newlines and strips one space after the colon only', () => {
    const { messages } = parse('data: one\ndata:two\ndata:  three\ndata\n\n')
    assert.deepEqual(
      messages.map(m => m.data),
      ['one\ntwo\n three\n'],
    )
  })

  it('accepts CRLF, CR and LF line ends, mixed', () => {
    const { messages } = parse('data: a\r\n\r\ndata: b\r\rdata: c\n\ndata: d\r\n\n')
    assert.deepEqual(
      messages.map(m => m.data),
      ['a', 'b', 'c', 'd'],
    )
  })

  it('treats a CR at the end of one chunk and an LF at the start of the next as one line end', () => {
    const { messages } = parse('data: a\r', '\n\r', '\ndata: b\r', '\r')
    assert.deepEqual(
      messages.map(m => m.data),
      ['a', 'b'],
    )
  })

  it('ignores comments (keep-alives), unknown fields and a retry that is not a number; keeps a valid retry', () => {
    const { messages, parser } = parse(': keep-alive\n\nfoo: bar\nretry: soon\n\nretry: 2000\ndata: x\n\n')
    assert.deepEqual(
      messages.map(m => m.data),
      ['x'],
    )
    assert.equal(parser.retryMs, 2000)
  })

  it('keeps the last id across messages, takes an id from a message without data, and ignores an id holding NUL', () => {
    const { messages, parser } = parse('id: 1-1\ndata: a\n\ndata: b\n\nid: 1-5\n\nid: 1-\u00006\ndata: c\n\n')
    assert.deepEqual(
      messages.map(m => [m.data, m.lastEventId]),
      [
        ['a', '1-1'],
        ['b', '1-1'],
        ['c', '1-5'],
      ],
    )
    assert.equal(parser.lastEventId, '1-5')
  })

  it('drops a byte-order mark at the very start, and a message left unfinished', () => {
    const { messages } = parse('\uFEFFdata: a\n\ndata: unfinished\n')
    assert.deepEqual(
      messages.map(m => m.data),
      ['a'],
    )
  })

  it('gives the same messages however the stream is split into chunks', () => {
    const line = fc.oneof(
      fc.constantFrom('', ': keep-alive', 'event: resync', 'retry: 5', 'data', 'id: 2-7'),
      fc.string({ unit: fc.constantFrom('a', 'é', ' ', ':', '{', '"') }).map(s => `data: ${s}`),
      fc.nat(99).map(n => `id: 1-${n}`),
    )
    const stream = fc
      .array(fc.tuple(line, fc.constantFrom('\n', '\r', '\r\n')), { maxLength: 40 })
      .map(lines => lines.map(([l, end]) => l + end).join(''))
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 10 }), (text, cuts) => {
        const points = [...new Set(cuts.map(c => c % (text.length + 1)))].sort((a, b) => a - b)
        const chunks: string[] = []
        let from = 0
        for (const p of points) {
          chunks.push(text.slice(from, p))
          from = p
        }
        chunks.push(text.slice(from))
        assert.deepEqual(parse(...chunks).messages, parse(text).messages)
        // One character at a time is the hardest split of all.
        assert.deepEqual(parse(...text).messages, parse(text).messages)
      }),
    )
  })
})
