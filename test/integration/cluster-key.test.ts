// The cluster key with real agent processes over loopback: nodes holding the key form a
// cluster; a node with another key and a node with none never get a connection, never appear
// in the keyed nodes' member lists, and are never given a task.
import assert from 'node:assert/strict'
import { AgentProcess } from '../../harness/agent-process.js'
import { writeClusterKeyFile } from '../../harness/cluster-key.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import { waitConverged } from '../helpers/membership.js'
import { submitMany, waitTerminal } from '../helpers/tasks.js'

async function refusedByKey(agent: AgentProcess): Promise<number> {
  const text = await (await fetch(`${agent.client.baseUrl}/metrics`)).text()
  const line = text.split('\n').find(l => l.startsWith('meshos_p2p_peers_refused_total{reason="private_network"}'))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

describe('cluster key with real processes', function () {
  this.timeout(120_000)
  const dirs = new TempDirs()
  const agents: AgentProcess[] = []

  after(async () => {
    await Promise.all(agents.map(async a => await a.kill()))
    await dirs.cleanup()
  })

  it('keyed nodes form a cluster; nodes with another key or none cannot join it or run its tasks', async () => {
    const a = await AgentProcess.start({ name: 'keyed-1', dataDir: await dirs.make() })
    agents.push(a)
    const b = await AgentProcess.start({ name: 'keyed-2', dataDir: await dirs.make(), bootstrap: [a.addr] })
    agents.push(b)
    await waitConverged([a, b], 20_000)
    const keyed = new Set([a.peerId, b.peerId])

    const otherKey = writeClusterKeyFile(await dirs.make('meshos-other-key-'))
    const stranger = await AgentProcess.start({
      name: 'other-key',
      dataDir: await dirs.make(),
      bootstrap: [a.addr],
      clusterKey: otherKey,
    })
    agents.push(stranger)
    const keyless = await AgentProcess.start({
      name: 'no-key',
      dataDir: await dirs.make(),
      bootstrap: [a.addr],
      clusterKey: null,
    })
    agents.push(keyless)

    /** The keyed nodes list only each other, every time they are asked. */
    const assertOnlyKeyedMembers = async (): Promise<void> => {
      for (const k of [a, b]) {
        const ids = (await k.nodes()).map(n => n.id)
        assert.deepEqual(new Set(ids), keyed, `${k.opts.name} lists ${ids.join(', ')}`)
      }
    }

    // Both outsiders keep trying to join through a: each attempt is refused and counted there.
    await waitFor(
      'keyed-1 to refuse both outsiders',
      async () => {
        await assertOnlyKeyedMembers()
        return (await refusedByKey(a)) >= 2
      },
      20_000,
      200,
    )
    for (const outsider of [stranger, keyless]) {
      assert.match(outsider.logs, /connection refused: peer not in the same private network/)
      assert.deepEqual(
        (await outsider.nodes()).map(n => n.id),
        [outsider.peerId],
        `${outsider.opts.name} knows only itself`,
      )
    }

    // Spread placement would use every member it knows: the tasks land on the keyed nodes only.
    const ids = await submitMany(
      a,
      Array.from({ length: 6 }, (_, i) => ({ command: 'true', cpus: 0.1, name: `k${i}` })),
    )
    const done = await Promise.all(ids.map(async id => await waitTerminal(a, id, 30_000)))
    for (const t of done) {
      assert.equal(t.state, 'succeeded', JSON.stringify(t))
      for (const node of [t.node, ...t.attempts.map(at => at.node)])
        assert.ok(node !== null && keyed.has(node), `${t.id} ran on ${node}`)
    }
    assert.equal(new Set(done.map(t => t.node)).size, 2, 'spread used both keyed nodes')
    for (const outsider of [stranger, keyless]) {
      // An outsider holds no log and knows no leader, so it cannot answer for the cluster's tasks.
      const listed = await fetch(`${outsider.client.baseUrl}/v1/tasks`)
      assert.equal(listed.status, 503, `${outsider.opts.name} answers for no task`)
      assert.equal(((await listed.json()) as { error: { code: string } }).error.code, 'no_leader')
    }
    await assertOnlyKeyedMembers()
  })
})
