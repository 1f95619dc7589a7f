// Durable storage of one Raft node: hard state (term, vote, commit), log entries, latest snapshot.
//
// Why not classic-level (LevelDB) or SQLite: both need a native build, our needs are tiny (append
// a few entries, occasionally cut a prefix or a suffix), and Raft's safety rests on fsync
// ordering we want to see and control ourselves: a vote or an appended entry must be on disk
// before the message that depends on it leaves the node.
//
// Layout of `dir`:
//   snapshot.rec        one checksummed record {kind:'snapshot'}; replaced atomically
//                       (write temp, fsync, rename, fsync dir). Absent until the first snapshot.
//   log-NNNNNNNNNN.wal  the current log segment: append-only checksummed records (record-file.ts)
//                       {kind:'entry'} | {kind:'truncate-from'} | {kind:'hard-state'}, replayed in
//                       order on open; the last hard-state record wins. Only the highest-numbered
//                       segment is live: compaction writes the next one atomically, then deletes
//                       the old one, and open() deletes any leftover older segment or *.tmp file.
//
// Why hard state lives in the log rather than in its own file: a save() carrying entries and a new
// hard state then costs one write and one fdatasync, instead of an extra temp file + fsync +
// rename + directory fsync. Entries are written before the hard state in the same append, so a
// torn tail can lose the hard state but never keep it while losing the entries before it.
//
// Durability: save() and compact() resolve only after fdatasync of the segment (plus fsync of the
// directory whenever a file was created or renamed), so the caller may send messages that depend
// on the saved state as soon as the promise resolves. One save() is one write + one fdatasync no
// matter how many entries it carries (group commit). Calls are queued and run one at a time.
//
// Failures: a failed write is cut back off the file (ftruncate to the last good size), so the
// store stays usable, e.g. after ENOSPC. A failed fsync, or a failure half-way through replacing a
// file, poisons the store: every later call rejects and the caller must reopen it. Retrying an
// fsync is not safe (the kernel may have dropped the dirty pages and cleared the error), and open()
// rereads what really is on disk.
//
// Not handled: two processes opening the same directory at once (the node owns its directory).
// Entry data goes through JSON: it must be JSON-serializable, and what comes back is the JSON form.
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fsyncDir, renameDurably, TEMP_SUFFIX, writeFullySync, writeTempFile } from './log-store-fs.js'
import { checkEntry, checkHardState, checkSnapshot, decodeLogRecord, encodeLogRecord } from './log-store-records.js'
import { CorruptRecordError, scanRecords } from './record-file.js'

export interface StoredEntry {
  term: number
  index: number
  type: 'normal' | 'config'
  /** JSON-serializable. */
  data: unknown
}

export interface StoredHardState {
  term: number
  vote: string | null
  commit: number
}

export interface StoredSnapshot {
  /** Index and term of the last entry the snapshot covers. */
  index: number
  term: number
  config: { voters: string[]; learners: string[] }
  data: unknown
}

export interface LoadedState {
  /** { term: 0, vote: null, commit: 0 } when none was ever saved. */
  hardState: StoredHardState
  snapshot: StoredSnapshot | null
  /** The entries after the snapshot, contiguous, starting at snapshot.index + 1 (or 1). */
  entries: StoredEntry[]
}

export interface SaveRequest {
  hardState?: StoredHardState
  /** Contiguous. If the first index is <= the last stored index, the stored suffix from that
   * index on is replaced (Raft conflict truncation). */
  entries?: StoredEntry[]
  /** A snapshot received from the leader; it supersedes the log up to its index. */
  snapshot?: StoredSnapshot
}

const SNAPSHOT_FILE = 'snapshot.rec'
const SEGMENT_FILE = /^log-(\d{10})\.wal$/
const EMPTY_HARD_STATE: StoredHardState = { term: 0, vote: null, commit: 0 }

function segmentFileName(seq: number): string {
  return `log-${String(seq).padStart(10, '0')}.wal`
}

/** An entry as kept in memory: its position plus the exact frame that was fsynced, so a compaction
 * copies those bytes rather than re-serializing objects the caller may have mutated since. */
