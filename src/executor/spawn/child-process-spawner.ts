// Spawning with Node's child_process: the fallback when the launcher was not built. The task runs
// detached (its own session and group, pgid = pid); its output comes through pipes that LogSinks
// copy into the log files up to the cap. Node's spawn sets the user and group (and clears the
// supplementary groups) itself; it cannot join a cgroup or set a resource limit between fork and
// exec, so a task that needs either starts as a small /bin/sh that sets the limit, waits until the
// executor has moved it into its cgroups (one line on its stdin), and then execs the task: nothing
// of the task runs outside them. The program is looked up first (as execvp would, on the task's
// PATH), so that one that does not exist is still a spawn_error, not sh's exit 127.
import { spawn } from 'node:child_process'
import { closeSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
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

    const cgroupProcs = spec.cgroupProcs ?? []
    const wrapped = wrapper(spec)
    if (wrapped !== null) {
      const missing = programProblem(spec.file, spec.env.PATH)
      if (missing !== null) return fail(`spawn ${spec.file}: ${missing}`)
    }
    let child
    try {
      child = spawn(wrapped?.file ?? spec.file, wrapped?.args ?? spec.args, {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: [cgroupProcs.length > 0 ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        ...(spec.user == null ? {} : { uid: spec.user.uid, gid: spec.user.gid }),
      })
    } catch (err) {
      // Synchronous failures: invalid arguments (a NUL byte in argv or env), some kernel errors.
      return fail(`spawn ${spec.file}: ${errorCode(err)}`)
    }
    if (child.stdout === null || child.stderr === null) throw new Error('unreachable: stdio is piped')
    // Into its cgroups before it may go on (it waits for the line): as the agent, which may move it.
    let joinFailure: string | null = null
    if (cgroupProcs.length > 0 && child.pid !== undefined) {
      try {
        for (const procs of cgroupProcs) writeFileSync(procs, String(child.pid))
        child.stdin?.end('go\n')
      } catch (err) {
        joinFailure = `cannot join the task's cgroup: ${errorCode(err)}`
        child.kill('SIGKILL')
      }
    }
    child.stdin?.on('error', () => {})
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
      if (pid !== undefined && joinFailure === null) events.onSpawned(pid, startTime)
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
      if (exited || joinFailure !== null) return
      exited = true
      events.onExited(code, signal)
    }
    child.once('exit', onExit)
    child.once('close', (code, signal) => {
      if (pid === undefined) return
      onExit(code, signal)
      void Promise.all(sinks.map(async sink => await sink.closed)).then(() => {
        if (joinFailure === null) events.onOutputClosed()
        else events.onSpawnFailed(joinFailure)
      })
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

/** As execvp: ENOENT if no such file is found (a bare name on `searchPath`, as the task's PATH
 * says), EACCES if what is found cannot be executed; null if it can. */
function programProblem(file: string, searchPath: string | undefined): string | null {
  const candidates = file.includes('/')
    ? [file]
    : (searchPath ?? '/usr/local/bin:/usr/bin:/bin').split(':').map(dir => path.join(dir === '' ? '.' : dir, file))
  let problem = 'ENOENT'
  for (const candidate of candidates) {
    try {
      const st = statSync(candidate)
      if (st.isFile() && (st.mode & 0o111) !== 0) return null
      problem = 'EACCES'
    } catch {}
  }
  return problem
}

/** 512-byte blocks, the unit of sh's ulimit -f (POSIX). */
const ULIMIT_BLOCK_BYTES = 512

/** The /bin/sh that sets the file-size limit and waits to be moved into the cgroups, or null when
 * the task needs neither. The task's file and arguments are its $0 and $@. */
function wrapper(spec: SpawnSpec): { file: string; args: string[] } | null {
  const steps: string[] = []
  if (spec.maxFileBytes != null) steps.push(`ulimit -f ${Math.floor(spec.maxFileBytes / ULIMIT_BLOCK_BYTES)}`)
  if ((spec.cgroupProcs ?? []).length > 0) steps.push('read go')
  if (steps.length === 0) return null
  steps.push('exec "$0" "$@" </dev/null')
  return { file: '/bin/sh', args: ['-c', steps.join(' && '), spec.file, ...spec.args] }
}
