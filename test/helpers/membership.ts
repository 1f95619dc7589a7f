// Waiting on what real agents see of each other's membership state, through their HTTP API.
import type { AgentProcess } from '../../harness/agent-process.js'
import { waitFor } from '../../harness/wait-for.js'

/** Waits until every agent in `observers` sees `peerId` in `state`; returns the elapsed ms. */
export async function waitForState(
  observers: AgentProcess[],
  peerId: string,
  state: string,
  timeoutMs: number,
): Promise<number> {
  const start = Date.now()
  let seen = 'nothing yet'
  try {
    await waitFor(
      `${observers.map(o => o.opts.name).join(',')} to see ${peerId} as ${state}`,
      async () => {
        const states = await Promise.all(observers.map(async o => await o.stateOf(peerId)))
        seen = observers.map((o, i) => `${o.opts.name}: ${states[i] ?? 'not listed'}`).join(', ')
        return states.every(s => s === state) ? true : undefined
      },
      timeoutMs,
      20,
    )
  } catch (err) {
    // What each observer saw last says more than the timeout: never listed, still alive, dead...
    throw new Error(`${(err as Error).message}; states seen last: ${seen}`)
  }
  return Date.now() - start
}

/** Waits until every agent sees every other as alive. */
export async function waitConverged(agents: AgentProcess[], timeoutMs: number): Promise<number> {
  const start = Date.now()
  await waitFor(
    `${agents.length} agents to see each other alive`,
    async () => {
      for (const a of agents) {
        const nodes = await a.nodes()
        for (const b of agents) {
          if (nodes.find(n => n.id === b.peerId)?.state !== 'alive') return undefined
        }
      }
      return true
    },
    timeoutMs,
    20,
  )
  return Date.now() - start
}
