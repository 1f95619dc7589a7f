#!/usr/bin/env node
// Long runs of the Raft simulation, beyond the 500 seeds of `npm test`.
//
//   npm run build && node scripts/sim-raft.mjs [--seeds N] [--start S] [--seed S] [--build DIR] [--verbose]
//
// --seed S replays one seed (same as `SEED=S npx mocha dist/test/sim/raft-sim.test.js`).
// --build points at the tsc output directory (default: dist, or $RAFT_BUILD_DIR).
// Exits non-zero and prints the failing seeds if any seed breaks safety or liveness.

import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '5000' },
    start: { type: 'string', default: '1' },
    seed: { type: 'string' },
    build: { type: 'string', default: process.env.RAFT_BUILD_DIR ?? 'dist' },
    verbose: { type: 'boolean', default: false },
  },
})

const scenarioModule = pathToFileURL(resolve(values.build, 'test/sim/raft-scenario.js')).href
const { runScenario, scenarioForSeed } = await import(scenarioModule)

const seeds =
  values.seed !== undefined
    ? [Number(values.seed)]
    : Array.from({ length: Number(values.seeds) }, (_, i) => Number(values.start) + i)

const startedMs = performance.now()
const failures = []
let snapshotsInstalled = 0
let terms = 0
for (const seed of seeds) {
  try {
    const result = runScenario(scenarioForSeed(seed))
    snapshotsInstalled += result.snapshotsInstalled
    terms += result.terms
    if (values.verbose) console.log(JSON.stringify(result))
  } catch (error) {
    failures.push(seed)
    console.error(error instanceof Error ? error.message : String(error))
  }
}
const elapsedMs = Math.round(performance.now() - startedMs)
console.log(
  `${seeds.length} seeds in ${elapsedMs} ms: ${failures.length} failed, ${terms} leader terms, ${snapshotsInstalled} snapshots installed`,
)
if (failures.length > 0) {
  console.log(`failing seeds: ${failures.join(' ')}`)
  process.exitCode = 1
}
