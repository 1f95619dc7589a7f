// The cluster key between real libp2p hosts in-process: the same key connects; another key or
// none is refused on both sides, with errors that name the cause, and counted.
import assert from 'node:assert/strict'
import type { P2PHost, PeerRefusalReason } from '../../src/p2p/host.js'
import { generateClusterKey, parseClusterKey } from '../../src/p2p/cluster-key.js'
import { waitFor } from '../../harness/wait-for.js'
import { loopbackHost } from '../helpers/fixtures.js'

const newKey = (): Uint8Array => parseClusterKey(generateClusterKey(), 'test')

describe('private network between libp2p hosts', function () {
  this.timeout(30_000)
  const key = newKey()
  let hosts: P2PHost[] = []
  let refused: PeerRefusalReason[] = []
  /** A keyed host that records what it refuses. */
  let victim: P2PHost

  beforeEach(async () => {
    refused = []
    victim = await loopbackHost({ clusterKey: key, onPeerRefused: r => refused.push(r) })
    hosts = [victim]
  })

  afterEach(async () => {
    await Promise.all(hosts.map(async h => await h.stop()))
  })

  it('hosts with the same key connect', async () => {
    const peer = await loopbackHost({ clusterKey: key })
    hosts.push(peer)
    assert.equal(await peer.dial(victim.multiaddrs(), 5000), victim.peerId)
    await waitFor('the victim to list the connection', async () => victim.connectedPeers().includes(peer.peerId), 5000)
    assert.deepEqual(refused, [])
  })

  it('a host with another key is refused either way, with an error naming the cause', async () => {
    const stranger = await loopbackHost({ clusterKey: newKey() })
    hosts.push(stranger)
    await assert.rejects(stranger.dial(victim.multiaddrs(), 5000), /is not in this private network/)
    await waitFor('the refusal to be counted', async () => refused.includes('private_network'), 5000)
    await assert.rejects(victim.dial(stranger.multiaddrs(), 5000), /is not in this private network/)
    assert.deepEqual(victim.connectedPeers(), [])
    assert.deepEqual(stranger.connectedPeers(), [])
  })

  it('a host with no key is refused either way, and told that its peer has one', async () => {
    const keyless = await loopbackHost({ clusterKey: null })
    hosts.push(keyless)
    await assert.rejects(keyless.dial(victim.multiaddrs(), 5000), /probably in a private network/)
    await waitFor('the refusal to be counted', async () => refused.includes('private_network'), 5000)
    await assert.rejects(victim.dial(keyless.multiaddrs(), 5000), /is not in this private network/)
    assert.deepEqual(victim.connectedPeers(), [])
    assert.deepEqual(keyless.connectedPeers(), [])
  })

  it('hosts without a key still connect to each other', async () => {
    const [a, b] = [await loopbackHost({ clusterKey: null }), await loopbackHost({ clusterKey: null })]
    hosts.push(a, b)
    assert.equal(await a.dial(b.multiaddrs(), 5000), b.peerId)
  })
})
