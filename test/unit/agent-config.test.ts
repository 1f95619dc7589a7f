import assert from 'node:assert/strict'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { preSharedKey } from '@libp2p/pnet'
import { defaultLogger } from '@libp2p/logger'
import { parseAgentArgs, parseHostPort } from '../../src/cli/agent-config.js'
import { UsageError } from '../../src/cli/usage.js'
import { StartupError } from '../../src/node/startup-error.js'
import {
  clusterKeyFileIsShared,
  generateClusterKey,
  parseClusterKey,
  readClusterKeyFile,
} from '../../src/p2p/cluster-key.js'
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
      '--voters',
      '3',
      '--standbys',
      '0',
    ])
    assert.deepEqual(cfg.listen, ['/ip4/127.0.0.1/tcp/7001', '/ip4/127.0.0.1/tcp/7002'])
    assert.deepEqual(cfg.bootstrap, [`/ip4/127.0.0.1/tcp/7000/p2p/${PEER}`])
    assert.deepEqual([cfg.httpHost, cfg.httpPort, cfg.dataDir, cfg.name], ['0.0.0.0', 8080, '/tmp/x', 'edge-1'])
    assert.deepEqual([cfg.cpus, cfg.memoryMb, cfg.logLevel], [1.5, 512, 'debug'])
    assert.deepEqual(cfg.labels, { zone: 'edge', gpu: '' })
    assert.equal(cfg.httpToken?.token, TOKEN)
    assert.deepEqual([cfg.election.maxVoters, cfg.election.maxStandbys], [3, 0])
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
    [['--cpus', '1025'], /--cpus "1025": at most 1024 \(peers refuse a node that offers more\)/],
    [['--cpus', '1e300'], /--cpus "1e300": at most 1024/],
    [['--memory', String(16 * 1024 * 1024 + 1)], /--memory "16777217": at most 16777216/],
    [['--label', 'novalue'], /--label "novalue": expected KEY=VALUE/],
    [['--log-level', 'loud'], /--log-level "loud"/],
    [['--spawner', 'fork'], /--spawner "fork": expected one of auto, launcher, child_process/],
    [['--task-user', 'a b'], /--task-user "a b": expected a user name or a numeric uid/],
    [['--voters', '10'], /--voters "10": at most 9/],
    [['--standbys=-1'], /--standbys "-1": expected an integer 0-9/],
    [['--standbys', '1.5'], /--standbys "1.5": expected an integer 0-9/],
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