interface HeldEntry {
  index: number
  term: number
  frame: Buffer
}

interface Segment {
  seq: number
  handle: FileHandle
  /** End of the last fully written record: where the next append goes. */
  sizeBytes: number
}

export class LogStore {
  /** Entries after the snapshot; held[0].index === snapshotIndex + 1 whenever held is non-empty. */
  private held: HeldEntry[]
  private hardState: StoredHardState
  private snapshotIndex: number
  /** Tail of the queue that runs operations one at a time. */
  private queue: Promise<unknown> = Promise.resolve()
  private failure: Error | null = null
  private closed = false

  private constructor(
    private readonly dir: string,
    private segment: Segment,
    private readonly initial: LoadedState,
    held: HeldEntry[],
    private snapshotFileBytes: number,
  ) {
    this.held = held
    this.hardState = { ...initial.hardState }
    this.snapshotIndex = initial.snapshot?.index ?? 0
  }

  /** Opens (creating if needed) the store in `dir`, repairing a torn tail left by a crash.
   * Rejects with a CorruptRecordError naming file and offset when the data is damaged. */
  static async open(dir: string): Promise<LogStore> {
    const root = resolve(dir)
    await makeDirDurably(root)
    await removeTempFiles(root)
    const stored = await readSnapshotFile(join(root, SNAPSHOT_FILE))
    const snapshot = stored?.snapshot ?? null
    const snapshotIndex = snapshot?.index ?? 0
    const seq = await pickSegment(root)
    const path = join(root, segmentFileName(seq))
    const replayed = replaySegment(await readFile(path), path)

    const firstIndex = replayed.entries[0]?.index
    if (firstIndex !== undefined && firstIndex > snapshotIndex + 1) {
      throw new Error(
        `${path}: the log starts at entry ${firstIndex} but the snapshot only covers up to ` +
          `entry ${snapshotIndex}; the entries in between are missing`,
      )
    }
    const kept = entriesAfterSnapshot(replayed.entries, snapshotIndex, snapshot?.term ?? 0)

    const handle = await open(path, 'r+')
    try {
      let sizeBytes = replayed.validBytes
      if (replayed.tornBytes > 0) {
        // A crash interrupted the last append; nothing in those bytes was ever acknowledged.
        await handle.truncate(sizeBytes)
        await handle.datasync()
      }
      if (kept.length === 0 && firstIndex !== undefined && firstIndex <= snapshotIndex) {
        // A crash between writing a snapshot and rewriting the segment, and the snapshot supersedes
        // every entry in it: record that, or entries appended from snapshotIndex + 1 on would be
        // replayed after stale ones. (When the snapshot's entry is in the log with its term, the
        // stale prefix is harmless: replay keeps dropping it, and the next compaction removes it.)
        const frame = encodeLogRecord({ kind: 'truncate-from', index: firstIndex })
        writeFullySync(handle, frame, sizeBytes)
        await handle.datasync()
        sizeBytes += frame.length
      }
      const initial: LoadedState = {
        hardState: replayed.hardState ?? { ...EMPTY_HARD_STATE },
        snapshot,
        entries: kept.map(loaded => loaded.entry),
      }
      const held = kept.map(({ index, term, frame }) => ({ index, term, frame }))
      return new LogStore(root, { seq, handle, sizeBytes }, initial, held, stored?.bytes ?? 0)
    } catch (err) {
      await handle.close().catch(() => {})
      throw err
    }
  }

  /** The file holding the latest snapshot, for messages that must name it. */
  get snapshotPath(): string {
    return join(this.dir, SNAPSHOT_FILE)
  }

  /** Size of the snapshot file; 0 while there is none. */
  get snapshotBytes(): number {
    return this.snapshotFileBytes
  }

  /** The state read from disk by open(); not updated by later saves. */
  loaded(): LoadedState {
    return this.initial
  }

  /** Persists, in this order: snapshot, entries, hard state. Durable once the promise resolves. */
  async save(request: SaveRequest): Promise<void> {
    // Validate and encode now: mutating the request after this call cannot change what is written.
    const prepared = prepareSave(request)
    return await this.serialize(async () => {
      await this.saveNow(prepared)
    })
  }

