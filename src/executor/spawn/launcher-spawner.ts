// Spawning through meshos-launcher (native/launcher.c, which describes the protocol and says why
// it exists). One launcher process per executor; requests go down its stdin, fixed-size event
// records come back on its stdout.
import { spawn, type ChildProcess } from 'node:child_process'
import { constants } from 'node:os'
import { getSystemErrorName } from 'node:util'
import type { SpawnedProcess, SpawnEvents, Spawner, SpawnSpec } from './spawner.js'
import type { ExecutorLogger } from '../types.js'

const REQ_SPAWN = 1
const REQ_CLOSE_OUTPUT = 2
const EV_SPAWNED = 1
const EV_SPAWN_FAILED = 2
const EV_EXITED = 3
const EV_CLOSED = 4
const EV_START_TIME = 5
const EVENT_BYTES = 24

const STAGE_STDOUT_LOG = 1
const STAGE_STDERR_LOG = 2
const STAGE_PIPE = 3
const STAGE_WORK_DIR = 5
const STAGE_CGROUP = 6
const STAGE_USER = 7
const STAGE_ENTER_WORK_DIR = 8
const STAGE_FILE_LIMIT = 9
/** uid and gid for "the launcher's own user". */
const SAME_USER = 0xffffffff
/** The first name of each number, as Node reports it (SIGABRT, not its alias SIGIOT). */
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>()
for (const [name, value] of Object.entries(constants.signals))
  if (!SIGNAL_NAMES.has(value)) SIGNAL_NAMES.set(value, name as NodeJS.Signals)

function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno)
  } catch {
    return `errno ${errno}`
  }
}

function frame(type: number, id: number, body: Buffer[] = []): Buffer {
  const head = Buffer.alloc(12)
  head.writeUInt32LE(8 + body.reduce((sum, part) => sum + part.length, 0), 0)
  head.writeUInt32LE(type, 4)
  head.writeUInt32LE(id, 8)
  return Buffer.concat([head, ...body])
}

function u32(value: number): Buffer {
  const buf = Buffer.alloc(4)
  buf.writeUInt32LE(value)
  return buf
}

/** NUL-terminated strings, as the launcher reads them; a NUL inside one cannot be passed. */
function strings(list: string[]): Buffer[] {
  return list.map(s => Buffer.from(s + '\0', 'utf8'))
}

interface InFlight {
  spec: SpawnSpec
  events: SpawnEvents
  exited: boolean
  closed: boolean
}

function failureMessage(spec: SpawnSpec, stage: number, errno: string): string {
  switch (stage) {
    case STAGE_STDOUT_LOG:
      return `cannot open log ${spec.log.stdout}: ${errno}`
    case STAGE_STDERR_LOG:
      return `cannot open log ${spec.log.stderr}: ${errno}`
    case STAGE_PIPE:
      return `cannot create output pipe: ${errno}`
    case STAGE_WORK_DIR:
      return `cannot prepare ${spec.cwd}: ${errno}`
    case STAGE_CGROUP:
      return `cannot join the task's cgroup: ${errno}`
    case STAGE_USER:
      return `cannot become uid ${spec.user?.uid} gid ${spec.user?.gid}: ${errno}`
    case STAGE_ENTER_WORK_DIR:
      return `the task's user cannot enter ${spec.cwd}: ${errno}`
    case STAGE_FILE_LIMIT:
      return `cannot set the file-size limit: ${errno}`
    default:
      return `spawn ${spec.file}: ${errno}`
  }
}

export class LauncherSpawner implements Spawner {
  readonly kind = 'launcher'
  readonly killsGroupOnExit = true
  readonly startTimeLater = true
  readonly preparesWorkDir = true
  private readonly child: ChildProcess
  private readonly inFlight = new Map<number, InFlight>()
  private nextId = 1
  private partial = Buffer.alloc(0)
  private closing = false

  /** `nodeCgroups`: the node's cgroup directories, which the launcher empties and removes when
   * its executor goes away (native/launcher.c). */
  constructor(
    path: string,
    private readonly logger: ExecutorLogger,
    onDied: (reason: string) => void,
    nodeCgroups: string[] = [],
  ) {
    const args = nodeCgroups.flatMap(dir => ['--cgroup', dir])
    this.child = spawn(path, args, { stdio: ['pipe', 'pipe', 'inherit'] })
    this.child.stdout?.on('data', (chunk: Buffer) => this.receive(chunk))
    // EPIPE after the launcher died: its exit is reported below.
    this.child.stdin?.on('error', err => this.logger.debug({ err }, 'launcher stdin error'))
    let died = false
    const die = (reason: string): void => {
      if (this.closing || died) return
      died = true
      onDied(reason)
    }
    this.child.on('error', err => {
      die(`meshos-launcher could not run: ${err.message}`)
    })
    // 'close', not 'exit': its stdout is read to the end by then, so every SPAWNED it sent has
    // been dispatched and the caller knows each task's pid when it hears of the death (and can
    // kill them). No task holds that pipe (launcher.c gives tasks their own stdout).
    this.child.on('close', (code, signal) => {
      die(`meshos-launcher exited (code ${code}, signal ${signal})`)
    })
  }

