// Open-loop submission: work goes out on a fixed schedule, never waiting for earlier answers, so
// a slow system shows as latency instead of lowering the offered load.
import { sleep } from '../lib/async.js'

/** Open loop: call `submit` every `intervalMs` (absolute schedule, never waiting for answers).
 * Returns each call's result, its send time (epoch ms) and how long it took to resolve. */
export async function paced<T>(
  n: number,
  intervalMs: number,
  submit: () => Promise<T>,
): Promise<{ values: T[]; sentAt: number[]; resolveMs: number[] }> {
  const values: T[] = new Array(n)
  const sentAt: number[] = new Array(n)
  const resolveMs: number[] = new Array(n)
  const inFlight: Array<Promise<void>> = []
  let failure: unknown = null
  const t0 = performance.now()
  const deadline = t0 + n * intervalMs + 30_000
  for (let i = 0; i < n && failure == null; i++) {
    const wait = t0 + i * intervalMs - performance.now()
    // Behind schedule: still yield, so earlier submissions get sent and answered (an open loop
    // must not turn into a synchronous burst that delays its own requests).
    if (wait > 0) await sleep(wait)
    else await new Promise(resolve => setImmediate(resolve))
    if (performance.now() > deadline) throw new Error(`paced submission overran its time bound at ${i} of ${n}`)
    const sendPerf = performance.now()
    sentAt[i] = performance.timeOrigin + sendPerf
    inFlight.push(
      submit().then(
        v => {
          values[i] = v
          resolveMs[i] = performance.now() - sendPerf
        },
        err => {
          failure ??= err
        },
      ),
    )
  }
  await Promise.all(inFlight)
  if (failure != null) throw failure
  return { values, sentAt, resolveMs }
}
