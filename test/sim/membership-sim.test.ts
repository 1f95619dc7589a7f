// The membership core in a seeded simulation: 1-50 ms latency, 1% loss, 5% of nodes slowed. Small
// clusters here (the bench runs 100, 1,000 and 5,000 nodes); several seeds, each replayable.
import assert from 'node:assert/strict'
import { DEFAULT_MEMBERSHIP_CORE } from '../../src/gossip/core/config.js'
import { runMembershipScenario } from '../../harness/sim/membership-scenario.js'

const SEEDS = (process.env.MEMBERSHIP_SIM_SEEDS ?? '1,2,3').split(',').map(Number)

describe('membership core, simulated (1-50 ms latency, 1% loss)', function () {
  this.timeout(120_000)

  for (const seed of SEEDS) {
    it(`60 nodes, seed ${seed}: a join spreads, a crash is detected, no live node is declared dead`, () => {
      const r = runMembershipScenario({
        nodes: 60,
        seed,
        config: DEFAULT_MEMBERSHIP_CORE,
        steadySeconds: 30,
        slowFraction: 0.05,
        slowSeconds: 30,
      })
      const replay = `(replay: MEMBERSHIP_SIM_SEEDS=${seed})`
      assert.ok(
        r.joinKnownByAllMs !== null && r.joinKnownByAllMs <= 2_000,
        `join known by all within 2 s, got ${r.joinKnownByAllMs} ${replay}`,
      )
      assert.ok(
        r.crashDeadByAllMs !== null && r.crashDeadByAllMs <= 5_000,
        `crash dead everywhere within 5 s, got ${r.crashDeadByAllMs} ${replay}`,
      )
      assert.equal(r.falseDeaths, 0, `no live node declared dead with 1% loss ${replay}`)
      assert.equal(r.falseSuspects, 0, `no live node suspected with 1% loss ${replay}`)
      assert.equal(r.slowFalseDeaths, 0, `no slowed node declared dead ${replay}`)
      // Bounded work: at most 2K peers, and a handful of small messages per second.
      assert.ok(r.maxActiveView <= 2 * DEFAULT_MEMBERSHIP_CORE.observersPerMember, `active view ${r.maxActiveView}`)
      assert.ok(
        r.msgsPerNodePerSecond < 4 * DEFAULT_MEMBERSHIP_CORE.observersPerMember,
        `msgs/node/s ${r.msgsPerNodePerSecond}`,
      )
    })
  }

  it('the cost per node does not grow with the cluster: 30 vs 240 nodes', () => {
    const small = runMembershipScenario({
      nodes: 30,
      seed: 7,
      config: DEFAULT_MEMBERSHIP_CORE,
      steadySeconds: 20,
      slowFraction: 0,
      slowSeconds: 0,
    })
    const large = runMembershipScenario({
      nodes: 240,
      seed: 7,
      config: DEFAULT_MEMBERSHIP_CORE,
      steadySeconds: 20,
      slowFraction: 0,
      slowSeconds: 0,
    })
    assert.ok(
      large.bytesPerNodePerSecond <= 1.5 * small.bytesPerNodePerSecond,
      `bytes/node/s ${small.bytesPerNodePerSecond.toFixed(0)} at 30, ${large.bytesPerNodePerSecond.toFixed(0)} at 240`,
    )
  })
})
