// A hostile peer that holds the cluster key and speaks membership v2 by hand: it can sign its own
// record (so it can become a member, as any key holder can), answer probes to stay one, leave, and
// send whatever raw frames and events a test wants.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { fromString } from 'uint8arrays'
import type { P2PHost } from '../../src/p2p/host.js'
import { RecordSigner } from '../../src/p2p/record-signer.js'
import {
  MEMBERSHIP_PROTOCOL,
  MEMBERSHIP_TOPIC,
  decodeDirect,
  encodeDirect,
  signedBytes,
} from '../../src/gossip/wire.js'
import type { MemberInfo, MemberRecord, MemberSnapshot } from '../../src/gossip/core/types.js'
import type { AgentProcess } from '../../harness/agent-process.js'
import { waitFor } from '../../harness/wait-for.js'
import { loopbackHost } from './fixtures.js'

const LIMITS = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxQueuedBytes: 8 * 1024 * 1024,
  dialTimeoutMs: 5000,
  redialBackoffMs: 100,
}

export class RogueMember {
  private answering = false
  private listening = false
  /** Each join comes back as a new incarnation, as a restarted node does. */
  private incarnation = 0
  private constructor(
    readonly host: P2PHost,
    private readonly signer: RecordSigner,
  ) {}

  static async create(): Promise<RogueMember> {
    const key = await generateKeyPair('Ed25519')
    return new RogueMember(await loopbackHost({ privateKey: key }), new RecordSigner(key))
  }

  get peerId(): string {
    return this.host.peerId
  }

  /** Its own record, signed with its key; `over` may put anything in it (the signature stays valid). */
  record(over: Partial<MemberInfo> = {}, incarnation = 1, seq = 0): MemberRecord {
    const info: MemberInfo = {
      nodeId: this.peerId,
      name: 'rogue',
      addrs: this.host.multiaddrs(),
      capacity: { cpus: 1, memoryMb: 64 },
      labels: {},
      version: 'x',
      startedAt: 0,
      ...over,
    }
    const unsigned = { info, incarnation, seq }
    return { ...unsigned, signature: Buffer.from(this.signer.sign(signedBytes(unsigned))).toString('base64') }
  }

  /** The incarnation of its latest join (0 before it joined). */
  get joinedIncarnation(): number {
    return this.incarnation
  }

  snapshot(record: MemberRecord = this.record()): MemberSnapshot {
    return { record, state: 'alive', stateIncarnation: record.incarnation, stateAgeMs: 0 }
  }

  /** A frame on the membership protocol, exactly these bytes. */
  sendRaw(to: AgentProcess, bytes: Uint8Array): boolean {
    return this.host.sendFrame(to.peerId, MEMBERSHIP_PROTOCOL, bytes, LIMITS)
  }

  /** A frame with this JSON value, version 2, however wrong the rest. */
  sendJson(to: AgentProcess, value: object): boolean {
    return this.sendRaw(to, fromString(JSON.stringify({ v: 2, ...value })))
  }

  async publishJson(value: object): Promise<void> {
    await this.host.publish(MEMBERSHIP_TOPIC, fromString(JSON.stringify({ v: 2, ...value })))
  }

  /** Joins through `agent` as a member and keeps answering its probes, as a node would; `over`
   * goes into the record it joins with. */
  async join(agent: AgentProcess, over: Partial<MemberInfo> = {}): Promise<void> {
    await this.host.dial([agent.addr], 5000)
    this.answering = true
    if (!this.listening) {
      this.listening = true
      await this.host.handleFrames(MEMBERSHIP_PROTOCOL, LIMITS.maxFrameBytes, (from, bytes) => {
        const msg = decodeDirect(bytes)
        if (msg.ok && msg.value.type === 'probe' && this.answering) {
          this.host.sendFrame(from, MEMBERSHIP_PROTOCOL, encodeDirect({ type: 'ack', seq: msg.value.seq }), LIMITS)
        }
      })
    }
    this.incarnation++
    this.sendRaw(
      agent,
      encodeDirect({ type: 'syncHello', root: [0, 0], joining: this.snapshot(this.record(over, this.incarnation)) }),
    )
    await waitFor(
      'the victim to list the rogue alive',
      async () => (await agent.stateOf(this.peerId)) === 'alive',
      5000,
    )
  }

  /** Leaves, telling `agent` directly, and stops answering probes. */
  async leave(agent: AgentProcess): Promise<void> {
    this.answering = false
    this.sendRaw(agent, encodeDirect({ type: 'left', incarnation: this.incarnation }))
    await waitFor(
      'the victim to list the rogue as left',
      async () => (await agent.stateOf(this.peerId)) === 'left',
      5000,
    )
  }

  async stop(): Promise<void> {
    this.answering = false
    await this.host.stop()
  }
}
