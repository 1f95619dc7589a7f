// Task directories are removed once their task finished long enough ago or was forgotten, and
// never while the task may still run.
import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { collectTaskDirs } from '../../src/tasks/task-dir-gc.js'
import { tableAssignments } from '../../src/tasks/assignments.js'

/** The GC's view of a replicated table (the node a task ran on does not matter to it). */
const view = (table: TaskTable) => tableAssignments(table, 'self', () => true)
import { TaskTable } from '../../src/tasks/task-table.js'
import { parseTaskSpec } from '../../src/tasks/spec.js'

describe('task directory collection', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshos-gc-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('removes forgotten and long-finished tasks, keeps running and recently finished ones', async () => {
    const parsed = parseTaskSpec({ command: 'true' })
    assert.ok(parsed.ok)
    const table = new TaskTable()
    let index = 0
    for (const id of ['running', 'old', 'recent'])
      table.apply({ type: 'task.submit', tasks: [{ id, spec: parsed.spec, submittedAt: 0 }] }, ++index)
    table.apply(
      {
        type: 'task.assign',
        term: 1,
        assignments: ['running', 'old', 'recent'].map(id => ({ id, attempt: 1, node: 'n', placement: '' })),
      },
      ++index,
    )
    const finish = (id: string, at: number) =>
      table.apply(
        {
          type: 'task.report',
          node: 'n',
          events: [
            {
              kind: 'finished',
              id,
              attempt: 1,
              at,
              startedAt: 0,
              reason: 'exited',
              exitCode: 0,
              signal: null,
              message: '',
            },
          ],
        },
        ++index,
      )
    finish('old', 1_000)
    finish('recent', 9_000)
    for (const id of ['running', 'old', 'recent', 'forgotten'])
      await mkdir(join(dir, 'tasks', id, '1'), { recursive: true })

    const removed = await collectTaskDirs(dir, view(table), 10_000, 5_000)
    assert.deepEqual(removed, { expired: 2, overCap: 0 })
    assert.ok(existsSync(join(dir, 'tasks', 'running')))
    assert.ok(existsSync(join(dir, 'tasks', 'recent')))
    assert.ok(!existsSync(join(dir, 'tasks', 'old')))
    assert.ok(!existsSync(join(dir, 'tasks', 'forgotten')))
    assert.deepEqual(await collectTaskDirs(join(dir, 'nothing-here'), view(table), 10_000, 5_000), {
      expired: 0,
      overCap: 0,
    })
  })
})

describe('task output bound per node', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshos-gc-cap-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it("removes the oldest finished attempts' directories until the node is under its bound, never a running one", async () => {
    const parsed = parseTaskSpec({ command: 'true', retries: 1 })
    assert.ok(parsed.ok)
    const table = new TaskTable()
    let index = 0
    const ids = ['a', 'b', 'c', 'running']
    table.apply({ type: 'task.submit', tasks: ids.map(id => ({ id, spec: parsed.spec, submittedAt: 0 })) }, ++index)
    const assign = (id: string, attempt: number): void => {
      table.apply({ type: 'task.assign', term: 1, assignments: [{ id, attempt, node: 'n', placement: '' }] }, ++index)
    }
    const finish = (id: string, attempt: number, at: number, exitCode: number): void => {
      table.apply(
        {
          type: 'task.report',
          node: 'n',
          events: [
            { kind: 'finished', id, attempt, at, startedAt: 0, reason: 'exited', exitCode, signal: null, message: '' },
          ],
        },
        ++index,
      )
    }
    // a: attempt 1 failed at 100, attempt 2 succeeded at 400; b finished at 200; c at 300.
    for (const id of ids) assign(id, 1)
    finish('a', 1, 100, 1)
    assign('a', 2)
    finish('a', 2, 400, 0)
    finish('b', 1, 200, 0)
    finish('c', 1, 300, 0)
    const write = async (id: string, attempt: number, bytes: number): Promise<void> => {
      await mkdir(join(dir, 'tasks', id, String(attempt)), { recursive: true })
      writeFileSync(join(dir, 'tasks', id, String(attempt), 'stdout.log'), Buffer.alloc(bytes, 1))
    }
    const MIB = 1024 * 1024
    await write('a', 1, MIB)
    await write('a', 2, MIB)
    await write('b', 1, MIB)
    await write('c', 1, MIB)
    await write('running', 1, 2 * MIB)
    writeFileSync(join(dir, 'tasks', 'running', '1.pid'), '{}')

    // 6 MiB (and the directories' own blocks) against a bound of 4.5: a/1 (100) and b/1 (200) go.
    const result = await collectTaskDirs(dir, view(table), 1000, 3_600_000, 4.5 * MIB)
    assert.deepEqual(result, { expired: 0, overCap: 2 })
    assert.ok(!existsSync(join(dir, 'tasks', 'a', '1')))
    assert.ok(!existsSync(join(dir, 'tasks', 'b', '1')))
    for (const kept of ['a/2', 'c/1', 'running/1', 'running/1.pid'])
      assert.ok(existsSync(join(dir, 'tasks', kept)), kept)

    // Even a bound nothing fits under never touches a running attempt.
    assert.deepEqual(await collectTaskDirs(dir, view(table), 1000, 3_600_000, 1), { expired: 0, overCap: 2 })
    assert.ok(existsSync(join(dir, 'tasks', 'running', '1')))
  })
})
