import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { appendFile, copyFile, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LogStore, type StoredEntry, type StoredSnapshot } from '../../src/election/storage/log-store.js'
import { CorruptRecordError } from '../../src/election/storage/record-file.js'

const SEGMENT_1 = 'log-0000000001.wal'

function entries(fromIndex: number, toIndex: number, term = 1): StoredEntry[] {
  const result: StoredEntry[] = []
  for (let index = fromIndex; index <= toIndex; index++) {
    result.push({
      term,
      index,
      ...(index % 5 === 0
        ? { type: 'config', data: { voters: [`v${index}`], learners: [] } }
        : { type: 'normal', data: { op: 'set', key: `k${index}`, term } }),
    })
  }
  return result
}

function snapshotAt(index: number, term: number): StoredSnapshot {
  return { index, term, config: { voters: ['a', 'b', 'c'], learners: ['d'] }, data: { upTo: index } }
}

describe('LogStore', function () {
  const dirs: string[] = []
  const stores: LogStore[] = []

  async function freshDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'meshos-log-store-'))
    dirs.push(dir)
    return dir
  }

  async function openStore(dir: string): Promise<LogStore> {
    const store = await LogStore.open(dir)
    stores.push(store)
    return store
  }

  /** Closes `store` and opens the same directory again, as a restart would. */
  async function reopen(store: LogStore, dir: string): Promise<LogStore> {
    await store.close()
    return await openStore(dir)
  }

  afterEach(async function () {
    // close() is idempotent, so stores a test already closed are fine here.
    await Promise.all(
      stores.splice(0).map(async store => {
        await store.close().catch(() => {})
      }),
    )
  })

  after(async function () {
    await Promise.all(
      dirs.map(async dir => {
        await rm(dir, { recursive: true, force: true })
      }),
    )
  })

  it('opens an empty store, creating the directory', async function () {
    const dir = join(await freshDir(), 'nested', 'raft')
    const store = await openStore(dir)
    assert.deepEqual(store.loaded(), { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] })
    assert.deepEqual(await readdir(dir), [SEGMENT_1])
  })

  it('round-trips hard state, entries and a leader snapshot across reopen', async function () {
    const dir = await freshDir()
    let store = await openStore(dir)
    await store.save({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 3) })
    await store.save({ entries: entries(4, 6) })
    await store.save({ hardState: { term: 2, vote: null, commit: 4 } })
    store = await reopen(store, dir)
    assert.deepEqual(store.loaded(), {
      hardState: { term: 2, vote: null, commit: 4 },
      snapshot: null,
      entries: entries(1, 6),
    })

    // A snapshot from the leader whose last entry we hold with the same term keeps what follows it.
    await store.save({
      snapshot: snapshotAt(4, 1),
      entries: entries(7, 8),
      hardState: { term: 2, vote: null, commit: 8 },
    })
    store = await reopen(store, dir)
    assert.deepEqual(store.loaded(), {
      hardState: { term: 2, vote: null, commit: 8 },
      snapshot: snapshotAt(4, 1),
      entries: entries(5, 8),
    })

    // One whose term differs at its index supersedes the whole log.
    await store.save({ snapshot: snapshotAt(6, 2) })
    store = await reopen(store, dir)
    assert.deepEqual(store.loaded().snapshot, snapshotAt(6, 2))
    assert.deepEqual(store.loaded().entries, [])
    await store.save({ entries: entries(7, 7, 2) })
    store = await reopen(store, dir)
    assert.deepEqual(store.loaded().entries, entries(7, 7, 2))
  })

  it('writes what save() was given, even if the caller mutates it afterwards', async function () {
    const dir = await freshDir()
    let store = await openStore(dir)
    const batch = entries(1, 2)
    const saving = store.save({ entries: batch })
    ;(batch[0]?.data as { key: string }).key = 'mutated'
    await saving
    store = await reopen(store, dir)
    assert.deepEqual(store.loaded().entries, entries(1, 2))
  })

  it('runs saves issued without awaiting one at a time, in call order', async function () {
    const dir = await freshDir()
    let store = await openStore(dir)
    const saves: Array<Promise<void>> = []
    for (let index = 1; index <= 20; index++) {
      saves.push(store.save({ entries: entries(index, index), hardState: { term: 1, vote: null, commit: index - 1 } }))
    }
    saves.push(store.compact(snapshotAt(10, 1)))
    saves.push(store.save({ entries: entries(21, 21) }))
    await Promise.all(saves)
    store = await reopen(store, dir)
    assert.deepEqual(store.loaded(), {
      hardState: { term: 1, vote: null, commit: 19 },
      snapshot: snapshotAt(10, 1),
      entries: entries(11, 21),
    })
  })

  it('replaces a conflicting suffix, and the truncation survives reopen', async function () {
    const dir = await freshDir()
    let store = await openStore(dir)
    await store.save({ entries: entries(1, 5, 1) })
    await store.save({ entries: entries(3, 4, 2), hardState: { term: 2, vote: 'b', commit: 2 } })
    store = await reopen(store, dir)
    assert.deepEqual(store.loaded().entries, [...entries(1, 2, 1), ...entries(3, 4, 2)])

    await store.save({ entries: entries(5, 6, 2) })
    await store.save({ entries: entries(2, 2, 3) })
    store = await reopen(store, dir)
    assert.deepEqual(store.loaded().entries, [...entries(1, 1, 1), ...entries(2, 2, 3)])
    assert.deepEqual(store.loaded().hardState, { term: 2, vote: 'b', commit: 2 })
  })

  it('rejects invalid saves without changing anything', async function () {
    const dir = await freshDir()
    let store = await openStore(dir)
    await store.save({ entries: entries(1, 3) })
    await assert.rejects(store.save({ entries: entries(5, 6) }), /gap after the last stored entry 3/)
    await assert.rejects(store.save({ entries: [...entries(4, 4), ...entries(6, 6)] }), /contiguous/)
    await assert.rejects(store.save({ entries: [{ term: 1, index: 0, type: 'normal', data: null }] }), /integer >= 1/)
    await assert.rejects(store.compact(snapshotAt(9, 1)), /beyond the last stored entry 3/)
    await assert.rejects(store.compact(snapshotAt(2, 7)), /term 7 but the stored entry has term 1/)
    await store.save({ entries: entries(4, 4) })
    store = await reopen(store, dir)
    assert.deepEqual(store.loaded().entries, entries(1, 4))
  })

  it('compacts: drops entries up to the snapshot from disk, and the result survives reopen', async function () {
    const dir = await freshDir()
    let store = await openStore(dir)
    await store.save({ hardState: { term: 1, vote: 'a', commit: 10 }, entries: entries(1, 10) })
    const before = (await stat(join(dir, SEGMENT_1))).size
    await store.compact(snapshotAt(6, 1))
    const files = (await readdir(dir)).sort()
    assert.deepEqual(files, ['log-0000000002.wal', 'snapshot.rec'])
    assert.ok((await stat(join(dir, 'log-0000000002.wal'))).size < before)

    await store.save({ entries: entries(11, 12) })
    store = await reopen(store, dir)
    assert.deepEqual(store.loaded(), {
      hardState: { term: 1, vote: 'a', commit: 10 },
      snapshot: snapshotAt(6, 1),
      entries: entries(7, 12),
    })
    await assert.rejects(store.compact(snapshotAt(5, 1)), /not newer/)
    await store.compact(snapshotAt(12, 1))
    store = await reopen(store, dir)
    assert.deepEqual(store.loaded().snapshot, snapshotAt(12, 1))
    assert.deepEqual(store.loaded().entries, [])
  })

  it('reconciles a snapshot written just before a crash with the old segment', async function () {
    // Build "new snapshot.rec, old segment" — the state a crash between the two steps of a
    // snapshot install leaves — by copying a snapshot file from another store.
    async function snapshotFile(index: number, term: number): Promise<string> {
      const donorDir = await freshDir()
      const donor = await openStore(donorDir)
      await donor.save({ entries: entries(1, index, term) })
      await donor.compact(snapshotAt(index, term))
      await donor.close()
      return join(donorDir, 'snapshot.rec')
    }

    // The log holds the snapshot's entry with the same term: later entries are kept.
    const keepDir = await freshDir()
    let store = await openStore(keepDir)
    await store.save({ entries: entries(1, 6) })
    await store.close()
    await copyFile(await snapshotFile(4, 1), join(keepDir, 'snapshot.rec'))
    store = await openStore(keepDir)
    assert.deepEqual(store.loaded().entries, entries(5, 6))
    await store.save({ entries: entries(7, 7) })
    store = await reopen(store, keepDir)
    assert.deepEqual(store.loaded().entries, entries(5, 7))

    // It does not: the snapshot supersedes the log, and entries appended after it stick.
    const dropDir = await freshDir()
    store = await openStore(dropDir)
    await store.save({ entries: entries(1, 6) })
    await store.close()
    await copyFile(await snapshotFile(4, 3), join(dropDir, 'snapshot.rec'))
    store = await openStore(dropDir)
    assert.deepEqual(store.loaded().entries, [])
    await store.save({ entries: entries(5, 5, 3) })
    store = await reopen(store, dropDir)
    assert.deepEqual(store.loaded().entries, entries(5, 5, 3))
  })

  it('drops a torn tail (file cut short) and keeps working', async function () {
    const dir = await freshDir()
    let store = await openStore(dir)
    await store.save({ entries: entries(1, 3), hardState: { term: 1, vote: 'a', commit: 1 } })
    await store.save({ entries: entries(4, 4), hardState: { term: 1, vote: 'a', commit: 3 } })
    await store.close()
    // Cuts into the last record (the second hard state): entry 4 survives, that hard state does not.
    await truncate(join(dir, SEGMENT_1), (await stat(join(dir, SEGMENT_1))).size - 3)

    store = await openStore(dir)
    assert.deepEqual(store.loaded().entries, entries(1, 4))
    assert.deepEqual(store.loaded().hardState, { term: 1, vote: 'a', commit: 1 })
    await store.save({ entries: entries(5, 5), hardState: { term: 1, vote: 'a', commit: 4 } })
    store = await reopen(store, dir)
    assert.deepEqual(store.loaded().entries, entries(1, 5))
    assert.deepEqual(store.loaded().hardState, { term: 1, vote: 'a', commit: 4 })
  })

  it('drops garbage appended after the last record and keeps working', async function () {
    const dir = await freshDir()
    let store = await openStore(dir)
    await store.save({ entries: entries(1, 2) })
    await store.close()
    const goodBytes = (await stat(join(dir, SEGMENT_1))).size
    for (const garbage of [
      Buffer.from([0xde, 0xad]),
      Buffer.alloc(300),
      Buffer.from('{"kind":"entry" but torn mid-way'),
    ]) {
      await appendFile(join(dir, SEGMENT_1), garbage)
      store = await openStore(dir)
      assert.deepEqual(store.loaded().entries, entries(1, 2))
      assert.equal((await stat(join(dir, SEGMENT_1))).size, goodBytes, 'the torn tail is cut off on open')
      await store.close()
    }
    store = await openStore(dir)
    await store.save({ entries: entries(3, 3) })
    store = await reopen(store, dir)
    assert.deepEqual(store.loaded().entries, entries(1, 3))
  })

  it('refuses to open when a record in the middle is corrupt, naming file and offset', async function () {
    const dir = await freshDir()
    const store = await openStore(dir)
    await store.save({ entries: entries(1, 1) })
    await store.save({ entries: entries(2, 2) })
    await store.save({ entries: entries(3, 3) })
    await store.close()
    const path = join(dir, SEGMENT_1)
    const bytes = await readFile(path)
    const secondRecordOffset = 8 + bytes.readUInt32LE(0)
    bytes[secondRecordOffset + 20] ^= 0x01 // one flipped bit inside the second record's payload
    await writeFile(path, bytes)

    await assert.rejects(LogStore.open(dir), (err: unknown) => {
      assert.ok(err instanceof CorruptRecordError)
      assert.equal(err.offsetBytes, secondRecordOffset)
      assert.ok(err.message.includes(path), err.message)
      assert.match(err.message, new RegExp(`byte offset ${secondRecordOffset}: checksum mismatch`))
      assert.match(err.message, /disk corruption/)
      return true
    })
    // Refusing means refusing: the file was not "repaired" by truncation.
    assert.equal((await stat(path)).size, bytes.length)
  })

  it('refuses to open when the snapshot file is damaged', async function () {
    const dir = await freshDir()
    const store = await openStore(dir)
    await store.save({ entries: entries(1, 4) })
    await store.compact(snapshotAt(2, 1))
    await store.close()
    await truncate(join(dir, 'snapshot.rec'), 20)
    await assert.rejects(LogStore.open(dir), /snapshot\.rec at byte offset 0: .*exactly one complete record/)
  })

  it('keeps every acknowledged entry when the writer is SIGKILLed at random moments', async function () {
    this.timeout(30_000)
    const dir = await freshDir()
    const moduleUrl = new URL('../../src/election/storage/log-store.js', import.meta.url).href
    const rounds = 10
    let ackedIndex = 0
    for (let round = 0; round < rounds; round++) {
      const child = await runWriterUntilKilled(moduleUrl, dir, 20 + Math.floor(Math.random() * 250))
      ackedIndex = Math.max(ackedIndex, child.ackedIndex)
      assert.ok(child.ackedIndex > 0, `round ${round}: the writer acknowledged nothing; stderr: ${child.stderr}`)

      const store = await openStore(dir)
      const { snapshot, entries: stored, hardState } = store.loaded()
      const firstIndex = (snapshot?.index ?? 0) + 1
      if (snapshot !== null) assert.deepEqual(snapshot.data, { upTo: snapshot.index }, `round ${round}`)
      stored.forEach((entry, position) => {
        assert.deepEqual(entry, writerEntry(firstIndex + position), `round ${round}: entry at position ${position}`)
      })
      const lastIndex = stored.at(-1)?.index ?? firstIndex - 1
      assert.ok(
        lastIndex >= ackedIndex,
        `round ${round}: acknowledged up to ${ackedIndex} but only ${lastIndex} survived`,
      )
      assert.ok(
        hardState.commit <= lastIndex,
        `round ${round}: commit ${hardState.commit} beyond last entry ${lastIndex}`,
      )
      await store.close()
    }
  })
})

