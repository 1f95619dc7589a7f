// Deterministic simulation of 3- and 5-node Raft clusters under faults.
// SEED=n replays one seed; SIM_SEEDS=n (and SIM_SEED_START) runs more.

import assert from 'node:assert/strict'
import { runScenario, scenarioForSeed, type ScenarioResult } from './raft-scenario.js'

const DEFAULT_SEEDS = 500

function seedsToRun(): number[] {
  if (process.env['SEED'] !== undefined) return [Number(process.env['SEED'])]
  const count = Number(process.env['SIM_SEEDS'] ?? DEFAULT_SEEDS)
  const start = Number(process.env['SIM_SEED_START'] ?? 1)
  return Array.from({ length: count }, (_, i) => start + i)
}

describe('raft simulation', function () {
  const seeds = seedsToRun()
  const results: ScenarioResult[] = []

  it(`keeps safety and reaches liveness for ${seeds.length} seed(s)`, function () {
    const failures: string[] = []
    for (const seed of seeds) {
      try {
        results.push(runScenario(scenarioForSeed(seed)))
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error))
        if (failures.length >= 5) break
      }
    }
    assert.deepEqual(failures, [], `failing seeds:\n${failures.join('\n')}`)
  })

  it('exercises elections, config changes and snapshot installs', function () {
    if (seeds.length < 100) this.skip()
    const variants = seeds.map(seed => scenarioForSeed(seed))
    assert.ok(variants.some(v => v.configChange && v.voterCount === 3))
    assert.ok(variants.some(v => v.configChange && v.voterCount === 5))
    assert.ok(
      results.some(r => r.snapshotsInstalled > 0),
      'no seed installed a snapshot',
    )
    for (const r of results.filter(result => scenarioForSeed(result.seed).configChange)) {
      const spare = `n${scenarioForSeed(r.seed).voterCount + 1}`
      assert.ok(r.finalConfig.voters.includes(spare), `seed ${r.seed}: spare not promoted`)
    }
    assert.ok(results.every(r => r.terms >= 1 && r.committedIndex > 0))
  })
})
