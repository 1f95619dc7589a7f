// One string order for every id comparison in the scheduler. Code-unit order, not localeCompare:
// the plan must not depend on the locale of the master that computes it.

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
