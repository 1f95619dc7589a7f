// Task directories are removed once their task finished long enough ago or was forgotten, and
// never while the task may still run.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { collectTaskDirs } from '../../src/tasks/task-dir-gc.js'
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

    const removed = await collectTaskDirs(dir, table, 10_000, 5_000)
    assert.equal(removed, 2)
    assert.ok(existsSync(join(dir, 'tasks', 'running')))
    assert.ok(existsSync(join(dir, 'tasks', 'recent')))
    assert.ok(!existsSync(join(dir, 'tasks', 'old')))
    assert.ok(!existsSync(join(dir, 'tasks', 'forgotten')))
    assert.equal(await collectTaskDirs(join(dir, 'nothing-here'), table, 10_000, 5_000), 0)
  })
})