  /** Persists a snapshot the application took at `snapshot.index` (an entry this store holds, with
   * the same term) and drops the entries up to it from disk by rewriting the log segment. */
  async compact(snapshot: StoredSnapshot): Promise<void> {
    const checked = checkSnapshot(snapshot, 'compact()')
    const frame = encodeLogRecord({ kind: 'snapshot', snapshot: checked })
    return await this.serialize(async () => {
      this.assertUsable()
      if (checked.index <= this.snapshotIndex) {
        throw new Error(
          `compact(): the snapshot at ${checked.index} is not newer than the stored one at ${this.snapshotIndex}`,
        )
      }
      const position = checked.index - (this.snapshotIndex + 1)
      const atSnapshot = this.held[position]
      if (atSnapshot === undefined) {
        throw new Error(
          `compact(): the snapshot at ${checked.index} is beyond the last stored entry ${this.lastIndex()}`,
        )
      }
      if (atSnapshot.term !== checked.term) {
        throw new Error(
          `compact(): the snapshot at ${checked.index} has term ${checked.term} but the stored entry has term ${atSnapshot.term}`,
        )
      }
      await this.installSnapshot(frame, checked, this.held.slice(position + 1))
    })
  }

  /** Waits for queued operations, then closes the segment file. */
  async close(): Promise<void> {
    return await this.serialize(async () => {
      if (this.closed) return
      this.closed = true
      await this.segment.handle.close()
    })
  }

  private async saveNow(prepared: PreparedSave): Promise<void> {
    this.assertUsable()
    const { snapshot, entries, hardState } = prepared

    // Check everything against the state as it will be after the snapshot, before touching the
    // disk, so that a rejected request changes nothing.
    let baseHeld = this.held
    let baseSnapshotIndex = this.snapshotIndex
    if (snapshot !== undefined) {
      if (snapshot.value.index <= this.snapshotIndex) {
        throw new Error(
          `save(): the snapshot at ${snapshot.value.index} is not newer than the stored one at ${this.snapshotIndex}`,
        )
      }
      baseHeld = entriesAfterSnapshot(this.held, snapshot.value.index, snapshot.value.term)
      baseSnapshotIndex = snapshot.value.index
    }
    const firstIndex = entries[0]?.index
    if (firstIndex !== undefined) {
      const lastIndex = baseHeld.at(-1)?.index ?? baseSnapshotIndex
      if (firstIndex <= baseSnapshotIndex) {
        throw new Error(`save(): entry ${firstIndex} is already covered by the snapshot at ${baseSnapshotIndex}`)
      }
      if (firstIndex > lastIndex + 1) {
        throw new Error(`save(): entry ${firstIndex} would leave a gap after the last stored entry ${lastIndex}`)
      }
    }

    if (snapshot !== undefined) await this.installSnapshot(snapshot.frame, snapshot.value, baseHeld)

    const frames: Buffer[] = []
    let keptCount = this.held.length
    if (firstIndex !== undefined) {
      keptCount = firstIndex - (this.snapshotIndex + 1)
      if (keptCount < this.held.length) frames.push(encodeLogRecord({ kind: 'truncate-from', index: firstIndex }))
      for (const entry of entries) frames.push(entry.frame)
    }
    const hardStateChanged = hardState !== undefined && !sameHardState(hardState, this.hardState)
    if (hardStateChanged) frames.push(encodeLogRecord({ kind: 'hard-state', hardState }))
    if (frames.length === 0) return

    await this.appendDurably(frames.length === 1 ? frames[0] : Buffer.concat(frames))

    this.held.length = keptCount
    for (const entry of entries) this.held.push(entry)
    if (hardStateChanged) this.hardState = hardState
  }