/** The entry the crash-test writer writes at `index`: checkable without any record of the run. */
function writerEntry(index: number): StoredEntry {
  return { term: 1, index, type: 'normal', data: { index, pad: 'x'.repeat(index % 97) } }
}

// Runs in the child: appends batches of 1..7 entries forever, printing the last index of each batch
// once its save() has resolved, and compacts now and then so crashes also land mid-compaction.
const WRITER_SOURCE = `
const { LogStore } = await import(process.env.LOG_STORE_MODULE)
const entry = ${writerEntry.toString()}
const store = await LogStore.open(process.env.LOG_STORE_DIR)
const state = store.loaded()
let next = (state.entries.at(-1)?.index ?? state.snapshot?.index ?? 0) + 1
let compactedTo = state.snapshot?.index ?? 0
for (;;) {
  const batch = []
  for (let i = 0; i < 1 + (next % 7); i++) batch.push(entry(next + i))
  await store.save({ entries: batch, hardState: { term: 1, vote: 'a', commit: next - 1 } })
  next += batch.length
  process.stdout.write((next - 1) + '\\n')
  if (next - compactedTo > 300) {
    compactedTo = next - 50
    await store.compact({ index: compactedTo, term: 1, config: { voters: ['a'], learners: [] }, data: { upTo: compactedTo } })
  }
}
`

interface WriterRun {
  ackedIndex: number
  stderr: string
}

/** Starts the writer, SIGKILLs it `killAfterMs` after its first acknowledgement, and returns the
 * highest index it acknowledged (lines still in the pipe are read to the end). */
async function runWriterUntilKilled(moduleUrl: string, dir: string, killAfterMs: number): Promise<WriterRun> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER_SOURCE], {
    env: { ...process.env, LOG_STORE_MODULE: moduleUrl, LOG_STORE_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let killTimer: NodeJS.Timeout | undefined
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs)
  })
  const signal = await new Promise<NodeJS.Signals | null>(resolve => {
    child.on('close', (_code, closeSignal) => {
      resolve(closeSignal)
    })
  })
  clearTimeout(killTimer)
  assert.equal(signal, 'SIGKILL', `the writer exited on its own; stderr: ${stderr}`)
  // Each line is one small write(2) to a pipe, which is atomic, but drop an unterminated last line
  // anyway: a partial number must not be read as an acknowledgement.
  const lines = stdout.split('\n').slice(0, -1)
  const ackedIndex = lines.reduce((max, line) => Math.max(max, Number(line)), 0)
  return { ackedIndex, stderr }
}
