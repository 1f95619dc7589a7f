// This node's end of /meshos/assign: one handler for the protocol, which decodes each frame once
// and hands a worker's frames to the leader's feed and the leader's frames to the worker's stream
// (a node may be either, and changes with the elections).
import type { P2PHost } from '../p2p/host.js'
import type { NodeMetrics } from '../metrics/node-metrics.js'
import { ASSIGN_FRAME_MAX_BYTES, ASSIGN_PROTOCOL, decodeAssignFrame } from './assign-wire.js'
import type { AssignmentFeed } from './assignment-feed.js'
import type { AssignmentStream } from './assignment-stream.js'

export async function startAssignEndpoint(
  host: P2PHost,
  metrics: NodeMetrics,
  feed: AssignmentFeed,
  stream: AssignmentStream,
): Promise<void> {
  await host.handleFrames(ASSIGN_PROTOCOL, ASSIGN_FRAME_MAX_BYTES, (from, bytes) => {
    const frame = decodeAssignFrame(bytes)
    if (!frame.ok) {
      metrics.wireRejected.inc({ protocol: ASSIGN_PROTOCOL, reason: frame.reason })
      return
    }
    const msg = frame.value
    if (msg.type === 'hello' || msg.type === 'ack') feed.onFrame(from, msg)
    else stream.onFrame(from, msg)
  })
}
