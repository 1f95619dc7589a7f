// A refresh that many things may ask for at once: it never runs twice at the same time, starts
// at most once per interval, and every request made while it runs or waits folds into one more run.

export class Coalesced {
  private running = false
  private again = false
  private timer: ReturnType<typeof setTimeout> | null = null
  private lastStartMs = -Infinity

  constructor(
    private readonly job: () => Promise<void>,
    private readonly minIntervalMs: number,
  ) {}

  /** Runs the job soon: at once if it has not run within the interval. */
  request(): void {
    if (this.running) {
      this.again = true
      return
    }
    if (this.timer !== null) return
    const waitMs = Math.max(0, this.lastStartMs + this.minIntervalMs - Date.now())
    this.timer = setTimeout(() => {
      this.timer = null
      void this.run()
    }, waitMs)
  }

  private async run(): Promise<void> {
    this.running = true
    this.lastStartMs = Date.now()
    try {
      await this.job()
    } finally {
      this.running = false
      if (this.again) {
        this.again = false
        this.request()
      }
    }
  }
}
