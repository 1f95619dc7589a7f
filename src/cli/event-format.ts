// One line per event for `meshos events`: id, time, topic, type, then what happened in words.
import type { MeshEvent, ResyncNotice } from '../client/client.js'

const shortId = (id: string): string => (id.length > 16 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id)
const who = (id: string, name: string | null): string => (name === null ? shortId(id) : `${name} (${shortId(id)})`)
const because = (reason: string | null): string => (reason === null || reason === '' ? '' : ` (${reason})`)

function describe(e: MeshEvent): string {
  switch (e.topic) {
    case 'members':
      return `${who(e.data.nodeId, e.data.name)} ${e.data.from ?? 'new'} → ${e.data.to}${because(e.data.reason)}`
    case 'leader':
      return e.type === 'elected' && e.data.leader !== null
        ? `${who(e.data.leader, e.data.name)} leads term ${e.data.term}; this node is ${e.data.role}`
        : `no leader known in term ${e.data.term}; this node is ${e.data.role}`
    case 'voters':
      return `${who(e.data.nodeId, e.data.name)}; now ${e.data.voters.length} voters, ${e.data.learners.length} learners`
    case 'tasks': {
      const d = e.data
      const where = d.node === null ? '' : ` on ${d.nodeName ?? shortId(d.node)}`
      return `${d.id} ${d.from ?? 'new'} → ${d.to}${where}, attempt ${d.attempt}${because(d.reason)}`
    }
    case 'drain':
      return `${who(e.data.nodeId, e.data.name)}: ${e.data.running} running${e.data.message === null ? '' : `; ${e.data.message}`}`
  }
}

export function formatEvent(e: MeshEvent): string {
  return `${e.id.padEnd(6)}  ${e.time}  ${e.topic.padEnd(7)}  ${e.type.padEnd(15)}  ${describe(e)}`
}

export function formatResync(notice: ResyncNotice): string {
  return `${notice.lastEventId.padEnd(6)}  resync: ${notice.message} (${notice.reason})`
}
