// The scheduler's view of the nodes never trusts a capacity no node may advertise: a member that
// claims 1e300 cpus (or NaN, or just past the bound) draws no task, under every policy.
import assert from 'node:assert/strict'
import { Placer } from '../../src/tasks/placer.js'
import { TaskTable } from '../../src/tasks/task-table.js'
import { MEMBERSHIP_LIMITS } from '../../src/gossip/config.js'
import { parseTaskSpec } from '../../src/tasks/spec.js'
import type { TaskClusterView } from '../../src/tasks/cluster-port.js'
import type { SchedulerPolicy } from '../../src/scheduler/types.js'
import { memberInfo, memberView, staticMembers } from '../helpers/fixtures.js'

const claims: Array<[string, { cpus: number; memoryMb: number }]> = [
  ['1e300 of everything', { cpus: 1e300, memoryMb: 1e300 }],
  ['NaN cpus', { cpus: Number.NaN, memoryMb: 1024 }],
  ['infinite memory', { cpus: 8, memoryMb: Number.POSITIVE_INFINITY }],
  ['one cpu past the bound', { cpus: MEMBERSHIP_LIMITS.maxCpus + 1, memoryMb: 1024 }],
]

describe('placer: capacity claims', () => {
  for (const policy of ['spread', 'bin-pack', 'round-robin'] as SchedulerPolicy[]) {
    for (const [what, capacity] of claims) {
      it(`${policy}: a member claiming ${what} draws no task; honest nodes still get theirs`, () => {
        // Reached the table without the wire schema (which drops such records first).
        const members = staticMembers(memberInfo('self', { capacity: { cpus: 2, memoryMb: 4096 } }), [
          memberView(memberInfo('rogue', { capacity })),
          memberView(memberInfo('honest', { capacity: { cpus: 2, memoryMb: 4096 } })),
        ])
        const table = new TaskTable()
        const spec = parseTaskSpec({ command: 'true', cpus: 1, memoryMb: 64 })
        assert.ok(spec.ok)
        table.apply(
          {
            type: 'task.submit',
            tasks: Array.from({ length: 20 }, (_, i) => ({ id: `t${i}`, spec: spec.spec, submittedAt: 1 })),
          },
          1,
        )
        const cluster = { table, isReadyLeader: () => true, term: () => 1 } as unknown as TaskClusterView
        const placer = new Placer({ self: 'self', cluster, members, policy, maxTasksPerRound: 100 })
        const plan = placer.planRound(1000)
        assert.ok(plan !== null)
        const nodes = plan.assignments.map(a => a.nodeId)
        assert.ok(!nodes.includes('rogue'), `rogue got ${nodes.filter(n => n === 'rogue').length} tasks`)
        assert.equal(nodes.length, 4, 'two cpus each on self and honest')
        assert.deepEqual(placer.schedulerNodes().find(n => n.id === 'rogue')?.capacity, { cpus: 0, memoryMb: 0 })
      })
    }
  }
})
