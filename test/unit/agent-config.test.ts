import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseAgentArgs, parseHostPort } from '../../src/cli/agent-config.js'
import { UsageError } from '../../src/cli/usage.js'
import type { NodeConfig } from '../../src/node/config.js'
import { DEFAULT_HTTP_PORT } from '../../src/http/config.js'

const PEER = '12D3KooWMcvHjP32AuC3nbEFpW1QSJos3MiRiAMCenPDn2zpyfjZ'
const TOKEN = 'k3J9vQ2xL8mN4pR7sT1wY5zA6bC0dE2fG4hI6jK8lM0'
const tmp = mkdtempSync(path.join(os.tmpdir(), 'meshos-agent-config-'))
/** A token file holding `text`, readable by its owner only unless `mode` says otherwise. */
function tokenFile(name: string, text: string, mode = 0o600): string {
  const file = path.join(tmp, name)
  writeFileSync(file, text)
  chmodSync(file, mode)
  return file
}
const parse = (args: string[], env: Record<string, string> = {}): NodeConfig => {
  const cfg = parseAgentArgs(args, env)
  assert.notEqual(cfg, 'help')
  return cfg as NodeConfig
}

describe('meshos agent flags', () => {
  after(() => {
    rmSync(tmp, { recursive: true, force: true })
  })

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
      '--http-token-file',
      tokenFile('every-flag', `${TOKEN}\n`),
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
    assert.equal(cfg.httpToken?.token, TOKEN)
  })

  it('picks the task spawner, auto by default', () => {
    assert.equal(parse([]).executor.spawner, 'auto')
    assert.equal(parse(['--spawner', 'child_process']).executor.spawner, 'child_process')
    assert.equal(parse([], { MESHOS_SPAWNER: 'child_process' }).executor.spawner, 'child_process')
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
    [['--cpus', '1025'], /--cpus "1025": at most 1024 \(peers refuse a node that offers more\)/],
    [['--cpus', '1e300'], /--cpus "1e300": at most 1024/],
    [['--memory', String(16 * 1024 * 1024 + 1)], /--memory "16777217": at most 16777216/],
    [['--label', 'novalue'], /--label "novalue": expected KEY=VALUE/],
    [['--log-level', 'loud'], /--log-level "loud"/],
    [['--spawner', 'fork'], /--spawner "fork": expected one of auto, launcher, child_process/],
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

  it('serves the API on loopback without a token, on any other address only with one', () => {
    assert.equal(parse([]).httpToken, null)
    for (const http of ['127.0.0.1:7070', '127.0.0.2:7070', 'localhost:7070', '[::1]:7070', '7070'])
      assert.equal(parse(['--http', http]).httpToken, null, http)
    for (const http of ['0.0.0.0:7070', '[::]:7070', '192.0.2.1:7070', 'myhost.example:7070']) {
      assert.throws(
        () => parseAgentArgs(['--http', http], {}),
        (err: unknown) =>
          err instanceof UsageError &&
          err.message ===
            `--http "${http}": serving the API on a non-loopback address needs --http-token-file FILE (make one with \`meshos http-token FILE\`)`,
        http,
      )
      assert.throws(() => parseAgentArgs([], { MESHOS_HTTP: http }), UsageError, `MESHOS_HTTP=${http}`)
    }
    const file = tokenFile('ok', `${TOKEN}\n`, 0o640)
    const cfg = parse(['--http', '0.0.0.0:7070', '--http-token-file', file])
    assert.deepEqual(cfg.httpToken, { token: TOKEN, path: file, mode: 0o640 })
    assert.equal(parse([], { MESHOS_HTTP: '[::]:7070', MESHOS_HTTP_TOKEN_FILE: file }).httpToken?.token, TOKEN)
    assert.equal(parse(['--http-token-file', file]).httpToken?.token, TOKEN, 'a token on loopback too')
  })

  const badTokenFiles: Array<[string, () => string, RegExp]> = [
    ['a missing file', () => path.join(tmp, 'missing'), /cannot open it \(ENOENT\)/],
    ['a directory', () => tmp, /is not a regular file/],
    ['an empty file', () => tokenFile('empty', '\n'), /is empty/],
    ['a short token', () => tokenFile('short', 'abc123\n'), /the token has 6 characters, at least 32 are needed/],
    ['two lines', () => tokenFile('two', `${TOKEN}\n${TOKEN}\n`), /holds more than one line/],
    ['a token with spaces', () => tokenFile('spaces', `${TOKEN} ${TOKEN}\n`), /may hold only letters/],
    ['a huge file', () => tokenFile('huge', 'x'.repeat(5000)), /is 5000 bytes; a token file holds one line/],
  ]
  for (const [what, file, message] of badTokenFiles) {
    it(`refuses --http-token-file with ${what}`, () => {
      const name = file()
      assert.throws(
        () => parseAgentArgs(['--http', '0.0.0.0:7070', '--http-token-file', name], {}),
        (err: unknown) =>
          err instanceof UsageError &&
          err.message.startsWith(`--http-token-file "${name}": `) &&
          message.test(err.message),
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
