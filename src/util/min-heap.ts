// A binary min-heap: the fair queue picks the tenant with the lowest dominant share once per task,
// and the membership core pops due suspicion timers, each in O(log n) instead of a scan.

export class MinHeap<T> {
  private readonly items: T[] = []

  /** `less(a, b)`: a comes out before b. Must be a strict total order for a deterministic pop order. */
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length
  }

  push(item: T): void {
    const items = this.items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(items[i]!, items[parent]!)) break
      this.swap(i, parent)
      i = parent
    }
  }

  /** The item pop() would return, left in place. */
  peek(): T | undefined {
    return this.items[0]
  }

  pop(): T | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    items[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < items.length && this.less(items[left]!, items[smallest]!)) smallest = left
      if (right < items.length && this.less(items[right]!, items[smallest]!)) smallest = right
      if (smallest === i) return top
      this.swap(i, smallest)
      i = smallest
    }
  }

  private swap(a: number, b: number): void {
    const items = this.items
    const tmp = items[a]!
    items[a] = items[b]!
    items[b] = tmp
  }
}
