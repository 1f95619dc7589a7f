// The dashboard in a real browser: Debian's chromium driven by playwright-core, against real
// agent processes. On a 3-node cluster the page loads in under a second, shows the 3 nodes and
// the leader, runs a task from its form and shows it succeed with its output, cancels one, filters
// by state, shows a killed node go dead and a drain's outcome. On a worker behind a bearer token the page asks for the token once and keeps its
// task list live by polling (a worker holds no log, so its event stream has no task events). Told
// of 50 members the picture draws them apart and named; of 500 it counts them instead.
// Screenshots are kept in test-artifacts/ (gitignored); MESHOS_UPDATE_SCREENSHOT=1 also writes
// the README's docs/dashboard.png. Without chromium the tests say so and are skipped (CI sets
// MESHOS_REQUIRE_CHROMIUM=1, which fails them instead).
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { AgentProcess } from '../../harness/agent-process.js'
import { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import { ElectionCluster, waitClusterReady } from '../helpers/election.js'
import type { ClusterView, NodeView } from '../../src/http/views.js'

const CHROMIUM = process.env.MESHOS_CHROMIUM ?? '/usr/bin/chromium'
/** This file runs as dist/test/browser/dashboard.test.js. */
const REPO_DIR = fileURLToPath(new URL('../../../', import.meta.url))
export const ARTIFACTS_DIR = path.join(REPO_DIR, 'test-artifacts')
/** Navigation to the page's first render with the cluster's state (the bound). */
const LOAD_BOUND_MS = 1000
/** A task's run, a failure detection and a poll, on a loaded 2-core machine. */
const UI_BOUND_MS = 30_000
const VIEWPORT = { width: 1440, height: 900 }
const FIRST_RENDER_MARK = 'meshos:first-render'

/** The page's globals, as the functions evaluated in it use them (tests compile without the DOM lib). */
declare const document: {
  getElementById: (id: string) => { textContent: string | null } | null
  querySelectorAll: (selector: string) => { length: number }
}
declare const sessionStorage: { setItem: (key: string, value: string) => void }
declare const performance: {
  getEntries: () => Array<{ name: string; entryType: string; startTime: number; duration: number }>
  getEntriesByName: (name: string) => Array<{ startTime: number }>
}

const loadAverage = (): string =>
  os
    .loadavg()
    .map(l => l.toFixed(1))
    .join(' ')

/** Milliseconds from navigation to the page's first render with data (its performance mark). */
async function firstRenderMs(page: Page): Promise<number> {
  await page.waitForSelector('body[data-ready="true"]', { timeout: UI_BOUND_MS })
  return await page.evaluate(mark => performance.getEntriesByName(mark)[0]?.startTime ?? NaN, FIRST_RENDER_MARK)
}

/** Where a load's time went: the document's response, and each request the page made, slowest first. */
async function loadBreakdown(page: Page): Promise<string> {
  const entries = await page.evaluate(() =>
    performance
      .getEntries()
      .filter(e => e.entryType === 'navigation' || e.entryType === 'resource')
      .map(e => ({ name: e.name, startMs: e.startTime, endMs: e.startTime + e.duration })),
  )
  return entries
    .sort((a, b) => a.startMs - b.startMs)
    .map(e => `${new URL(e.name).pathname} ${e.startMs.toFixed(0)}→${e.endMs.toFixed(0)}`)
    .join(', ')
}

async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true })
  const file = path.join(ARTIFACTS_DIR, name)
  await page.screenshot({ path: file, fullPage: true })
  return file
}

/** Waits for the page's live indicator to read `text`; a timeout says what it read instead. */
async function waitLive(page: Page, text: string): Promise<void> {
  try {
    await page.waitForSelector(`#live[data-state="live"]:text-is("${text}")`, { timeout: UI_BOUND_MS })
  } catch (err) {
    const [state, title] = await Promise.all([
      page.getAttribute('#live', 'data-state'),
      page.getAttribute('#live', 'title'),
    ])
    throw new Error(`the page is not "${text}": #live is ${state} (${title}), says "${await textOf(page, '#live')}"`, {
      cause: err,
    })
  }
}

async function textOf(page: Page, selector: string): Promise<string> {
  return ((await page.textContent(selector)) ?? '').trim()
}

/** Submits the page's form; returns the id the page reports. */
async function runFromForm(page: Page, command: string, name: string): Promise<string> {
  await page.fill('#submit-form input[name=command]', command)
  await page.fill('#submit-form input[name=name]', name)
  await page.click('#submit-form button[type=submit]')
  await page.waitForSelector('#submit-result.ok', { timeout: UI_BOUND_MS })
  const said = await textOf(page, '#submit-result')
  const id = /^submitted (\S+)$/.exec(said)?.[1]
  assert.ok(id !== undefined, `the form said: ${said}`)
  return id
}

