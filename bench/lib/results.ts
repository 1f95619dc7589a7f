// Where benchmark results live: bench/results/<name>-<timestamp>.json keeps every run (not
// committed); bench/results/<name>.json holds the latest run of each benchmark (committed, and
// rendered into bench/README.md by `npm run bench:report`).
import { spawnSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Log } from './log.js'
import type { MachineInfo } from './machine.js'

/** This file runs as dist/bench/lib/results.js; the results stay in the source tree. */
const REPO_DIR = fileURLToPath(new URL('../../../', import.meta.url))
export const RESULTS_DIR = path.join(REPO_DIR, 'bench', 'results')

/** What every results file opens with. */
export interface ResultsHeader {
  benchmark: string
  /** ISO 8601, UTC. */
  date: string
  /** The commit measured; null outside a git checkout, absent in files from before it was recorded. */
  commit?: string | null
  /** Whether tracked files (other than bench results and bench/README.md) differed from `commit`. */
  uncommittedChanges?: boolean
  machine: MachineInfo
}

/** The commit the benchmarked code comes from, and whether the work tree differs from it. */
function source(): { commit: string | null; uncommittedChanges: boolean } {
  const git = (args: string[]): string | null => {
    const r = spawnSync('git', args, { cwd: REPO_DIR, encoding: 'utf8' })
    return r.status === 0 ? r.stdout.trim() : null
  }
  const commit = git(['rev-parse', '--short', 'HEAD'])
  const changes =
    commit == null
      ? ''
      : git([
          'status',
          '--porcelain',
          '--untracked-files=no',
          '--',
          '.',
          ':(exclude)bench/results',
          ':(exclude)bench/README.md',
        ])
  return { commit, uncommittedChanges: changes !== '' }
}

/** Writes one run's results under its timestamp and as the latest of `name`; the header's
 * date and commit are filled in here. */
export async function writeResults<R extends ResultsHeader>(
  name: string,
  body: Omit<R, Exclude<keyof ResultsHeader, 'machine'>>,
  log: Log,
): Promise<void> {
  await mkdir(RESULTS_DIR, { recursive: true })
  const date = new Date().toISOString()
  const text = JSON.stringify({ benchmark: name, date, ...source(), ...body }, null, 2) + '\n'
  const file = path.join(RESULTS_DIR, `${name}-${date.replace(/[:.]/g, '-')}.json`)
  const latest = latestFile(name)
  await writeFile(file, text)
  await writeFile(latest, text)
  log(`\nresults written to ${path.relative(process.cwd(), file)} (latest: ${path.relative(process.cwd(), latest)})`)
}

export function latestFile(name: string): string {
  return path.join(RESULTS_DIR, `${name}.json`)
}

/** The latest results of `name`, or null when it has never been run here. */
export async function readLatest<T extends ResultsHeader>(name: string): Promise<T | null> {
  let text: string
  try {
    text = await readFile(latestFile(name), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  return JSON.parse(text) as T
}