  /** Writes the snapshot file, then replaces the segment with one holding `retained` entries. */
  private async installSnapshot(frame: Buffer, snapshot: StoredSnapshot, retained: HeldEntry[]): Promise<void> {
    // Failing here (e.g. ENOSPC) leaves every visible file untouched: the store stays usable.
    const tempPath = await writeTempFile(this.dir, SNAPSHOT_FILE, frame)
    try {
      await renameDurably(this.dir, tempPath, SNAPSHOT_FILE)
      // From here the disk may hold the new snapshot with the old segment, which open() knows how
      // to reconcile but this object does not: any failure poisons it so the caller reopens.
      await this.rewriteSegment(retained)
    } catch (err) {
      throw this.poison(err)
    }
    this.held = retained.slice()
    this.snapshotIndex = snapshot.index
    this.snapshotFileBytes = frame.length
  }

  /** Writes the next segment (current hard state + `retained`) atomically and switches to it. */
  private async rewriteSegment(retained: HeldEntry[]): Promise<void> {
    const seq = this.segment.seq + 1
    const name = segmentFileName(seq)
    const content = Buffer.concat([
      encodeLogRecord({ kind: 'hard-state', hardState: this.hardState }),
      ...retained.map(entry => entry.frame),
    ])
    const tempPath = await writeTempFile(this.dir, name, content)
    await renameDurably(this.dir, tempPath, name)
    const handle = await open(join(this.dir, name), 'r+')
    const old = this.segment
    this.segment = { seq, handle, sizeBytes: content.length }
    await old.handle.close()
    // No directory fsync needed: if this unlink is lost in a crash, open() picks the newest
    // segment and deletes the older one again.
    await unlink(join(this.dir, segmentFileName(old.seq)))
  }

  /** One write + one fdatasync: the group commit of a whole save(). */
  private async appendDurably(bytes: Buffer): Promise<void> {
    const { handle, sizeBytes } = this.segment
    try {
      writeFullySync(handle, bytes, sizeBytes)
    } catch (err) {
      // Cut the partial write off, or the next append would land after garbage, which the next
      // open() would rightly report as corruption in the middle of the file.
      try {
        await handle.truncate(sizeBytes)
      } catch {
        throw this.poison(err)
      }
      throw err
    }
    try {
      await handle.datasync()
    } catch (err) {
      throw this.poison(err)
    }
    this.segment.sizeBytes = sizeBytes + bytes.length
  }

  private lastIndex(): number {
    return this.held.at(-1)?.index ?? this.snapshotIndex
  }

  private assertUsable(): void {
    if (this.closed) throw new Error(`log-store ${this.dir}: closed`)
    if (this.failure !== null) {
      throw new Error(`log-store ${this.dir}: unusable after an earlier failure (${this.failure.message}); reopen it`, {
        cause: this.failure,
      })
    }
  }

  private poison(err: unknown): Error {
    const error = err instanceof Error ? err : new Error(String(err))
    this.failure ??= error
    return error
  }

  private async serialize<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation)
    this.queue = result.catch(() => {})
    return await result
  }
}

interface PreparedSave {
  hardState?: StoredHardState
  entries: HeldEntry[]
  snapshot?: { value: StoredSnapshot; frame: Buffer }
}

function prepareSave(request: SaveRequest): PreparedSave {
  const entries: HeldEntry[] = []
  for (const raw of request.entries ?? []) {
    const entry = checkEntry(raw, 'save()')
    const previous = entries.at(-1)
    if (previous !== undefined && entry.index !== previous.index + 1) {
      throw new Error(`save(): entries must be contiguous, got ${entry.index} after ${previous.index}`)
    }
    entries.push({ index: entry.index, term: entry.term, frame: encodeLogRecord({ kind: 'entry', entry }) })
  }
  const prepared: PreparedSave = { entries }
  if (request.hardState !== undefined) prepared.hardState = checkHardState(request.hardState, 'save()')
  if (request.snapshot !== undefined) {
    const value = checkSnapshot(request.snapshot, 'save()')
    prepared.snapshot = { value, frame: encodeLogRecord({ kind: 'snapshot', snapshot: value }) }
  }
  return prepared
}

/**
 * The entries that survive a snapshot at (index, term), per Raft §7: if the log holds the
 * snapshot's last entry with the same term, the entries after it are kept; otherwise the snapshot
 * supersedes the whole log. `entries` must be contiguous and start at or before index + 1.
 */
