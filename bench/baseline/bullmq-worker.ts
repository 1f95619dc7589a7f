// Baseline for the tasks benchmark: one BullMQ worker process. Each job spawns `/bin/true` and
// completes when it exits 0; the job's return value carries the time the process spawned (epoch
// ms with a fraction, the same clock reading meshos workers record as startedAt).
// Usage: node bullmq-worker.js <redis-port> <queue> <concurrency>   (prints "ready" when serving)
import { spawn } from 'node:child_process'
import { Worker } from 'bullmq'

const [port, queue, concurrency] = process.argv.slice(2)

async function runTrue(): Promise<{ startedAt: number }> {
  return await new Promise((resolve, reject) => {
    let startedAt = NaN
    const child = spawn('/bin/true', [], { stdio: 'ignore' })
    child.once('spawn', () => {
      startedAt = performance.timeOrigin + performance.now()
    })
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      if (code === 0) resolve({ startedAt })
      else reject(new Error(`/bin/true exited with ${code ?? signal}`))
    })
  })
}

const worker = new Worker(queue ?? 'bench', runTrue, {
  connection: { host: '127.0.0.1', port: Number(port) },
  concurrency: Number(concurrency ?? '1'),
})
worker.on('error', err => {
  process.stderr.write(`worker error: ${err.message}\n`)
})
await worker.waitUntilReady()
process.stdout.write('ready\n')
process.on('SIGTERM', () => {
  void worker.close().finally(() => process.exit(0))
})
