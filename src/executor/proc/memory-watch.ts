// Enforcing tasks' memory limits by polling: one pass over /proc per period for all running tasks
// (not one per task), summing the RSS of every process in each task's process group. Shared pages
// are counted once per process that maps them, so a tree of forked workers is overestimated; the
// limit errs towards killing, which is the safe side for the node.
//
// Polling can miss a spike shorter than the period, and a fast allocator can overshoot by what it
// allocates in one period; the period bounds both.
//
// The pass reads every process on the machine (a task's group may hold processes that left its
// tree), on the agent's own loop when the launcher spawns tasks: after one listing of /proc it
// reads in slices, so no turn of the loop reads more than PROCESSES_PER_TURN of them, and on a
// machine with so many processes that a pass is slow, the period grows until polling takes at
// most MAX_BUSY_SHARE of the loop.
import { pageSizeBytes, readProcessTableInSlices } from './proc.js'
import type { ExecutorLogger } from '../types.js'

export interface MemoryTarget {
  pgid: number
  limitBytes: number
  onOver: (usedBytes: number) => void
}

/** ~2 ms per turn on the 2-core VM (17 µs per process). */
const PROCESSES_PER_TURN = 128
const MAX_BUSY_SHARE = 0.05

/** The delay before the next pass: the period, or longer if the last pass read for busyMs. */
export function nextPollDelayMs(pollMs: number, busyMs: number): number {
  return Math.max(pollMs, Math.ceil(busyMs / MAX_BUSY_SHARE))
}

export class MemoryWatch {
  private timer: NodeJS.Timeout | null = null
  private stopped = false

  constructor(
    private readonly pollMs: number,
    /** Read at every poll, so the set of tasks can change freely between polls. */
    private readonly targets: () => MemoryTarget[],
    private readonly logger: ExecutorLogger,
    private readonly pageBytes = pageSizeBytes(),
  ) {}

  /** Starts polling unless already polling; polling pauses by itself when there is nothing to watch. */
  wake(): void {
    if (this.timer === null && !this.stopped) this.schedule()
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule(delayMs = this.pollMs): void {
    // The timer stays set while a poll is in flight, so wake() cannot start a second, overlapping one.
    this.timer = setTimeout(() => {
      void this.poll()
    }, delayMs)
    // Running tasks keep the process alive by themselves; this timer alone should not.
    this.timer.unref()
  }

  private async poll(): Promise<void> {
    if (this.targets().length === 0) {
      this.timer = null
      return
    }
    let busyMs = 0
    try {
      const table = await readProcessTableInSlices(PROCESSES_PER_TURN)
      busyMs = table.busyMs
      if (this.stopped) {
        this.timer = null
        return
      }
      const rssPagesByGroup = new Map<number, number>()
      for (const entry of table.entries) {
        rssPagesByGroup.set(entry.pgid, (rssPagesByGroup.get(entry.pgid) ?? 0) + entry.rssPages)
      }
      // Asked again: a task may have ended (or started) while /proc was being read.
      for (const target of this.targets()) {
        const pages = rssPagesByGroup.get(target.pgid)
        if (pages === undefined) continue
        const usedBytes = pages * this.pageBytes
        if (usedBytes > target.limitBytes) target.onOver(usedBytes)
      }
    } catch (err) {
      this.logger.error({ err }, 'memory poll failed')
    }
    if (this.stopped) {
      this.timer = null
      return
    }
    this.schedule(nextPollDelayMs(this.pollMs, busyMs))
  }
}
