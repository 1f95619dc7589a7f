// Spawning with Node's child_process: the fallback when the launcher was not built. The task runs
// detached (its own session and group, pgid = pid); its output comes through pipes that LogSinks
// copy into the log files up to the cap.
import { spawn } from 'node:child_process'
import { closeSync } from 'node:fs'
import { LogSink } from '../files/log-sink.js'
import { readStartTimeSync } from '../proc/proc.js'
import { openRegularForWrite } from '../files/safe-open.js'
import type { SpawnedProcess, SpawnEvents, Spawner, SpawnSpec } from './spawner.js'
import type { ExecutorLogger } from '../types.js'

function errorCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return e?.code ?? e?.message ?? String(err)
}

export class ChildProcessSpawner implements Spawner {
  readonly kind = 'child_process'
  readonly killsGroupOnExit = false
  readonly startTimeLater = false
  readonly preparesWorkDir = false

  constructor(private readonly logger: ExecutorLogger) {}

  spawn(spec: SpawnSpec, events: SpawnEvents): SpawnedProcess {
    const fds: number[] = []
    const fail = (message: string): SpawnedProcess => {
      for (const fd of fds) closeSync(fd)
      queueMicrotask(() => events.onSpawnFailed(message))
      return { closeOutput() {} }
    }
    try {
      fds.push(openRegularForWrite(spec.log.stdout))
      fds.push(openRegularForWrite(spec.log.stderr))
    } catch (err) {
      return fail(`cannot open log ${(err as NodeJS.ErrnoException).path ?? ''}: ${errorCode(err)}`)
    }

    let child
    try {
      child = spawn(spec.file, spec.args, {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    } catch (err) {
      // Synchronous failures: invalid arguments (a NUL byte in argv or env), some kernel errors.
      return fail(`spawn ${spec.file}: ${errorCode(err)}`)
    }
    if (child.stdout === null || child.stderr === null) throw new Error('unreachable: stdio is piped')
    // Undefined after a runtime spawn failure, which the 'error' event then reports. Read now:
    // the child cannot have been reaped before this tick ends.
    const pid = child.pid
    const startTime = pid === undefined ? null : readStartTimeSync(pid)
    const sinks = [
      new LogSink(child.stdout, fds[0], spec.maxLogBytes, spec.truncatedMarker.stdout, this.logger, {
        pid,
        log: spec.log.stdout,
      }),
      new LogSink(child.stderr, fds[1], spec.maxLogBytes, spec.truncatedMarker.stderr, this.logger, {
        pid,
        log: spec.log.stderr,
      }),
    ]
    let exited = false
    child.once('spawn', () => {
      if (pid !== undefined) events.onSpawned(pid, startTime)
    })
    child.on('error', err => {
      if (pid !== undefined) return // a later error of a running child: its exit still comes
      // Runtime spawn failures (ENOENT, EACCES, ...) arrive here, with no pid and no 'exit'.
      child.stdout?.destroy()
      child.stderr?.destroy()
      void Promise.all(sinks.map(async sink => await sink.closed)).then(() =>
        events.onSpawnFailed(`spawn ${spec.file}: ${errorCode(err)}`),
      )
    })
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (exited) return
      exited = true
      events.onExited(code, signal)
    }
    child.once('exit', onExit)
    child.once('close', (code, signal) => {
      if (pid === undefined) return
      onExit(code, signal)
      void Promise.all(sinks.map(async sink => await sink.closed)).then(() => events.onOutputClosed())
    })
    return {
      closeOutput() {
        child.stdout?.destroy()
        child.stderr?.destroy()
      },
    }
  }

  close(): void {}
}
