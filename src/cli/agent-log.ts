// The agent's log: pino JSON lines on stderr for machines (files, journald, a collector), or, on
// a terminal, the same events as one readable line each (pino-pretty, written synchronously like
// the JSON, so a fatal line is out before the process exits).
import { pino, destination, type Logger } from 'pino'
import { PinoPretty } from 'pino-pretty'
import type { LogFormat } from '../node/config.js'

export interface AgentLogOptions {
  level: string
  format: LogFormat
  /** This node's name, in every JSON line as `node`. */
  name: string
}

/** Where the log goes: stderr, or a test's file or pseudo-terminal. */
export interface LogStream {
  fd: number
  isTTY?: boolean
}

export function wantsPretty(format: LogFormat, stream: Pick<LogStream, 'isTTY'>): boolean {
  return format === 'pretty' || (format === 'auto' && stream.isTTY === true)
}

export function agentLogger(opts: AgentLogOptions, stream: LogStream = process.stderr): Logger {
  const options = { level: opts.level, base: { node: opts.name } }
  if (!wantsPretty(opts.format, stream)) return pino(options, destination({ fd: stream.fd, sync: true }))
  return pino(
    options,
    PinoPretty({
      destination: stream.fd,
      sync: true,
      colorize: stream.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      // One node per terminal, named by its banner: its name and id on every line are noise.
      ignore: 'node,nodeId',
      singleLine: true,
    }),
  )
}
