// Baseline for the membership benchmark: a libp2p process with the same transports and
// gossipsub as a meshos node, publishing a small message every second, and nothing else.
// Usage: node bare-libp2p-node.js <listen-multiaddr> [peer-multiaddr...]  (dials every peer given)
import { pino } from 'pino'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { P2PHost } from '../../src/p2p/host.js'

const [listen, ...bootstrap] = process.argv.slice(2)
const host = await P2PHost.create({
  privateKey: await generateKeyPair('Ed25519'),
  listen: [listen ?? '/ip4/127.0.0.1/tcp/0'],
  logger: pino({ level: 'silent' }),
  topics: ['bench/1'],
})
host.subscribe(
  'bench/1',
  () => 'accept',
  () => {},
)
for (const addr of bootstrap) await host.dial([addr], 10_000)
process.stdout.write(`${host.multiaddrs()[0]}\n`)
/** About the size of a meshos heartbeat, so the comparison is like for like. */
const PAD = 'x'.repeat(700)
const timer = setInterval(() => {
  void host.publish('bench/1', new TextEncoder().encode(JSON.stringify({ t: Date.now(), pad: PAD })))
}, 1000)
process.on('SIGTERM', () => {
  clearInterval(timer)
  void host.stop().then(() => process.exit(0))
})