describe('meshos agent: cluster key and exposure', () => {
  let dir: string
  let keyFile: string
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'meshos-agent-config-'))
    keyFile = path.join(dir, 'cluster.key')
    writeFileSync(keyFile, generateClusterKey(), { mode: 0o600 })
  })
  after(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const file = (name: string, text: string, mode = 0o600): string => {
    const f = path.join(dir, name)
    writeFileSync(f, text, { mode })
    chmodSync(f, mode)
    return f
  }
  const startupError = (args: string[], message: RegExp, env: Record<string, string> = {}): void => {
    assert.throws(
      () => parseAgentArgs(args, env),
      (err: unknown) => err instanceof StartupError && message.test(err.message),
    )
  }
  const usageError = (args: string[], message: RegExp, env: Record<string, string> = {}): void => {
    assert.throws(
      () => parseAgentArgs(args, env),
      (err: unknown) => err instanceof UsageError && message.test(err.message),
    )
  }

  it('has no key and is not insecure by default', () => {
    const cfg = parse([])
    assert.equal(cfg.clusterKey, null)
    assert.equal(cfg.insecure, false)
  })

  it('reads --cluster-key FILE, or MESHOS_CLUSTER_KEY_FILE, into the canonical form pnet takes', () => {
    const fromFlag = parse(['--cluster-key', keyFile])
    assert.equal(fromFlag.clusterKey?.file, keyFile)
    assert.equal(new TextDecoder().decode(fromFlag.clusterKey?.psk), readFileSync(keyFile, 'utf8').trimEnd())
    assert.equal(fromFlag.clusterKey?.mode, 0o600)
    assert.deepEqual(parse([], { MESHOS_CLUSTER_KEY_FILE: keyFile }).clusterKey, fromFlag.clusterKey)
  })

  it('refuses a missing, unreadable or malformed key file with a StartupError naming it', () => {
    startupError(['--cluster-key', path.join(dir, 'nope.key')], /nope\.key cannot be read: no such file.*meshos keygen/)
    startupError(['--cluster-key', dir], /is not a file/)
    startupError(['--cluster-key', file('empty.key', '')], /expected the three lines/)
    startupError(['--cluster-key', file('junk.key', 'junk\n')], /junk\.key: expected the three lines/)
    const [header, encoding, hex] = generateClusterKey().trimEnd().split('\n') as [string, string, string]
    startupError(['--cluster-key', file('header.key', `/key/swarm/psk/2.0.0/\n${encoding}\n${hex}`)], /first line/)
    startupError(['--cluster-key', file('encoding.key', `${header}\n/base64/\n${hex}`)], /second line/)
    startupError(['--cluster-key', file('short.key', `${header}\n${encoding}\n${hex.slice(2)}`)], /third line/)
    startupError(['--cluster-key', file('nothex.key', `${header}\n${encoding}\n${hex.slice(1)}g`)], /third line/)
    startupError(['--cluster-key', file('big.key', 'x'.repeat(5000))], /5000 bytes/)
  })

  it('accepts the key file with CRLF line ends, without the final newline, or with upper-case hex', () => {
    const key = generateClusterKey()
    const canonical = new TextDecoder().decode(parseClusterKey(key, 'k'))
    assert.equal(new TextDecoder().decode(parseClusterKey(key.replace(/\n/g, '\r\n'), 'k')), canonical)
    assert.equal(new TextDecoder().decode(parseClusterKey(key.trimEnd(), 'k')), canonical)
    const [header, encoding, hex] = key.trimEnd().split('\n') as [string, string, string]
    const upper = `${header}\n${encoding}\n${hex.toUpperCase()}\n`
    assert.equal(new TextDecoder().decode(parseClusterKey(upper, 'k')), canonical)
  })

  it('says whether a key file is readable by group or others', () => {
    assert.equal(clusterKeyFileIsShared(readClusterKeyFile(keyFile)), false)
    const shared = file('shared.key', generateClusterKey(), 0o644)
    assert.equal(clusterKeyFileIsShared(readClusterKeyFile(shared)), true)
  })

  const exposed: Array<[string[], RegExp]> = [
    [['--listen', '/ip4/0.0.0.0/tcp/7000'], /--listen \/ip4\/0\.0\.0\.0\/tcp\/7000 is not a loopback address/],
    [['--listen', '/ip6/::/tcp/7000'], /--listen \/ip6\/::\/tcp\/7000 is not a loopback address/],
    [['--listen', '/ip4/192.168.1.5/tcp/7000'], /192\.168\.1\.5/],
    [['--listen', '/ip4/127.0.0.1/tcp/7000', '--listen', '/ip4/10.0.0.1/tcp/7000'], /10\.0\.0\.1/],
    [['--listen', '/dns4/localhost/tcp/7000'], /\/dns4\/localhost/],
    [['--bootstrap', `/ip4/10.0.0.2/tcp/7000/p2p/${PEER}`], /--bootstrap \/ip4\/10\.0\.0\.2/],
  ]
  for (const [args, message] of exposed) {
    it(`refuses ${args.join(' ')} without a key, pointing to --cluster-key and meshos keygen`, () => {
      usageError(args, message)
      usageError(args, /--cluster-key FILE.*meshos keygen.*--insecure/)
    })
  }

  it('allows loopback without a key, and any address with a key or --insecure', () => {
    assert.deepEqual(parse(['--listen', '/ip4/127.0.0.2/tcp/1', '--listen', '/ip6/::1/tcp/2']).listen, [
      '/ip4/127.0.0.2/tcp/1',
      '/ip6/::1/tcp/2',
    ])
    const keyed = parse(['--listen', '/ip4/0.0.0.0/tcp/7000', '--cluster-key', keyFile])
    assert.equal(keyed.insecure, false)
    assert.notEqual(keyed.clusterKey, null)
    const insecure = parse(['--listen', '/ip4/0.0.0.0/tcp/7000', '--insecure'])
    assert.deepEqual([insecure.insecure, insecure.clusterKey], [true, null])
    assert.equal(parse(['--listen', '/ip6/::/tcp/7000'], { MESHOS_INSECURE: '1' }).insecure, true)
  })

  it('refuses --insecure with a key, and a MESHOS_INSECURE that is not a yes or no', () => {
    usageError(['--insecure', '--cluster-key', keyFile], /--insecure contradicts --cluster-key/)
    usageError([], /MESHOS_INSECURE "maybe"/, { MESHOS_INSECURE: 'maybe' })
    assert.equal(parse(['--listen', '/ip4/127.0.0.1/tcp/7000'], { MESHOS_INSECURE: 'false' }).insecure, false)
  })

  it('generates keys pnet accepts, a new one each time', () => {
    const a = generateClusterKey()
    assert.match(a, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    assert.notEqual(generateClusterKey(), a)
    // pnet decodes the key when the protector is made: a key it refuses throws here.
    assert.doesNotThrow(() => preSharedKey({ psk: parseClusterKey(a, 'k') })({ logger: defaultLogger() }))
    assert.throws(() => preSharedKey({ psk: new TextEncoder().encode('junk') })({ logger: defaultLogger() }))
  })
})