/** The task's row says succeeded and its output, followed in the detail panel, holds `output`. */
async function seeSucceeded(page: Page, id: string, output: string): Promise<void> {
  await page.waitForSelector(`tr.task[data-task-id="${id}"][data-state="succeeded"]`, { timeout: UI_BOUND_MS })
  await page.waitForSelector('[data-testid=detail-state]:text-is("succeeded")', { timeout: UI_BOUND_MS })
  await page.waitForFunction(
    expected => document.getElementById('log')?.textContent?.includes(expected) === true,
    output,
    { timeout: UI_BOUND_MS },
  )
}

describe('dashboard in a real browser', function () {
  this.timeout(240_000)
  let browser: Browser | undefined
  const pageErrors: string[] = []

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      // CI installs chromium and sets this, so there the tests never skip.
      if (process.env.MESHOS_REQUIRE_CHROMIUM === '1')
        throw new Error(`chromium is not installed (${CHROMIUM}) and MESHOS_REQUIRE_CHROMIUM=1`)
      console.log(
        `      chromium is not installed (${CHROMIUM}): the browser tests are skipped; apt-get install chromium (CI's .ci/run does)`,
      )
      this.skip()
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true })
  })
  after(async () => {
    await browser?.close()
  })

  async function newPage(): Promise<Page> {
    const page = await browser!.newPage({ viewport: VIEWPORT })
    page.on('pageerror', err => pageErrors.push(err.message))
    return page
  }

  describe('on a 3-node cluster', () => {
    const cluster = new ElectionCluster()
    afterEach(function () {
      if (this.currentTest?.state === 'failed') console.log(cluster.logs())
    })
    after(async () => {
      await cluster.cleanup()
    })

    it('loads in under a second, shows the nodes and the leader, runs a task from the form, and shows a killed node go dead', async () => {
      const agents = await cluster.start(3)
      const ready = await waitClusterReady(agents, 3)
      const leader = ready.leader
      // The page is served by a follower; the other follower is the one killed.
      const [host, victim] = agents.filter(a => a !== leader) as [AgentProcess, AgentProcess]
      const page = await newPage()

      const before = loadAverage()
      await page.goto(`${host.client.baseUrl}/`)
      const coldMs = await firstRenderMs(page)
      const coldBreakdown = await loadBreakdown(page)
      const warmMs: number[] = []
      for (let i = 0; i < 2; i++) {
        await page.reload()
        warmMs.push(await firstRenderMs(page))
      }
      console.log(
        `      first render: ${coldMs.toFixed(0)} ms on a fresh page, ${warmMs.map(ms => ms.toFixed(0)).join(' and ')} ms reloaded (load average ${before} → ${loadAverage()})`,
      )
      console.log(`      fresh page, latest requests (ms from navigation): ${coldBreakdown}`)
      assert.ok(coldMs < LOAD_BOUND_MS, `first render after ${coldMs.toFixed(0)} ms (load average ${before})`)

      // The three nodes, alive, and the leader: in the header, the table and the picture.
      await page.waitForFunction(() => document.querySelectorAll('tr.node[data-state="alive"]').length === 3, null, {
        timeout: UI_BOUND_MS,
      })
      const names = await page.$$eval('tr.node', rows => rows.map(r => r.getAttribute('data-node-name')).sort())
      assert.deepEqual(names, ['n1', 'n2', 'n3'])
      const leaderName = leader.opts.name
      await page.waitForSelector(`[data-testid=leader-name]:text-is("${leaderName}")`, { timeout: UI_BOUND_MS })
      assert.equal(await page.getAttribute('tr.node[data-role="leader"]', 'data-node-name'), leaderName)
      assert.equal(await page.getAttribute('g.point.role-leader', 'data-node-name'), leaderName)
      assert.equal(await page.locator('g.point').count(), 3)
      assert.equal(await page.locator('tr.node[data-role="voter"]').count(), 2)

      // A task from the form: its row goes to succeeded and its output appears, without a reload.
      const id = await runFromForm(page, 'echo dashboard-says-hi; sleep 1; echo bye', 'from-the-form')
      await seeSucceeded(page, id, 'dashboard-says-hi\nbye\n')
      const placement = await textOf(page, '[data-testid=placement]')
      assert.match(placement, /chose n\d/)
      const task = await host.client.task(id)
      assert.equal(task.state, 'succeeded')
      assert.equal(task.name, 'from-the-form')
      assert.equal(task.placement, placement)
      const shot = await screenshot(page, 'dashboard.png')
      if (process.env.MESHOS_UPDATE_SCREENSHOT === '1')
        await copyFile(shot, path.join(REPO_DIR, 'docs', 'dashboard.png'))

      // Cancel from the task's detail: a long task goes to cancelled, and the state filter shows
      // only it among the cancelled ones.
      const long = await runFromForm(page, 'sleep 120', 'to-cancel')
      await page.waitForSelector(`[data-testid=detail-state]:text-is("running")`, { timeout: UI_BOUND_MS })
      await page.click('#detail .detail-head button.danger')
      await page.waitForSelector(`tr.task[data-task-id="${long}"][data-state="cancelled"]`, { timeout: UI_BOUND_MS })
      assert.equal((await host.client.task(long)).state, 'cancelled')
      await page.selectOption('#filter-state', 'cancelled')
      await page.waitForFunction(() => document.querySelectorAll('tr.task').length === 1, null, {
        timeout: UI_BOUND_MS,
      })
      assert.equal(await page.getAttribute('tr.task', 'data-task-id'), long)
      await page.selectOption('#filter-state', '')

      // A node killed outright goes dead on the page: its row, its dot, the counts.
      victim.signal('SIGKILL')
      await victim.waitExit()
      await page.waitForSelector(`tr.node[data-node-id="${victim.peerId}"][data-state="dead"]`, {
        timeout: UI_BOUND_MS,
      })
      await page.waitForSelector(`g.point.state-dead[data-node-id="${victim.peerId}"]`, { timeout: UI_BOUND_MS })
      assert.match(await textOf(page, '[data-testid=member-counts]'), /1 dead/)
      await screenshot(page, 'dashboard-node-dead.png')

      // Drain from the page: the node's POST /v1/nodes/:id/drain either drains it or refuses,
      // and a refusal (404 on a node without the route) is shown with the API's error.
      const drainCell = `tr.node[data-node-id="${host.peerId}"] td.drain`
      await page.click(`${drainCell} button`)
      await page.click(`${drainCell} form.drain-form button[type=submit]`)
      const drained = await page.waitForSelector(
        `#nodes p.error[role=alert]:has-text("cannot drain"), ${drainCell} .badge:is(.drain-draining, .drain-drained)`,
        { timeout: UI_BOUND_MS },
      )
      const drainAnswer = ((await drained.textContent()) ?? '').trim()
      console.log(`      drain from the page: ${drainAnswer}`)
      // Either the node's drain state, or the API's refusal with its error code and message.
      assert.match(drainAnswer, /^(draining|drained|cannot drain: [a-z_]+: .+)$/)
      assert.deepEqual(pageErrors, [])
      await page.close()
    })
  })

  describe('on a worker behind a bearer token', () => {
    const dirs = new TempDirs()
    const agents: AgentProcess[] = []
    const token = 'Wd8kQ3mZ7pL2xN9vB4tR6sY1cF5gH0jK-_aE2uI4oP6'
    after(async () => {
      await Promise.all(agents.map(async a => await a.kill()))
      await dirs.cleanup()
    })

    it('asks for the token once, keeps it for the tab, and shows a task live by polling', async () => {
      const tokenFile = path.join(await dirs.make(), 'api.token')
      await writeFile(tokenFile, `${token}\n`, { mode: 0o600 })
      // One voter and no standby: the second node is a worker, which holds no log.
      const extraArgs = ['--voters', '1', '--standbys', '0', '--http-token-file', tokenFile]
      const voter = await AgentProcess.start({ name: 'v1', dataDir: await dirs.make(), extraArgs, token })
      agents.push(voter)
      const worker = await AgentProcess.start({
        name: 'w1',
        dataDir: await dirs.make(),
        bootstrap: [voter.addr],
        extraArgs,
        token,
      })
      agents.push(worker)
      await waitFor(
        'w1 to be a worker that knows the leader',
        async () => {
          const s = await worker.client.status()
          return s.role === 'worker' && s.leader === voter.peerId
        },
        UI_BOUND_MS,
      )

      const page = await newPage()
      await page.goto(`${worker.client.baseUrl}/`)
      await page.waitForSelector('#token-dialog[open]', { timeout: UI_BOUND_MS })
      assert.match(await textOf(page, '#token-dialog .why'), /bearer token/)
      await page.fill('#token-dialog input[name=token]', token)
      await page.click('#token-dialog button[type=submit]')
      await firstRenderMs(page)
      assert.equal(await textOf(page, '[data-testid=self-name]'), 'w1')
      await waitLive(page, 'live · tasks polled')

      const id = await runFromForm(page, 'echo from-a-worker', 'on-a-worker')
      await seeSucceeded(page, id, 'from-a-worker\n')

      // Kept for the tab: a reload asks nothing; a wrong token is asked for again, saying so.
      await page.reload()
      await firstRenderMs(page)
      assert.equal(await page.locator('#token-dialog[open]').count(), 0)
      await page.evaluate(() => sessionStorage.setItem('meshos.token', 'not-the-token-of-this-node-at-all-0000'))
      await page.reload()
      await page.waitForSelector('#token-dialog[open]', { timeout: UI_BOUND_MS })
      assert.match(await textOf(page, '#token-dialog .why'), /not this node's/)
      await screenshot(page, 'dashboard-token.png')
      assert.deepEqual(pageErrors, [])
      await page.close()
    })
  })

  describe('at fleet size', () => {
    const dirs = new TempDirs()
    let agent: AgentProcess | undefined
    after(async () => {
      await agent?.kill()
      await dirs.cleanup()
    })

    /** `count` members on a ring, each connected to the next few: the fleet the page is told of. */
    function fleet(count: number, selfId: string): { nodes: NodeView[]; cluster: ClusterView } {
      const ids = Array.from({ length: count }, (_, i) => (i === 0 ? selfId : `peer-${String(i).padStart(4, '0')}`))
      const nodes = ids.map((id, i): NodeView => ({
        id,
        name: `node-${String(i + 1).padStart(3, '0')}`,
        addrs: [],
        state: i % 17 === 5 ? 'dead' : i % 13 === 4 ? 'suspect' : 'alive',
        capacity: { cpus: 8, memoryMb: 16384 },
        allocated: { cpus: (i % 8) * 0.5, memoryMb: (i % 5) * 1024 },
        running: i % 4,
        load: null,
        labels: {},
        version: 'test',
        incarnation: 1,
        startedAt: null,
        lastSeenMs: 100,
        drain: null,
        activeView: [1, 2, 3, 4].map(k => ids[(i + k) % count]!),
      }))
      const peers = (from: number, n: number): ClusterView['voters'] =>
        ids.slice(from, from + n).map(id => ({ id, name: null, lastContactMs: 5, matchIndex: 1 }))
      return { nodes, cluster: { leader: selfId, term: 3, commitIndex: 1, voters: peers(0, 5), learners: peers(5, 2) } }
    }

    it('draws 50 nodes apart with their names, and summarises 500 instead of drawing them', async () => {
      agent = await AgentProcess.start({ name: 'solo', dataDir: await dirs.make() })
      const self = agent
      await waitFor('solo to lead', async () => (await self.client.status()).role === 'leader', UI_BOUND_MS)
      let shown = fleet(50, self.peerId)
      const page = await newPage()
      // Only the answers about members are the test's; the page, its files and the rest are the node's.
      await page.route('**/v1/nodes', async route => await route.fulfill({ json: { nodes: shown.nodes } }))
      await page.route('**/v1/cluster', async route => await route.fulfill({ json: shown.cluster }))
      await page.goto(`${self.client.baseUrl}/`)
      await firstRenderMs(page)
      await page.waitForFunction(() => document.querySelectorAll('g.point').length === 50, null, {
        timeout: UI_BOUND_MS,
      })
      // Legible: no two dots within 3 radii of each other on screen, and every one named.
      const dots = await page.$$eval('g.point circle.dot', circles =>
        circles.map(c => {
          const r = c.getBoundingClientRect()
          return { x: r.x + r.width / 2, y: r.y + r.height / 2, r: r.width / 2 }
        }),
      )
      assert.equal(dots.length, 50)
      let closest = Infinity
      for (const [i, a] of dots.entries())
        for (const b of dots.slice(i + 1)) closest = Math.min(closest, Math.hypot(a.x - b.x, a.y - b.y) / a.r)
      assert.ok(closest >= 3, `two dots are ${closest.toFixed(1)} radii apart`)
      assert.equal((await page.locator('g.point text').count()) >= 50, true, 'each dot has its name')
      assert.equal(await page.locator('g.point.role-leader').count(), 1)
      assert.equal(await page.locator('g.point.state-dead').count(), shown.nodes.filter(n => n.state === 'dead').length)
      await screenshot(page, 'dashboard-50-nodes.png')

      shown = fleet(500, self.peerId)
      await page.reload()
      await firstRenderMs(page)
      await page.waitForSelector('[data-testid=mesh-summary]', { timeout: UI_BOUND_MS })
      assert.equal(await page.locator('g.point').count(), 0)
      assert.match(await textOf(page, '[data-testid=mesh-summary]'), /500/)
      await screenshot(page, 'dashboard-500-nodes.png')
      assert.deepEqual(pageErrors, [])
      await page.close()
    })
  })
})