  spawn(spec: SpawnSpec, events: SpawnEvents): SpawnedProcess {
    const id = this.nextId
    this.nextId = this.nextId === 0xffffffff ? 1 : this.nextId + 1
    const argv = [spec.file, ...spec.args]
    const env = Object.entries(spec.env).map(([name, value]) => `${name}=${value}`)
    const head = [
      spec.file,
      spec.cwd,
      spec.log.stdout,
      spec.log.stderr,
      spec.truncatedMarker.stdout,
      spec.truncatedMarker.stderr,
    ]
    const cgroupProcs = spec.cgroupProcs ?? []
    if ([...head, ...argv, ...env, ...cgroupProcs].some(text => text.includes('\0'))) {
      queueMicrotask(() =>
        events.onSpawnFailed(`spawn ${spec.file}: ERR_INVALID_ARG_VALUE (a NUL byte in argv, env or a path)`),
      )
      return { closeOutput() {} }
    }
    if (this.closing) {
      queueMicrotask(() => events.onSpawnFailed(`spawn ${spec.file}: the executor is stopping`))
      return { closeOutput() {} }
    }
    const maxLogBytes = Buffer.alloc(8)
    maxLogBytes.writeBigUInt64LE(BigInt(spec.maxLogBytes))
    const maxFileBytes = Buffer.alloc(8)
    maxFileBytes.writeBigUInt64LE(BigInt(spec.maxFileBytes ?? 0))
    this.inFlight.set(id, { spec, events, exited: false, closed: false })
    this.child.stdin?.write(
      frame(REQ_SPAWN, id, [
        maxLogBytes,
        ...strings(head),
        u32(argv.length),
        ...strings(argv),
        u32(env.length),
        ...strings(env),
        u32(spec.user?.uid ?? SAME_USER),
        u32(spec.user?.gid ?? SAME_USER),
        maxFileBytes,
        u32(cgroupProcs.length),
        ...strings(cgroupProcs),
      ]),
    )
    return {
      closeOutput: () => {
        if (this.inFlight.has(id)) this.child.stdin?.write(frame(REQ_CLOSE_OUTPUT, id))
      },
    }
  }

  close(): void {
    this.closing = true
    // EOF: the launcher SIGKILLs whatever is still running and exits.
    this.child.stdin?.end()
  }

  private receive(chunk: Buffer): void {
    let data = this.partial.length === 0 ? chunk : Buffer.concat([this.partial, chunk])
    let at = 0
    for (; data.length - at >= EVENT_BYTES; at += EVENT_BYTES) {
      this.dispatch(
        data.readUInt32LE(at),
        data.readUInt32LE(at + 4),
        data.readInt32LE(at + 8),
        data.readInt32LE(at + 12),
        data.readBigUInt64LE(at + 16),
      )
    }
    data = data.subarray(at)
    this.partial = data.length === 0 ? Buffer.alloc(0) : Buffer.from(data)
  }

  private dispatch(type: number, id: number, a: number, b: number, c: bigint): void {
    const run = this.inFlight.get(id)
    if (run === undefined) {
      this.logger.warn({ type, id }, 'launcher event for an unknown spawn')
      return
    }
    switch (type) {
      case EV_SPAWNED:
        run.events.onSpawned(a, null)
        return
      case EV_START_TIME:
        run.events.onStartTime(c === 0n ? null : c.toString())
        return
      case EV_SPAWN_FAILED:
        this.inFlight.delete(id)
        run.events.onSpawnFailed(failureMessage(run.spec, b, errnoName(a)))
        return
      case EV_EXITED:
        run.exited = true
        run.events.onExited(a >= 0 ? a : null, a >= 0 ? null : (SIGNAL_NAMES.get(b) ?? null))
        break
      case EV_CLOSED:
        run.closed = true
        run.events.onOutputClosed()
        break
      default:
        this.logger.error({ type, id }, 'unknown launcher event')
    }
    if (run.exited && run.closed) this.inFlight.delete(id)
  }
}
