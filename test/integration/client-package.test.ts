// The client as a package: `meshos/client` resolves through package.json's exports to the built
// client and its declarations; a script outside the source tree (test/fixtures/client-consumer)
// compiles against them, its type mistakes caught, and runs against a real one-node cluster; and
// that node's answers match the OpenAPI document it serves.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { AgentProcess } from '../../harness/agent-process.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import { MeshosApiError, MeshClient } from '../../src/client/client.js'
import { DocumentedApi } from '../helpers/openapi.js'

/** This file runs as dist/test/integration/client-package.test.js. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const FIXTURE = path.join(ROOT, 'test/fixtures/client-consumer')
const OUT = path.join(ROOT, 'dist/test/fixtures/client-consumer')
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc')

const TOKEN = 'c8Vn3Qw7Ep1Ry5Tu9Io2Pa6Sd0Fg4Hj8Kl3Zx7Cv1Bn5'

async function runScript(file: string, args: string[], env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [file, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const timer = setTimeout(() => {
    child.kill('SIGKILL')
  }, 30_000)
  const code = await new Promise<number | null>(resolve => child.once('close', resolve))
  clearTimeout(timer)
  assert.equal(code, 0, `${file} exited ${code}: ${stderr}`)
  return stdout
}

describe('the meshos/client package', function () {
  this.timeout(60_000)
  const dirs = new TempDirs()
  let agent: AgentProcess | undefined
  let compiled: { status: number | null; output: string }

  before(async () => {
    const r = spawnSync(process.execPath, [TSC, '-p', FIXTURE, '--outDir', OUT], { encoding: 'utf8', timeout: 60_000 })
    compiled = { status: r.status, output: r.stdout + r.stderr }
    const dataDir = await dirs.make()
    const tokenFile = path.join(dataDir, 'api.token')
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 })
    agent = await AgentProcess.start({
      name: 'solo',
      dataDir,
      extraArgs: ['--http-token-file', tokenFile],
      token: TOKEN,
    })
    const client = agent.client
    await waitFor('the single node to lead', async () => (await client.status()).role === 'leader', 20_000)
  })
  after(async () => {
    await agent?.kill()
    await dirs.cleanup()
  })

  it('resolves through the package exports to the built client, its declarations beside it; the bin stays', () => {
    const resolved = fileURLToPath(import.meta.resolve('meshos/client'))
    assert.equal(resolved, path.join(ROOT, 'dist/src/client/client.js'))
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>
      exports: Record<string, { types: string; default: string }>
    }
    assert.ok(existsSync(path.join(ROOT, pkg.exports['./client']!.types)), 'the declarations exist')
    assert.ok(existsSync(path.join(ROOT, pkg.bin.meshos!)), 'the CLI is still the bin')
  })

  it('compiles a script written against it, with its types (a wrong call is a compile error)', () => {
    // types.ts holds wrong calls marked @ts-expect-error: if the types were `any`, the unused
    // markers would fail this compile.
    assert.equal(compiled.status, 0, compiled.output)
    assert.ok(existsSync(path.join(OUT, 'main.js')))
  })

  it('runs that script against a real node: a task, its output as an async iterator, a typed error', async () => {
    assert.equal(compiled.status, 0, 'the script compiled')
    const out = await runScript(path.join(OUT, 'main.js'), [agent!.client.baseUrl], { MESHOS_TOKEN: TOKEN })
    const seen = JSON.parse(out) as Record<string, unknown>
    assert.deepEqual(seen, {
      nodeId: agent!.peerId,
      state: 'succeeded',
      exitCode: 0,
      output: 'hello from a script\n',
      errorCode: 'not_found',
    })
  })

  it("answers as the document the node serves says, and the client's errors carry the API's code", async () => {
    const client = new MeshClient(agent!.client.baseUrl, { token: TOKEN })
    const api = new DocumentedApi(await client.openapi())
    const { id } = await client.submitTask({ command: 'echo documented' })
    await waitFor('the task to end', async () => (await client.task(id)).state === 'succeeded', 20_000, 100)
    const answers: Array<[string, string, number, unknown]> = [
      ['GET', '/v1/status', 200, await client.status()],
      ['GET', '/v1/nodes', 200, { nodes: await client.nodes() }],
      ['GET', '/v1/nodes/{id}', 200, await client.node(agent!.peerId)],
      ['GET', '/v1/cluster', 200, await client.cluster()],
      ['GET', '/v1/tasks', 200, await client.tasks({ limit: 5 })],
      ['GET', '/v1/tasks/{id}', 200, await client.task(id)],
      ['PUT', '/v1/kv/{key}', 200, await client.kvPut('documented', 'yes')],
      ['GET', '/v1/kv', 200, { items: await client.kvList() }],
      ['DELETE', '/v1/kv/{key}', 200, await client.kvDelete('documented')],
      ['POST', '/v1/tasks', 201, await client.submitTasks([{ argv: ['true'] }])],
    ]
    for (const [method, route, status, body] of answers)
      assert.deepEqual(api.problems(method, route, status, body), [], `${method} ${route}`)
    const refused = await client.cancelTask(id).catch((err: unknown) => err)
    assert.ok(refused instanceof MeshosApiError)
    assert.equal(refused.code, 'conflict')
    assert.deepEqual(
      api.problems('DELETE', '/v1/tasks/{id}', refused.status, {
        error: { code: refused.code, message: refused.message },
      }),
      [],
    )
    assert.match(await client.metrics(), /^# HELP /m)
  })
})
