import assert from 'node:assert/strict'
import { parseAgentArgs, parseHostPort } from '../../src/cli/agent-config.js'
import { UsageError } from '../../src/cli/usage.js'
import type { NodeConfig } from '../../src/node/config.js'
import { DEFAULT_HTTP_PORT } from '../../src/http/config.js'

const PEER = '12D3KooWMcvHjP32AuC3nbEFpW1QSJos3MiRiAMCenPDn2zpyfjZ'
const parse = (args: string[], env: Record<string, string> = {}): NodeConfig => {
  const cfg = parseAgentArgs(args, env)
  assert.notEqual(cfg, 'help')
  return cfg as NodeConfig
}

describe('meshos agent flags', () => {
  it('has working defaults', () => {
    const cfg = parse([])
    assert.deepEqual(cfg.listen, ['/ip4/127.0.0.1/tcp/7000'])
    assert.equal(cfg.httpHost, '127.0.0.1')
    assert.equal(cfg.httpPort, DEFAULT_HTTP_PORT)
    assert.equal(cfg.dataDir, './.meshos')
    assert.ok(cfg.cpus > 0 && cfg.memoryMb > 0)
  })

  it('parses every flag, repeatable ones included', () => {
    const cfg = parse([
      '--listen',
      '/ip4/127.0.0.1/tcp/7001',
      '--listen',
      '/ip4/127.0.0.1/tcp/7002',
      '--bootstrap',
      `/ip4/127.0.0.1/tcp/7000/p2p/${PEER}`,
      '--http',
      '0.0.0.0:8080',
      '--data-dir',
      '/tmp/x',
      '--name',
      'edge-1',
      '--cpus',
      '1.5',
      '--memory',
      '512',
      '--label',
      'zone=edge',
      '--label',
      'gpu=',
      '--log-level',
      'debug',
    ])
    assert.deepEqual(cfg.listen, ['/ip4/127.0.0.1/tcp/7001', '/ip4/127.0.0.1/tcp/7002'])
    assert.deepEqual(cfg.bootstrap, [`/ip4/127.0.0.1/tcp/7000/p2p/${PEER}`])
    assert.deepEqual([cfg.httpHost, cfg.httpPort, cfg.dataDir, cfg.name], ['0.0.0.0', 8080, '/tmp/x', 'edge-1'])
    assert.deepEqual([cfg.cpus, cfg.memoryMb, cfg.logLevel], [1.5, 512, 'debug'])
    assert.deepEqual(cfg.labels, { zone: 'edge', gpu: '' })
  })

  it('picks the task spawner, auto by default', () => {
    assert.equal(parse([]).executor.spawner, 'auto')
    assert.equal(parse(['--spawner', 'child_process']).executor.spawner, 'child_process')
    assert.equal(parse([], { MESHOS_SPAWNER: 'child_process' }).executor.spawner, 'child_process')
  })

  it('takes the task user, its pids limit and its work-dir bound', () => {
    const defaults = parse([]).executor
    assert.deepEqual([defaults.taskUser, defaults.pidsMax, defaults.maxWorkDirBytes], ['nobody', 1024, 1024 ** 3])
    const cfg = parse(['--task-user', 'meshos-tasks', '--task-pids-max', '64', '--task-disk-mb', '10']).executor
    assert.deepEqual([cfg.taskUser, cfg.pidsMax, cfg.maxWorkDirBytes], ['meshos-tasks', 64, 10 * 1024 * 1024])
    assert.equal(parse([], { MESHOS_TASK_USER: '1001' }).executor.taskUser, '1001')
  })

  it('reads MESHOS_* env vars, and flags win over them', () => {
    const env = {
      MESHOS_DATA_DIR: '/env/dir',
      MESHOS_HTTP: '127.0.0.1:9000',
      MESHOS_LABEL: 'a=1,b=2',
      MESHOS_CPUS: '3',
    }
    const cfg = parse(['--cpus', '2'], env)
    assert.equal(cfg.dataDir, '/env/dir')
    assert.equal(cfg.httpPort, 9000)
    assert.deepEqual(cfg.labels, { a: '1', b: '2' })
    assert.equal(cfg.cpus, 2)
  })

  const bad: Array<[string[], RegExp, string?]> = [
    [['--bogus'], /bogus/],
    [['--listen', 'not-a-multiaddr'], /--listen "not-a-multiaddr" is not a valid multiaddr/],
    [['--listen', '/ip4/127.0.0.1/udp/1'], /has no \/tcp/],
    [['--bootstrap', '/ip4/127.0.0.1/tcp/7000'], /has no \/p2p\/<peer-id>/],
    [['--bootstrap', '/ip4/999.1.1.1/tcp/7000'], /not a valid multiaddr/],
    [['--http', 'localhost'], /--http "localhost": expected HOST:PORT/],
    [['--http', '127.0.0.1:70000'], /port must be 0-65535/],
    [['--cpus=-1'], /--cpus "-1": expected a positive number/],
    [['--cpus', '0'], /--cpus "0": expected a positive number/],
    [['--memory', '1.5'], /--memory "1.5": expected a positive integer/],
    [['--label', 'novalue'], /--label "novalue": expected KEY=VALUE/],
    [['--log-level', 'loud'], /--log-level "loud"/],
    [['--spawner', 'fork'], /--spawner "fork": expected one of auto, launcher, child_process/],
    [['--task-user', 'a b'], /--task-user "a b": expected a user name or a numeric uid/],
    [['--task-pids-max', '0'], /--task-pids-max "0": expected a positive integer/],
    [['--task-disk-mb', '1.5'], /--task-disk-mb "1.5": expected a positive integer/],
    [['--label', `k=${'v'.repeat(256)}`], /value is longer than 255 characters/, 'a 256-character label value'],
    [Array.from({ length: 65 }, (_, i) => `--label=k${i}=v`), /at most 64 labels/, '65 labels'],
    [['stray'], /stray/],
  ]
  for (const [args, message, what] of bad) {
    it(`rejects ${what ?? args.join(' ')} with a UsageError`, () => {
      assert.throws(
        () => parseAgentArgs(args, {}),
        (err: unknown) => err instanceof UsageError && message.test(err.message),
      )
    })
  }

  it('parses HOST:PORT forms', () => {
    assert.deepEqual(parseHostPort('[::1]:7070', 'http'), { host: '::1', port: 7070 })
    assert.deepEqual(parseHostPort('7071', 'http'), { host: '127.0.0.1', port: 7071 })
    assert.deepEqual(parse(['--http', '[::1]:7072']).httpHost, '::1')
  })

  it('reads repeatable MESHOS_LISTEN as a comma-separated list', () => {
    assert.deepEqual(parse([], { MESHOS_LISTEN: '/ip4/127.0.0.1/tcp/1, /ip6/::1/tcp/2' }).listen, [
      '/ip4/127.0.0.1/tcp/1',
      '/ip6/::1/tcp/2',
    ])
  })
})
