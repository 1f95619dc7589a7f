// Peers that some part of the node needs a connection to (Raft's voters and learners, the leader):
// membership never closes those, however far outside its own active view they are.

export class PeersInUse {
  private readonly sources: Array<() => Iterable<string>> = []

  /** A part of the node that needs connections registers where to find out to whom. */
  add(source: () => Iterable<string>): void {
    this.sources.push(source)
  }

  has(peerId: string): boolean {
    for (const source of this.sources) for (const id of source()) if (id === peerId) return true
    return false
  }
}
