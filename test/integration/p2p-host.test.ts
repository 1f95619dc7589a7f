// The libp2p adapter in-process: gossip relayed through a middle peer reaches the far end with
// its author (not the relay) named, and request/response frames work with their limits.
import assert from 'node:assert/strict'
import { fromString, toString } from 'uint8arrays'
import type { P2PHost } from '../../src/p2p/host.js'
import { waitFor } from '../../harness/wait-for.js'
import { loopbackHost } from '../helpers/fixtures.js'

const TOPIC = 'test/relay/1'
const newHost = async (): Promise<P2PHost> => await loopbackHost({ topics: [TOPIC] })

describe('p2p host', function () {
  this.timeout(30_000)
  let hosts: P2PHost[] = []
  afterEach(async () => {
    await Promise.all(
      hosts.map(async h => {
        await h.stop()
      }),
    )
    hosts = []
  })

  it("a message relayed by a middle peer is validated and delivered as its author's", async () => {
    const [a, relay, z] = (hosts = [await newHost(), await newHost(), await newHost()])
    const validatedAuthors: string[] = []
    const delivered: Array<{ author: string; text: string }> = []
    for (const h of hosts) {
      h.subscribe(
        TOPIC,
        author => {
          if (h === z) validatedAuthors.push(author)
          return 'accept'
        },
        (author, data) => {
          if (h === z) delivered.push({ author, text: toString(data) })
        },
      )
    }
    // a — relay — z: a and z are never connected to each other.
    await a!.dial(relay!.multiaddrs(), 5000)
    await z!.dial(relay!.multiaddrs(), 5000)
    await waitFor('relay to know both subscriptions', async () => relay!.topicPeers(TOPIC).length === 2, 10_000)
    await waitFor('a to know the relay subscribed', async () => a!.topicPeers(TOPIC).includes(relay!.peerId), 10_000)
    assert.equal(a!.connectedPeers().includes(z!.peerId), false)
    // The relay forwards only to its gossip mesh, which forms on gossipsub's 1 s heartbeat:
    // keep publishing until one arrives.
    await waitFor(
      'z to receive a relayed message',
      async () => {
        await a!.publish(TOPIC, fromString('hello'))
        return delivered.length > 0
      },
      15_000,
      300,
    )
    assert.equal(delivered[0]?.author, a!.peerId)
    assert.equal(delivered[0]?.text, 'hello')
    assert.ok(
      validatedAuthors.every(p => p === a!.peerId),
      `validator saw ${validatedAuthors.join(',')}`,
    )
  })

  it('request/response carries one frame each way and enforces the response limit', async () => {
    const [server, client] = (hosts = [await newHost(), await newHost()])
    await server!.handle('/test/echo/1.0.0', { maxRequestBytes: 1024, timeoutMs: 5000 }, async (from, req) =>
      fromString(`${from}:${toString(req)}`),
    )
    const res = await client!.request(server!.multiaddrs()[0]!, '/test/echo/1.0.0', fromString('ping'), {
      timeoutMs: 5000,
      maxResponseBytes: 1024,
    })
    assert.equal(toString(res), `${client!.peerId}:ping`)
    await assert.rejects(
      client!.request(server!.peerId, '/test/echo/1.0.0', fromString('x'.repeat(100)), {
        timeoutMs: 5000,
        maxResponseBytes: 10,
      }),
    )
  })
})
