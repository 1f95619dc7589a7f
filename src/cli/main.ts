#!/usr/bin/env node
// The `meshos` binary: dispatches to a command. Usage mistakes print one line plus the usage and
// exit 2; start-up problems the operator must fix (a port in use) print one line and exit 2.
import '../p2p/polyfills.js'
import v8 from 'node:v8'
import { describeApiError } from './args.js'
import { devCommand } from './dev-command.js'
import { httpTokenCommand } from './http-token-command.js'
import { clusterCommand, nodesCommand, statusCommand } from './query-commands.js'
import { eventsCommand } from './events-command.js'
import { drainCommand, leaderCommand, undrainCommand, votersCommand } from './operate-commands.js'
import { cancelCommand, logsCommand, runCommand, taskCommand, tasksCommand } from './task-commands.js'
import { COMMAND_USAGE, USAGE, UsageError } from './usage.js'
import { StartupError } from '../node/startup-error.js'
import { MeshosApiError, MeshosUnreachableError } from '../client/client.js'
import { MESHOS_VERSION } from '../node/version.js'

async function run(argv: string[]): Promise<number> {
  const [command, ...args] = argv
  const env = process.env
  switch (command) {
    // Loaded on demand: libp2p takes most of a second to import, which query commands need not pay.
    case 'agent':
      // Edge machines are short of memory. An idle agent allocates mostly short-lived garbage
      // (gossip frames), which V8 answers by growing the young generation to 16 MiB it rarely
      // uses; keeping it at its initial size and favouring size over speed took an agent in a
      // 10-node loopback cluster from ~122 to ~92 MiB RSS for ~2 points more idle CPU (measured
      // here; see the issue notes). Must be set before the heap grows, so before libp2p loads.
      v8.setFlagsFromString('--optimize-for-size')
      v8.setFlagsFromString('--semi-space-growth-factor=1')
      return await (await import('./agent-command.js')).agentCommand(args, env)
    case 'dev':
      return await devCommand(args)
    case 'keygen':
      return (await import('./keygen-command.js')).keygenCommand(args)
    case 'nodes':
      process.stdout.write((await nodesCommand(args, env)) + '\n')
      return 0
    case 'status':
      process.stdout.write((await statusCommand(args, env)) + '\n')
      return 0
    case 'cluster':
      process.stdout.write((await clusterCommand(args, env)) + '\n')
      return 0
    case 'run':
      return await runCommand(args, env)
    case 'tasks':
      return await tasksCommand(args, env)
    case 'task':
      return await taskCommand(args, env)
    case 'logs':
      return await logsCommand(args, env)
    case 'cancel':
      return await cancelCommand(args, env)
    case 'events':
      return await eventsCommand(args, env)
    case 'drain':
      return await drainCommand(args, env)
    case 'undrain':
      return await undrainCommand(args, env)
    case 'leader':
      return await leaderCommand(args, env)
    case 'voters':
      return await votersCommand(args, env)
    case 'http-token':
      return await httpTokenCommand(args)
    case 'version':
    case '--version':
      process.stdout.write(`meshos ${MESHOS_VERSION}\n`)
      return 0
    case 'help':
    case '--help':
    case '-h': {
      const section = args[0] === undefined ? undefined : COMMAND_USAGE[args[0]]
      process.stdout.write(section === undefined ? USAGE : `usage: ${section}`)
      return 0
    }
    case undefined:
      throw new UsageError('no command given')
    default:
      throw new UsageError(`unknown command "${command}"`)
  }
}

/** Exits once what was written has left: on a pipe, process.exit() right after a large write would
 * cut the output short (at 64 KiB here). */
function exitAfterFlush(code: number): void {
  let pending = 2
  const done = (): void => {
    if (--pending === 0) process.exit(code)
  }
  process.stdout.write('', done)
  process.stderr.write('', done)
}

/** What the command ended with: its exit status, or the error and the status it means. */
function failure(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`meshos: ${err.message}\n\n${err.section === undefined ? USAGE : `usage: ${err.section}`}`)
    return 2
  }
  if (err instanceof StartupError) {
    process.stderr.write(`meshos: ${err.message}\n`)
    return 2
  }
  if (err instanceof MeshosApiError) {
    process.stderr.write(`meshos: ${describeApiError(err)}\n`)
    return 1
  }
  if (err instanceof MeshosUnreachableError) {
    process.stderr.write(`meshos: ${err.message}\n`)
    return 1
  }
  process.stderr.write(`meshos: unexpected error: ${(err as Error).stack ?? String(err)}\n`)
  return 1
}

run(process.argv.slice(2)).then(exitAfterFlush, (err: unknown) => {
  exitAfterFlush(failure(err))
})