function entriesAfterSnapshot<T extends { index: number; term: number }>(
  entries: T[],
  index: number,
  term: number,
): T[] {
  const first = entries[0]
  if (first === undefined || first.index === index + 1) return entries
  const atSnapshot = entries[index - first.index]
  if (atSnapshot !== undefined && atSnapshot.term === term) return entries.slice(index - first.index + 1)
  return []
}

function sameHardState(a: StoredHardState, b: StoredHardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}

type LoadedEntry = HeldEntry & { entry: StoredEntry }

interface ReplayedSegment {
  entries: LoadedEntry[]
  hardState: StoredHardState | null
  validBytes: number
  tornBytes: number
}

function replaySegment(bytes: Buffer, path: string): ReplayedSegment {
  const scan = scanRecords(bytes, path)
  const entries: LoadedEntry[] = []
  let hardState: StoredHardState | null = null
  for (const { offsetBytes, frame, value } of scan.records) {
    const where = `${path} at byte offset ${offsetBytes}`
    const record = decodeLogRecord(value, where)
    switch (record.kind) {
      case 'entry': {
        const last = entries.at(-1)
        if (last !== undefined && record.entry.index !== last.index + 1) {
          throw new Error(`${where}: entry ${record.entry.index} does not follow entry ${last.index}`)
        }
        entries.push({ index: record.entry.index, term: record.entry.term, frame, entry: record.entry })
        break
      }
      case 'truncate-from': {
        const first = entries[0]
        if (first !== undefined) entries.length = Math.max(0, Math.min(entries.length, record.index - first.index))
        break
      }
      case 'hard-state':
        hardState = record.hardState
        break
      case 'snapshot':
        throw new Error(`${where}: a snapshot record does not belong in a log segment`)
    }
  }
  return { entries, hardState, validBytes: scan.validBytes, tornBytes: scan.tornBytes }
}

async function readSnapshotFile(path: string): Promise<{ snapshot: StoredSnapshot; bytes: number } | null> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  const scan = scanRecords(bytes, path)
  // This file only ever appears through the rename of a complete, fsynced temp file, so unlike
  // the log it cannot have a torn tail: any damage is corruption.
  const only = scan.records[0]
  if (scan.tornBytes > 0 || scan.records.length !== 1 || only === undefined) {
    throw new CorruptRecordError(path, scan.validBytes, 'the snapshot file must hold exactly one complete record')
  }
  const record = decodeLogRecord(only.value, `${path} at byte offset 0`)
  if (record.kind !== 'snapshot')
    throw new CorruptRecordError(path, 0, `expected a snapshot record, found ${record.kind}`)
  return { snapshot: record.snapshot, bytes: bytes.length }
}

/** mkdir -p, then fsync the parent of every directory it created so their names are durable. */
async function makeDirDurably(dir: string): Promise<void> {
  const firstCreated = await mkdir(dir, { recursive: true })
  if (firstCreated === undefined) return
  for (let created = dir; ; created = dirname(created)) {
    await fsyncDir(dirname(created))
    if (created === resolve(firstCreated) || created === dirname(created)) return
  }
}

/** Temp files are the debris of an atomic replacement that a crash interrupted before its rename. */
async function removeTempFiles(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.endsWith(TEMP_SUFFIX)) await unlink(join(dir, name))
  }
}

/** The number of the live (newest) segment, creating the first one if there is none. Older
 * segments are leftovers of a compaction that crashed after its rename: delete them. */
async function pickSegment(dir: string): Promise<number> {
  const seqs = (await readdir(dir))
    .map(name => SEGMENT_FILE.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(match => Number(match[1]))
    .sort((a, b) => a - b)
  const newest = seqs.at(-1)
  if (newest === undefined) {
    const handle = await open(join(dir, segmentFileName(1)), 'wx')
    await handle.close()
    await fsyncDir(dir)
    return 1
  }
  for (const seq of seqs.slice(0, -1)) await unlink(join(dir, segmentFileName(seq)))
  return newest
}
