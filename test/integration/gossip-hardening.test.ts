// Gossipsub as a node runs it, against a peer that holds the cluster key but misbehaves: topic
// announcements outside the node's topics leave no trace, and invalid messages cost the sender
// its mesh place, then its connection.
import assert from 'node:assert/strict'
import { fromString, toString } from 'uint8arrays'
import type { P2PHost, PeerRefusalReason } from '../../src/p2p/host.js'
import { GOSSIP_SCORE_THRESHOLDS } from '../../src/p2p/gossip-options.js'
import { waitFor } from '../../harness/wait-for.js'
import { loopbackHost } from '../helpers/fixtures.js'

const TOPIC = 'test/hardening/1'
const RANDOM_TOPICS = Array.from({ length: 200 }, (_, i) => `junk/${i}/${Math.random().toString(36).slice(2)}`)

describe('gossipsub hardening', function () {
  this.timeout(30_000)
  let hosts: P2PHost[] = []
  afterEach(async () => {
    await Promise.all(hosts.map(async h => await h.stop()))
    hosts = []
  })

  /** A victim subscribed to TOPIC, delivering what `validate` accepts to `received`, and counting
   * in `foreign` the gossip it got for topics outside `topics`. */
  async function victimHost(
    topics = [TOPIC],
    onPeerRefused?: (reason: PeerRefusalReason) => void,
  ): Promise<{ host: P2PHost; received: string[]; foreign: { count: number } }> {
    const foreign = { count: 0 }
    const host = await loopbackHost({
      topics,
      ...(onPeerRefused != null ? { onPeerRefused } : {}),
      onForeignTopics: count => {
        foreign.count += count
      },
    })
    const received: string[] = []
    host.subscribe(
      TOPIC,
      (_author, data) => (toString(data).startsWith('valid') ? 'accept' : 'reject'),
      (_author, data) => received.push(toString(data)),
    )
    hosts.push(host)
    return { host, received, foreign }
  }

  /** A peer that announces each of RANDOM_TOPICS to `victim`, one RPC each, then publishes a
   * marker on TOPIC: once the victim has the marker, it has processed every announcement.
   * Returns the victim's topic count before and after the announcements. */
  async function announceRandomTopics(victim: {
    host: P2PHost
    received: string[]
  }): Promise<{ before: number; after: number }> {
    const rogue = await loopbackHost({ topics: [TOPIC, ...RANDOM_TOPICS] })
    hosts.push(rogue)
    rogue.subscribe(
      TOPIC,
      () => 'accept',
      () => {},
    )
    await rogue.dial(victim.host.multiaddrs(), 5000)
    await waitFor('the rogue to see the victim subscribed', async () => rogue.topicPeers(TOPIC).length === 1, 10_000)
    await waitFor(
      'the victim to see the rogue subscribed',
      async () => victim.host.topicPeers(TOPIC).length === 1,
      10_000,
    )
    const before = victim.host.gossipTopicCount()
    for (const topic of RANDOM_TOPICS)
      rogue.subscribe(
        topic,
        () => 'accept',
        () => {},
      )
    const marker = `valid marker ${Math.random()}`
    await rogue.publish(TOPIC, fromString(marker))
    await waitFor('the victim to get the marker', async () => victim.received.includes(marker), 10_000)
    return { before, after: victim.host.gossipTopicCount() }
  }

  it('a peer announcing endless topics does not grow the topic table, and each announcement is counted', async () => {
    const victim = await victimHost()
    const { before, after } = await announceRandomTopics(victim)
    assert.equal(after, before)
    assert.equal(victim.foreign.count, RANDOM_TOPICS.length)
  })

  it('(control) the same announcements do grow a host that allows those topics, and are not counted', async () => {
    const victim = await victimHost([TOPIC, ...RANDOM_TOPICS])
    const { before, after } = await announceRandomTopics(victim)
    assert.equal(after, before + RANDOM_TOPICS.length)
    assert.equal(victim.foreign.count, 0)
  })

  it('a peer publishing invalid messages is pruned from the mesh, then disconnected and refused', async () => {
    const refused: PeerRefusalReason[] = []
    const victim = await victimHost([TOPIC], r => refused.push(r))
    const rogue = await loopbackHost({ topics: [TOPIC] })
    hosts.push(rogue)
    rogue.subscribe(
      TOPIC,
      () => 'accept',
      () => {},
    )
    await rogue.dial(victim.host.multiaddrs(), 5000)
    // The mesh forms on gossipsub's 1 s heartbeat.
    await waitFor(
      'the rogue in the victim mesh',
      async () => victim.host.meshPeers(TOPIC).includes(rogue.peerId),
      10_000,
    )
    assert.ok(victim.host.gossipScore(rogue.peerId) >= 0)

    await rogue.publish(TOPIC, fromString('junk 1'))
    await waitFor('a negative score', async () => victim.host.gossipScore(rogue.peerId) < 0, 5000)
    await waitFor('the rogue pruned', async () => !victim.host.meshPeers(TOPIC).includes(rogue.peerId), 5000)
    assert.ok(victim.host.connectedPeers().includes(rogue.peerId), 'one invalid message does not cost the connection')

    await rogue.publish(TOPIC, fromString('junk 2'))
    await rogue.publish(TOPIC, fromString('junk 3'))
    await waitFor(
      'the penalty below the graylist threshold',
      async () => victim.host.invalidGossipPenalty(rogue.peerId) < GOSSIP_SCORE_THRESHOLDS.graylistThreshold,
      5000,
    )
    await waitFor('the rogue disconnected', async () => !victim.host.connectedPeers().includes(rogue.peerId), 5000)
    assert.ok(refused.length > 0 && refused.every(r => r === 'gossip_score'), refused.join(','))
    const cuts = refused.length
    // The dialler's half of the upgrade may complete before the victim's gater refuses it.
    await rogue.dial(victim.host.multiaddrs(), 5000).catch(() => {})
    await waitFor('the reconnection refused', async () => refused.length > cuts, 5000)
    await waitFor('the rogue to see no connection', async () => rogue.connectedPeers().length === 0, 5000)
    assert.ok(!victim.host.connectedPeers().includes(rogue.peerId))
    assert.deepEqual(victim.received, [])
  })
})
