// `npm run bench:report` (also the last step of `npm run bench`): renders bench/README.md from the
// latest results, bench/results/<name>.json. The README's head, up to the marker line, is written
// by hand and kept; everything after the marker is replaced.
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { failoverSection } from './failover/readme.js'
import type { FailoverRecord } from './failover/run.js'
import { fleetSection } from './fleet/readme.js'
import type { FleetRecord } from './fleet/run.js'
import { readLatest } from './lib/results.js'
import { membershipSection } from './membership/readme.js'
import type { MembershipRecord } from './membership/run.js'
import { membershipSimSection } from './membership-sim/readme.js'
import type { SimRecord } from './membership-sim/run.js'
import { schedulerSection } from './scheduler/readme.js'
import type { SchedulerRecord } from './scheduler/run.js'
import { tasksSection } from './tasks/readme.js'
import type { TasksRecord } from './tasks/run.js'

/** This file runs as dist/bench/report.js; the README stays in the source tree. */
const README = fileURLToPath(new URL('../../bench/README.md', import.meta.url))
const MARKER =
  '<!-- Generated below by `npm run bench:report` from bench/results/<name>.json: edit bench/report.ts, not this part. -->'

async function main(): Promise<void> {
  const text = await readFile(README, 'utf8')
  const at = text.indexOf(MARKER)
  if (at < 0) throw new Error(`${README} has no line ${MARKER}: the generated part goes after it`)
  const sections = [
    failoverSection(await readLatest<FailoverRecord>('failover')),
    membershipSection(await readLatest<MembershipRecord>('membership')),
    membershipSimSection(await readLatest<SimRecord>('membership-sim')),
    schedulerSection(await readLatest<SchedulerRecord>('scheduler')),
    tasksSection(await readLatest<TasksRecord>('tasks')),
    fleetSection(await readLatest<FleetRecord>('fleet')),
  ]
  await writeFile(README, `${text.slice(0, at + MARKER.length)}\n\n${sections.join('\n\n')}\n`)
  process.stdout.write(
    `${path.relative(process.cwd(), README)} rendered from bench/results/{failover,membership,membership-sim,scheduler,tasks,fleet}.json\n`,
  )
}

main().catch(err => {
  process.stderr.write(`bench report failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
