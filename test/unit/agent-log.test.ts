// The agent's log: JSON lines unless a person is watching stderr (or asked for readable lines),
// and --log-format / MESHOS_LOG_FORMAT to say which.
import assert from 'node:assert/strict'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { agentLogger, wantsPretty } from '../../src/cli/agent-log.js'
import { parseAgentArgs } from '../../src/cli/agent-config.js'
import { UsageError } from '../../src/cli/usage.js'
import type { NodeConfig } from '../../src/node/config.js'

describe('agent log', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshos-log-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  /** What the agent's logger writes for one line about a task, in `format`, to a file. */
  function written(format: 'auto' | 'json' | 'pretty', name: string): string {
    const file = join(dir, name)
    const fd = openSync(file, 'w')
    try {
      const log = agentLogger({ level: 'info', format, name: 'n1' }, { fd, isTTY: false }).child({ nodeId: 'peer-1' })
      log.info({ taskId: 't-1' }, 'task started')
      log.debug('below the level')
    } finally {
      closeSync(fd)
    }
    return readFileSync(file, 'utf8')
  }

  it('is readable only on a terminal, unless told', () => {
    assert.equal(wantsPretty('auto', { isTTY: true }), true)
    assert.equal(wantsPretty('auto', { isTTY: false }), false)
    assert.equal(wantsPretty('auto', {}), false)
    assert.equal(wantsPretty('json', { isTTY: true }), false)
    assert.equal(wantsPretty('pretty', { isTTY: false }), true)
  })

  it('writes a JSON line with the node, its id and the task id', () => {
    const lines = written('auto', 'auto.log').trim().split('\n')
    assert.equal(lines.length, 1)
    const line = JSON.parse(lines[0]!) as Record<string, unknown>
    assert.equal(line.msg, 'task started')
    assert.equal(line.level, 30)
    assert.equal(line.node, 'n1')
    assert.equal(line.nodeId, 'peer-1')
    assert.equal(line.taskId, 't-1')
  })

  it('writes one readable line, without colours off a terminal', () => {
    const text = written('pretty', 'pretty.log')
    const lines = text.trim().split('\n')
    assert.equal(lines.length, 1)
    assert.match(lines[0]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: task started \{"taskId":"t-1"\}$/)
    assert.throws(() => JSON.parse(lines[0]!) as unknown)
    assert.ok(!text.includes('\u001b['), 'no ANSI colour codes')
  })

  it('takes --log-format or MESHOS_LOG_FORMAT, and names the flag when the value is wrong', () => {
    const cfg = (args: string[], env: Record<string, string> = {}): NodeConfig => {
      const parsed = parseAgentArgs(args, env)
      assert.notEqual(parsed, 'help')
      return parsed as NodeConfig
    }
    assert.equal(cfg([]).logFormat, 'auto')
    assert.equal(cfg(['--log-format', 'json']).logFormat, 'json')
    assert.equal(cfg([], { MESHOS_LOG_FORMAT: 'pretty' }).logFormat, 'pretty')
    assert.equal(cfg(['--log-format', 'json'], { MESHOS_LOG_FORMAT: 'pretty' }).logFormat, 'json')
    assert.throws(
      () => parseAgentArgs(['--log-format', 'xml'], {}),
      (err: unknown) =>
        err instanceof UsageError && /--log-format "xml": expected one of auto, json, pretty/.test(err.message),
    )
  })
})
