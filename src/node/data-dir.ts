// Modes that keep a task (an unprivileged user when the agent is root) out of the agent's files:
// - the data dir 0711: anyone may pass through to a path they know, nobody but the agent may list
//   it, so a task reaches its own work dir and nothing it was not told the name of;
// - the identity key 0600 and the Raft log 0700: the agent's alone, whatever their names;
// - tasks/ 0711: a task cannot list the other tasks' directories (each attempt's own is 0700,
//   owned by its task user: native/launcher.c);
// - agent.log (meshos dev) 0600: the agent's log may quote task commands and environments.
// A data dir made by an earlier version (0755 under the usual umask) is tightened at start, each
// change logged.
import { chmod, mkdir, stat } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import { TASKS_DIR } from '../executor/files/task-dir.js'

export const DATA_DIR_MODES: ReadonlyArray<{ name: string; mode: number; dir: boolean }> = [
  { name: '.', mode: 0o711, dir: true },
  { name: 'peer-key', mode: 0o600, dir: false },
  { name: 'raft', mode: 0o700, dir: true },
  { name: TASKS_DIR, mode: 0o711, dir: true },
  { name: 'agent.log', mode: 0o600, dir: false },
]

/** Creates the data dir's directories with their modes and tightens what was there with others. */
export async function secureDataDir(dataDir: string, log: Logger): Promise<void> {
  for (const { name, mode, dir } of DATA_DIR_MODES) {
    const file = path.join(dataDir, name)
    if (dir) await mkdir(file, { recursive: true, mode })
    let st
    try {
      st = await stat(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue // created later with its mode
      throw err
    }
    const current = st.mode & 0o7777
    if (current === mode) continue
    await chmod(file, mode)
    log.info(
      { path: file, from: current.toString(8).padStart(4, '0'), to: mode.toString(8).padStart(4, '0') },
      'tightened data dir permissions so that tasks cannot read the agent files',
    )
  }
}
