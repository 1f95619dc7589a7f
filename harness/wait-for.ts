// Bounded polling of a condition another process settles, for tests and benchmarks.

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`
 * with the last observation, so a failure says what was seen instead of "timeout". */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown = 'never probed'
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
      last = value
    } catch (err) {
      last = (err as Error).message
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}
