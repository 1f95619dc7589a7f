// Checksummed record framing for append-only files, and the scan that tells a crash's torn tail
// apart from disk corruption.
//
// Frame layout (little endian):
//   [u32 payloadBytes][u32 crc32][payload: UTF-8 JSON, payloadBytes long]
// The crc32 covers the 4 length bytes and then the payload, so a flipped bit in the length is
// caught as well as one in the payload.
//
// Torn tail vs corruption. A crash mid-write (process killed, power lost before fsync completed)
// can only damage the bytes after the last fsync, i.e. the end of the file. So when the scan hits
// a bad frame it looks for any valid frame further on:
//   - none: the bad bytes are a torn tail; the caller truncates the file to the last good frame.
//   - one:  good data follows bad data, which a crash cannot produce — that is disk corruption
//           (or a bug), and we refuse to go on rather than silently drop or misread records.
//           (Assumes a power cut never persists a later part of one un-fsynced append without an
//           earlier part; appends on ext4/xfs in their default modes behave so. Were it violated,
//           the outcome is a refusal to open, never a silent loss.)
// The forward search tries every byte offset. It cannot be fooled by the inside of a torn JSON
// payload: JSON.stringify never emits a raw 0x00 byte, so any 4 payload bytes read as a length
// are >= 0x01010101 (16 MiB), which does not fit in a small torn tail; and even then the crc32
// and a JSON parse must both succeed by accident.
import { crc32 } from 'node:zlib'

export const RECORD_HEADER_BYTES = 8
/** Sanity bound: a length above this is a damaged header, not a record we could have written. */
export const MAX_RECORD_PAYLOAD_BYTES = 512 * 1024 * 1024

/** One frame: header plus JSON of `value`. Throws for values JSON cannot represent. */
export function encodeRecord(value: unknown): Buffer {
  const json = JSON.stringify(value)
  if (json === undefined) throw new TypeError('record value is not JSON-serializable')
  const payloadBytes = Buffer.byteLength(json, 'utf8')
  if (payloadBytes > MAX_RECORD_PAYLOAD_BYTES) {
    throw new RangeError(`record of ${payloadBytes} bytes exceeds the ${MAX_RECORD_PAYLOAD_BYTES}-byte limit`)
  }
  const frame = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payloadBytes)
  frame.writeUInt32LE(payloadBytes, 0)
  frame.write(json, RECORD_HEADER_BYTES, 'utf8')
  frame.writeUInt32LE(frameChecksum(frame, payloadBytes), 4)
  return frame
}

export interface ScannedRecord {
  /** Where the frame starts in the file. */
  offsetBytes: number
  /** The whole frame (header + payload), copied out of the file buffer. */
  frame: Buffer
  /** The parsed JSON payload. */
  value: unknown
}

export interface ScanResult {
  records: ScannedRecord[]
  /** Length of the good prefix: everything after it is a torn tail to truncate away. */
  validBytes: number
  /** Bytes after validBytes (0 when the file ended cleanly). */
  tornBytes: number
}

/** A damaged record that is not a torn tail. Names the file and byte offset. */
export class CorruptRecordError extends Error {
  constructor(
    readonly file: string,
    readonly offsetBytes: number,
    detail: string,
  ) {
    super(`corrupt record in ${file} at byte offset ${offsetBytes}: ${detail}`)
    this.name = 'CorruptRecordError'
  }
}

/** Reads every frame of `bytes` (the whole content of `file`, used in messages). */
export function scanRecords(bytes: Buffer, file: string): ScanResult {
  const records: ScannedRecord[] = []
  let offsetBytes = 0
  while (offsetBytes < bytes.length) {
    const frame = checkFrame(bytes, offsetBytes)
    if (!frame.ok) {
      const nextValid = findValidFrame(bytes, offsetBytes + 1)
      if (nextValid !== -1) {
        throw new CorruptRecordError(
          file,
          offsetBytes,
          `${frame.reason}, yet a valid record follows at byte offset ${nextValid}. ` +
            'A crash can only tear the end of the file, so this is disk corruption; refusing to open ' +
            "(restore this node's data from a peer or a backup)",
        )
      }
      return { records, validBytes: offsetBytes, tornBytes: bytes.length - offsetBytes }
    }
    const value = parseJson(frame.payload)
    if (value === undefined) {
      // The checksum matched, so these are exactly the bytes a writer produced: a bug, not a crash.
      throw new CorruptRecordError(file, offsetBytes, 'checksum is valid but the payload is not JSON')
    }
    const endBytes = offsetBytes + RECORD_HEADER_BYTES + frame.payload.length
    records.push({ offsetBytes, frame: Buffer.from(bytes.subarray(offsetBytes, endBytes)), value })
    offsetBytes = endBytes
  }
  return { records, validBytes: offsetBytes, tornBytes: 0 }
}

type FrameCheck = { ok: true; payload: Buffer } | { ok: false; reason: string }

function checkFrame(bytes: Buffer, offsetBytes: number): FrameCheck {
  const remainingBytes = bytes.length - offsetBytes
  if (remainingBytes < RECORD_HEADER_BYTES)
    return { ok: false, reason: `only ${remainingBytes} bytes left, a header needs ${RECORD_HEADER_BYTES}` }
  const payloadBytes = bytes.readUInt32LE(offsetBytes)
  if (payloadBytes === 0 || payloadBytes > MAX_RECORD_PAYLOAD_BYTES)
    return { ok: false, reason: `impossible payload length ${payloadBytes}` }
  if (payloadBytes > remainingBytes - RECORD_HEADER_BYTES)
    return { ok: false, reason: `payload length ${payloadBytes} runs past the end of the file` }
  const frame = bytes.subarray(offsetBytes, offsetBytes + RECORD_HEADER_BYTES + payloadBytes)
  if (frame.readUInt32LE(4) !== frameChecksum(frame, payloadBytes)) return { ok: false, reason: 'checksum mismatch' }
  return { ok: true, payload: frame.subarray(RECORD_HEADER_BYTES) }
}

/** Offset of the first frame at or after `fromBytes` whose checksum and JSON are valid, or -1. */
function findValidFrame(bytes: Buffer, fromBytes: number): number {
  for (let offsetBytes = fromBytes; offsetBytes + RECORD_HEADER_BYTES < bytes.length; offsetBytes++) {
    const frame = checkFrame(bytes, offsetBytes)
    if (frame.ok && parseJson(frame.payload) !== undefined) return offsetBytes
  }
  return -1
}

function frameChecksum(frame: Buffer, payloadBytes: number): number {
  const lengthCrc = crc32(frame.subarray(0, 4))
  return crc32(frame.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + payloadBytes), lengthCrc)
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8')) as unknown
  } catch {
    return undefined
  }
}
