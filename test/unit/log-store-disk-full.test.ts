// The log store on a full disk: a tiny tmpfs makes write(2) fail with ENOSPC part-way through a
// save. Needs root (to mount); skipped otherwise.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { LogStore, type StoredEntry } from '../../src/election/storage/log-store.js'

const run = promisify(execFile)
const TMPFS_SIZE = '64k'
const FILLER_BYTES = 16 * 1024

/** ~1 KiB of data per entry, so the 64 KiB disk fills within a few dozen saves. */
function entry(index: number): StoredEntry {
  return { term: 1, index, type: 'normal', data: { index, blob: 'x'.repeat(1000) } }
}

function range(fromIndex: number, toIndex: number): StoredEntry[] {
  const result: StoredEntry[] = []
  for (let index = fromIndex; index <= toIndex; index++) result.push(entry(index))
  return result
}

describe('LogStore on a full disk (tmpfs)', function () {
  let mountDir: string | undefined
  let mounted = false
  const stores: LogStore[] = []

  /** Tracked so that after() can close them even when a test failed half-way: an open file keeps
   * the tmpfs busy and umount would fail. */
  async function openStore(dir: string): Promise<LogStore> {
    const store = await LogStore.open(dir)
    stores.push(store)
    return store
  }

  before(async function () {
    if (process.getuid?.() !== 0) {
      console.log('      skipped: mounting a tmpfs to simulate a full disk needs root')
      this.skip()
    }
    mountDir = await mkdtemp(join(tmpdir(), 'meshos-log-store-full-'))
    try {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', mountDir])
      mounted = true
    } catch (err) {
      console.log(`      skipped: could not mount a tmpfs (${(err as Error).message.trim()})`)
      this.skip()
    }
  })

  after(async function () {
    if (mountDir === undefined) return
    await Promise.all(
      stores.map(async store => {
        await store.close().catch(() => {})
      }),
    )
    if (mounted) await run('umount', [mountDir])
    await rm(mountDir, { recursive: true, force: true })
  })

  /** Saves batches of 3 entries until one rejects; returns that error and the last acked index. */
  async function fillUntilFull(
    store: LogStore,
    fromIndex: number,
  ): Promise<{ error: NodeJS.ErrnoException; ackedIndex: number }> {
    let ackedIndex = fromIndex - 1
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        await store.save({
          entries: range(ackedIndex + 1, ackedIndex + 3),
          hardState: { term: 1, vote: 'a', commit: ackedIndex },
        })
        ackedIndex += 3
      } catch (err) {
        return { error: err as NodeJS.ErrnoException, ackedIndex }
      }
    }
    throw new Error(`a ${TMPFS_SIZE} disk never filled up`)
  }

  it('rejects save() with ENOSPC, keeps exactly the acknowledged entries, and recovers once space is freed', async function () {
    const dir = join(mountDir as string, 'appends')
    const filler = join(mountDir as string, 'filler')
    await writeFile(filler, Buffer.alloc(FILLER_BYTES))
    let store = await openStore(dir)
    const { error, ackedIndex } = await fillUntilFull(store, 1)
    assert.equal(error.code, 'ENOSPC')
    assert.ok(ackedIndex >= 3, 'some saves succeeded before the disk filled up')
    await assert.rejects(store.save({ entries: range(ackedIndex + 1, ackedIndex + 3) }), { code: 'ENOSPC' })
    await store.close()

    store = await openStore(dir)
    assert.deepEqual(store.loaded().entries, range(1, ackedIndex))
    assert.deepEqual(store.loaded().hardState, { term: 1, vote: 'a', commit: ackedIndex - 3 })

    // A short record next: had the failed save's partial write been left in place, whole entry
    // records from it would now sit after this one, and the next open would see corruption.
    await unlink(filler)
    await store.save({ hardState: { term: 2, vote: null, commit: ackedIndex } })
    await store.close()
    store = await openStore(dir)
    assert.deepEqual(store.loaded().entries, range(1, ackedIndex))
    assert.deepEqual(store.loaded().hardState, { term: 2, vote: null, commit: ackedIndex })
    await store.save({ entries: range(ackedIndex + 1, ackedIndex + 3) })
    await store.close()
    store = await openStore(dir)
    assert.deepEqual(store.loaded().entries, range(1, ackedIndex + 3))
    await store.close()
    await rm(dir, { recursive: true })
  })

  it('rejects compact() with ENOSPC and reopens with the state from before it', async function () {
    const dir = join(mountDir as string, 'compaction')
    let store = await openStore(dir)
    const { error, ackedIndex } = await fillUntilFull(store, 1)
    assert.equal(error.code, 'ENOSPC')
    const snapshot = { index: 2, term: 1, config: { voters: ['a'], learners: [] }, data: { blob: 'y'.repeat(8000) } }
    await assert.rejects(store.compact(snapshot), { code: 'ENOSPC' })
    await store.close()

    store = await openStore(dir)
    assert.equal(store.loaded().snapshot, null)
    assert.deepEqual(store.loaded().entries, range(1, ackedIndex))
    assert.deepEqual(
      (await readdir(dir)).filter(name => name.endsWith('.tmp')),
      [],
      'no temp file left behind',
    )
    await store.close()
    await rm(dir, { recursive: true })
  })
})
