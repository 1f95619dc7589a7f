// The nodes of one scheduling round as parallel typed arrays in id order, which the placement scan
// (rankers.ts) reads once per task: a round places thousands of tasks over thousands of nodes, and
// reading numbers side by side costs a fraction of following each node's objects (at 5,000 nodes
// a placement went from ~400 to ~20 µs). The NodeLoad objects are kept in step for the
// explanations of tasks left pending, which run the feasibility pipeline node by node.
import { addToLoad, firstMissingLabel, initialLoad, type Demand, type NodeLoad } from './feasibility.js'
import type { SchedulerNode, SchedulerTask } from './types.js'

export class Fleet {
  readonly size: number
  readonly loads: NodeLoad[]
  readonly capacityCpus: Float64Array
  readonly capacityMemoryMb: Float64Array
  /** What each node holds so far in this round: the log's allocation plus this plan's placements. */
  readonly usedCpus: Float64Array
  readonly usedMemoryMb: Float64Array
  readonly taskCount: Float64Array
  /** Indices of the alive, non-draining nodes: the only ones a task can be offered. */
  readonly takingWork: Int32Array
  /** 1 for the preferred node (it wins full ties under spread and bin-pack). */
  readonly preferred: Uint8Array
  /** Which nodes carry a set of constraints' labels, per set seen this round (few: tasks share them). */
  private readonly labelMatches = new Map<string, Uint8Array>()

  /** `nodes` sorted by id. */
  constructor(
    readonly nodes: readonly SchedulerNode[],
    preferredNodeId: string | undefined,
  ) {
    const n = nodes.length
    this.size = n
    this.loads = nodes.map(initialLoad)
    this.capacityCpus = new Float64Array(n)
    this.capacityMemoryMb = new Float64Array(n)
    this.usedCpus = new Float64Array(n)
    this.usedMemoryMb = new Float64Array(n)
    this.taskCount = new Float64Array(n)
    this.preferred = new Uint8Array(n)
    const taking: number[] = []
    for (let i = 0; i < n; i++) {
      const node = nodes[i]!
      this.capacityCpus[i] = node.capacity.cpus
      this.capacityMemoryMb[i] = node.capacity.memoryMb
      this.usedCpus[i] = node.allocated.cpus
      this.usedMemoryMb[i] = node.allocated.memoryMb
      this.taskCount[i] = node.taskCount
      if (node.id === preferredNodeId) this.preferred[i] = 1
      if (node.alive && !node.draining) taking.push(i)
    }
    this.takingWork = Int32Array.from(taking)
  }

  /** Per node, 1 when it has every label the demand requires; null when it requires none. */
  labelFilter(demand: Demand): Uint8Array | null {
    if (demand.constraints.length === 0) return null
    const key = JSON.stringify(demand.constraints.map(c => [c.key, c.value]))
    let match = this.labelMatches.get(key)
    if (match === undefined) {
      match = new Uint8Array(this.size)
      for (let i = 0; i < this.size; i++) match[i] = firstMissingLabel(demand, this.nodes[i]!.labels) === null ? 1 : 0
      this.labelMatches.set(key, match)
    }
    return match
  }

  place(index: number, task: SchedulerTask): void {
    this.usedCpus[index] += task.cpus
    this.usedMemoryMb[index] += task.memoryMb
    this.taskCount[index]++
    addToLoad(this.loads[index]!, task)
  }
}
