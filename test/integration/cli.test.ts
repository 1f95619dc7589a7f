// The meshos binary as a user runs it: mistakes exit 2 with one clear line, `meshos dev` brings
// up a real cluster and takes it down without leaving processes behind, and the query commands
// print what the API says.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, fchmodSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import net from 'node:net'
import { MESHOS_BIN } from '../../harness/agent-process.js'
import { freePort } from '../../harness/free-port.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import { MeshClient } from '../../src/client/client.js'
import { readClusterKeyFile } from '../../src/p2p/cluster-key.js'

const PEER = '12D3KooWMcvHjP32AuC3nbEFpW1QSJos3MiRiAMCenPDn2zpyfjZ'

function meshos(
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MESHOS_BIN, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env },
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('meshos CLI', function () {
  this.timeout(60_000)
  const dirs = new TempDirs()
  after(async () => {
    await dirs.cleanup()
  })

  const usageMistakes: Array<[string[], RegExp]> = [
    [[], /no command given/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['agent', '--bogus'], /Unknown option '--bogus'/],
    [['agent', '--listen', '/ip4/nope/tcp/1'], /--listen "\/ip4\/nope\/tcp\/1" is not a valid multiaddr/],
    [['agent', '--bootstrap', '/ip4/127.0.0.1/tcp/7000'], /has no \/p2p\/<peer-id>/],
    [['agent', '--http', 'nonsense'], /expected HOST:PORT/],
    [
      ['agent', '--http', '0.0.0.0:7070'],
      /--http "0.0.0.0:7070": serving the API on a non-loopback address needs --http-token-file FILE/,
    ],
    [['nodes', '--addr', 'ftp:x'], /expected a URL/],
    [['dev', '--nodes', '0'], /--nodes "0": expected an integer 1-64/],
    [['agent', '--listen', '/ip4/0.0.0.0/tcp/0'], /is not a loopback address.*--cluster-key FILE.*meshos keygen/],
    [['keygen', 'now'], /keygen takes no arguments/],
  ]
  for (const [args, message] of usageMistakes) {
    it(`\`meshos ${args.join(' ')}\` prints the problem and usage, exits 2`, () => {
      const r = meshos(args)
      assert.equal(r.status, 2, r.stderr)
      assert.match(r.stderr.split('\n')[0] ?? '', message)
      assert.match(r.stderr, /usage: meshos/)
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    })
  }

  it('a bad env var is reported like the flag', () => {
    const r = meshos(['agent'], { MESHOS_BOOTSTRAP: `/ip4/127.0.0.1/tcp/7000/p2p/${PEER},/ip4/127.0.0.1/tcp/7001` })
    assert.equal(r.status, 2)
    assert.match(r.stderr, /bootstrap address "\/ip4\/127.0.0.1\/tcp\/7001" has no \/p2p/)
  })

  for (const which of ['p2p', 'http'] as const) {
    it(`a ${which} port already in use is one clear line and exit 2`, async () => {
      const blocker = net.createServer()
      await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
      const busy = (blocker.address() as net.AddressInfo).port
      try {
        const p2p = which === 'p2p' ? busy : await freePort()
        const http = which === 'http' ? busy : await freePort()
        const r = meshos([
          'agent',
          '--data-dir',
          await dirs.make(),
          '--listen',
          `/ip4/127.0.0.1/tcp/${p2p}`,
          '--http',
          `127.0.0.1:${http}`,
        ])
        assert.equal(r.status, 2, r.stderr)
        const lines = r.stderr
          .trim()
          .split('\n')
          .filter(l => !l.startsWith('{'))
        assert.equal(lines.length, 1, r.stderr)
        assert.match(
          lines[0] ?? '',
          which === 'p2p'
            ? /cannot listen on .*address already in use/
            : /cannot serve HTTP on .*address already in use/,
        )
      } finally {
        blocker.close()
      }
    })
  }

  it('`meshos http-token` prints a new token; with FILE it writes one for its owner only, never over a file', async () => {
    const [a, b] = [meshos(['http-token']), meshos(['http-token'])]
    assert.equal(a.status, 0, a.stderr)
    assert.match(a.stdout, /^[A-Za-z0-9_-]{43}\n$/)
    assert.notEqual(a.stdout, b.stdout)
    const file = path.join(await dirs.make(), 'api.token')
    const wrote = meshos(['http-token', file])
    assert.equal(wrote.status, 0, wrote.stderr)
    assert.equal(statSync(file).mode & 0o777, 0o600)
    const token = readFileSync(file, 'utf8')
    assert.match(token, /^[A-Za-z0-9_-]{43}\n$/)
    const again = meshos(['http-token', file])
    assert.equal(again.status, 2)
    assert.match(again.stderr, /exists; a token file is never overwritten/)
    assert.equal(readFileSync(file, 'utf8'), token)
  })

  it('a missing or malformed cluster key file is one clear line and exit 2', async () => {
    const dir = await dirs.make()
    writeFileSync(path.join(dir, 'bad.key'), 'not a key\n', { mode: 0o600 })
    for (const [file, message] of [
      ['missing.key', /cluster key .*missing\.key cannot be read: no such file/],
      ['bad.key', /cluster key .*bad\.key: expected the three lines/],
    ] as const) {
      const r = meshos(['agent', '--data-dir', dir, '--cluster-key', path.join(dir, file)])
      assert.equal(r.status, 2, r.stderr)
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
      assert.match(r.stderr, message)
    }
  })

  it('`meshos keygen` writes a new key in the pnet format, owner-only when stdout is a file', async () => {
    const [first, second] = [meshos(['keygen']), meshos(['keygen'])]
    assert.equal(first.status, 0, first.stderr)
    assert.match(first.stdout, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    assert.notEqual(second.stdout, first.stdout)
    // `meshos keygen > cluster.key` under a umask of 022.
    const file = path.join(await dirs.make(), 'cluster.key')
    const fd = openSync(file, 'w', 0o644)
    fchmodSync(fd, 0o644)
    const r = spawnSync(process.execPath, [MESHOS_BIN, 'keygen'], { stdio: ['ignore', fd, 'pipe'] })
    closeSync(fd)
    assert.equal(r.status, 0, String(r.stderr))
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(readClusterKeyFile(file).psk.length, 95)
  })

  it('`meshos nodes` against no node says it cannot reach it and exits 1', async () => {
    const r = meshos(['nodes', '--addr', `http://127.0.0.1:${await freePort()}`])
    assert.equal(r.status, 1)
    assert.match(r.stderr, /cannot reach meshos node at http:\/\/127\.0\.0\.1:\d+/)
  })

  it('`meshos dev --nodes 3` comes up, serves nodes/status, and Ctrl-C leaves no process behind', async () => {
    // Three consecutive free ports are likely but not certain; use a random high base per run.
    const base = 20_000 + Math.floor(Math.random() * 20_000)
    const devDir = await dirs.make()
    const dev = spawn(
      process.execPath,
      [
        MESHOS_BIN,
        'dev',
        '--nodes',
        '3',
        '--dir',
        devDir,
        '--base-port',
        String(base),
        '--http-base-port',
        String(base + 100),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    dev.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    dev.stderr.on('data', (d: Buffer) => {
      out += d.toString()
    })
    const exited = new Promise<number | null>(resolve =>
      dev.once('exit', code => {
        resolve(code)
      }),
    )
    try {
      await waitFor('the dev cluster to report running', async () => /cluster of 3 running/.test(out), 45_000, 100)
      const pids = [...out.matchAll(/pid (\d+)/g)].map(m => Number(m[1]))
      assert.equal(pids.length, 3, out)
      // One key for the cluster, owner-only, given to every agent (each banner's join command
      // names it; the banner follows the health check that dev waits for).
      const keyFile = path.join(devDir, 'cluster.key')
      assert.match(out, new RegExp(`cluster key: ${keyFile}`))
      assert.equal(statSync(keyFile).mode & 0o777, 0o600)
      for (const n of [1, 2, 3])
        await waitFor(
          `node ${n} to print a join command with the key`,
          async () =>
            readFileSync(path.join(devDir, `node-${n}`, 'agent.log'), 'utf8').includes(`--cluster-key ${keyFile}`),
          10_000,
        )
      const addr = `http://127.0.0.1:${base + 100}`
      await waitFor(
        '3 alive members',
        async () => (await new MeshClient(addr).nodes()).filter(n => n.state === 'alive').length === 3,
        10_000,
      )

      const table = meshos(['nodes', '--addr', addr])
      assert.equal(table.status, 0, table.stderr)
      const rows = table.stdout.trim().split('\n')
      assert.match(rows[0] ?? '', /^NAME\s+ID\s+STATE/)
      assert.deepEqual(
        rows.slice(1).map(r =>
          r
            .split(/\s+/)
            .slice(0, 3)
            .filter((_, i) => i !== 1),
        ),
        [
          ['dev-1', 'alive'],
          ['dev-2', 'alive'],
          ['dev-3', 'alive'],
        ],
      )
      const json = JSON.parse(meshos(['nodes', '--json'], { MESHOS_ADDR: addr }).stdout)
      assert.equal(json.nodes.length, 3)
      const status = meshos(['status', '--addr', addr])
      assert.match(status.stdout, /node: {5}dev-1 \(12D3Koo/)
      // The first node bootstrapped the cluster; the leader grows it to 3 voters.
      await waitFor('3 voters', async () => (await new MeshClient(addr).cluster()).voters.length === 3, 15_000, 200)
      // At a glance: the role, the leader, the voters and the health; no colour into a pipe.
      const glance = meshos(['status', '--addr', addr])
      assert.equal(glance.status, 0, glance.stderr)
      assert.match(glance.stdout, /^role: {5}(leader|follower)$/m)
      assert.match(glance.stdout, /^leader: {3}dev-\d \(12D3Koo\S+\)$/m)
      assert.match(glance.stdout, /^voters: {3}dev-\d.*, dev-\d.*, dev-\d/m)
      assert.match(glance.stdout, /^health: {3}ok: 3 of 3 voters alive; 3 nodes: 3 alive$/m)
      assert.ok(!glance.stdout.includes('\x1b'), glance.stdout)
      const cluster = meshos(['cluster', '--addr', addr])
      assert.equal(cluster.status, 0, cluster.stderr)
      assert.match(cluster.stdout, /^leader: 12D3Koo\S+ {3}term: \d+/)
      const roles = cluster.stdout
        .trim()
        .split('\n')
        .slice(2)
        .map(r => r.split(/\s+/)[2])
        .sort()
      assert.deepEqual(roles, ['leader', 'voter', 'voter'])

      dev.kill('SIGINT')
      assert.equal(await exited, 0, out)
      assert.match(out, /all nodes stopped/)
      for (const pid of pids) assert.equal(pidAlive(pid), false, `agent pid ${pid} still running`)
    } finally {
      dev.kill('SIGKILL')
      for (const pid of [...out.matchAll(/pid (\d+)/g)].map(m => Number(m[1]))) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {}
      }
    }
  })
})
