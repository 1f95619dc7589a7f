// Property tests of the task spec validator (the HTTP body schema and parseTaskSpec) and of the
// command parser every replica and the leader run (parseCommand): on any input they never throw,
// and whatever they accept is within the limits, checked here independently of the schemas. A
// spec the API accepts is also one the log accepts, so forwarding it cannot get it refused.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { parseCommand, type ClusterCommand } from '../../src/cluster/commands.js'
import { TASK_COMMAND_LIMITS } from '../../src/tasks/commands.js'
import { TASK_LIMITS, TASK_POLICIES, parseTaskSpec, taskSpecSchema, type TaskSpec } from '../../src/tasks/spec.js'
import { submitTasksBody } from '../../src/http/schemas.js'
import { MEMBERSHIP_LIMITS } from '../../src/gossip/config.js'
import { isoOrNull } from '../../src/util/epoch.js'
import { hostileValue, nearly } from '../helpers/near-schema.js'

const RUNS = 500

const isInt = (n: unknown, min: number, max: number): boolean =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= min && n <= max
const isText = (s: unknown, min: number, max: number): boolean =>
  typeof s === 'string' && s.length >= min && s.length <= max
const isTime = (ms: unknown): boolean => typeof ms === 'number' && ms >= 0 && isoOrNull(ms) !== null

/** Every limit of a stored spec, written out again here rather than taken from the schema. */
function assertWithinLimits(spec: TaskSpec): void {
  const L = TASK_LIMITS
  const why = JSON.stringify(spec).slice(0, 300)
  assert.ok((spec.command === undefined) !== (spec.argv === undefined), `command xor argv: ${why}`)
  if (spec.command !== undefined) assert.ok(isText(spec.command, 1, L.commandChars), why)
  if (spec.argv !== undefined) {
    assert.ok(spec.argv.length >= 1 && spec.argv.length <= L.argvItems, why)
    assert.ok(
      spec.argv.every(a => isText(a, 0, L.argChars)),
      why,
    )
  }
  assert.ok(spec.name === null || isText(spec.name, 1, 255), why)
  const env = Object.entries(spec.env)
  assert.ok(env.length <= L.envVars, why)
  for (const [k, v] of env)
    assert.ok(/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && k.length <= 255 && isText(v, 0, L.envValueChars))
  assert.ok(Number.isFinite(spec.cpus) && spec.cpus > 0 && spec.cpus <= MEMBERSHIP_LIMITS.maxCpus, why)
  assert.ok(isInt(spec.memoryMb, 1, MEMBERSHIP_LIMITS.maxMemoryMb), why)
  assert.ok(spec.timeoutMs === null || isInt(spec.timeoutMs, 1, L.maxTimeoutMs), why)
  assert.ok(isInt(spec.retries, 0, L.maxRetries) && isInt(spec.priority, 0, 100), why)
  assert.ok(spec.deadline === null || (Number.isSafeInteger(spec.deadline) && isoOrNull(spec.deadline) !== null), why)
  assert.ok(/^[A-Za-z0-9._-]{1,64}$/.test(spec.tenant), why)
  for (const [k, v] of Object.entries(spec.constraints)) assert.ok(isText(k, 1, 63) && isText(v, 0, 255), why)
  assert.ok(spec.policy === null || (TASK_POLICIES as readonly string[]).includes(spec.policy), why)
  assert.ok(Buffer.byteLength(JSON.stringify(spec)) <= L.specBytes, 'spec JSON size')
}

function assertCommandWithinLimits(c: ClusterCommand): void {
  const items = TASK_COMMAND_LIMITS.maxItems
  switch (c.type) {
    case 'kv.put':
    case 'kv.delete':
      assert.ok(isText(c.key, 1, 256))
      break
    case 'task.submit':
      assert.ok(c.tasks.length >= 1 && c.tasks.length <= TASK_LIMITS.maxBatch)
      assert.ok(c.term === undefined || isInt(c.term, 1, Number.MAX_SAFE_INTEGER))
      for (const t of c.tasks) {
        assertWithinLimits(t.spec)
        assert.ok(isTime(t.submittedAt))
      }
      break
    case 'task.assign':
      assert.ok(isInt(c.term, 1, Number.MAX_SAFE_INTEGER))
      assert.ok(c.assignments.length >= 1 && c.assignments.length <= items)
      for (const a of c.assignments) assert.ok(isInt(a.attempt, 1, Number.MAX_SAFE_INTEGER))
      break
    case 'task.report':
      assert.ok(c.events.length >= 1 && c.events.length <= items)
      for (const e of c.events) {
        assert.ok(isTime(e.at) && isInt(e.attempt, 1, Number.MAX_SAFE_INTEGER))
        if (e.kind === 'finished') assert.ok(e.startedAt === null || isTime(e.startedAt))
      }
      break
    case 'task.cancel':
      assert.ok(c.ids.length >= 1 && c.ids.length <= TASK_LIMITS.maxBatch && isTime(c.at))
      break
    case 'task.lost':
      assert.ok(c.tasks.length >= 1 && c.tasks.length <= items && isTime(c.at))
      break
    case 'task.expire':
      assert.ok(c.ids.length >= 1 && c.ids.length <= items && isTime(c.at))
      break
  }
}

const rawExample = {
  command: 'echo hi',
  name: 'job',
  env: { A: '1', B_2: 'two' },
  cpus: 0.5,
  memoryMb: 128,
  timeoutMs: 60_000,
  retries: 2,
  priority: 70,
  deadline: '2030-01-01T00:00:00Z',
  tenant: 'team-a',
  constraints: { zone: 'edge' },
  policy: 'bin-pack',
}
const argvExample = { argv: ['/bin/echo', 'hi'], deadline: 1_900_000_000_000 }

const stored = parseTaskSpec(rawExample)
assert.ok(stored.ok)
const spec = stored.spec
const commandExamples: ClusterCommand[] = [
  { type: 'kv.put', key: 'k', value: 'v' },
  { type: 'kv.delete', key: 'k' },
  {
    type: 'task.submit',
    tasks: [{ id: 'a1', spec, submittedAt: 1_700_000_000_000, assign: { node: 'n1', placement: 'p' } }],
    term: 2,
  },
  { type: 'task.assign', term: 2, assignments: [{ id: 'a1', attempt: 1, node: 'n1', placement: 'p' }] },
  {
    type: 'task.report',
    node: 'n1',
    events: [
      { kind: 'started', id: 'a1', attempt: 1, at: 1_700_000_000_001.5 },
      {
        kind: 'finished',
        id: 'a1',
        attempt: 1,
        at: 1_700_000_000_002,
        startedAt: 1_700_000_000_001.5,
        reason: 'exited',
        exitCode: 0,
        signal: null,
        message: '',
      },
    ],
  },
  { type: 'task.cancel', ids: ['a1'], at: 5 },
  { type: 'task.lost', node: 'n1', tasks: [{ id: 'a1', attempt: 1 }], at: 5, message: 'gone' },
  { type: 'task.expire', ids: ['a1'], at: 5 },
]

/** A raw spec whose every field is either a plausible value or a hostile one. */
const fieldwiseSpec = fc.record(
  {
    command: fc.oneof(fc.string(), hostileValue),
    argv: fc.oneof(fc.array(fc.string(), { maxLength: 4 }), hostileValue),
    name: fc.oneof(fc.string(), hostileValue),
    env: fc.oneof(fc.dictionary(fc.string(), fc.string(), { maxKeys: 4 }), hostileValue),
    cpus: fc.oneof(fc.double(), hostileValue),
    memoryMb: fc.oneof(fc.integer(), hostileValue),
    timeoutMs: fc.oneof(fc.integer(), hostileValue),
    retries: fc.oneof(fc.integer({ min: -2, max: 200 }), hostileValue),
    priority: fc.oneof(fc.integer({ min: -2, max: 200 }), hostileValue),
    deadline: fc.oneof(
      fc.date({ noInvalidDate: true }).map(d => d.toISOString()),
      fc.integer(),
      hostileValue,
    ),
    tenant: fc.oneof(fc.string(), hostileValue),
    constraints: fc.oneof(fc.dictionary(fc.string(), fc.string(), { maxKeys: 4 }), hostileValue),
    policy: fc.oneof(fc.constantFrom('spread', 'bin-pack', 'round-robin', 'edf', 'fair'), hostileValue),
  },
  { requiredKeys: [] },
)

const specInputs = fc.oneof(fc.anything(), hostileValue, fieldwiseSpec, nearly(rawExample), nearly(argvExample))

describe('task spec validator (property tests)', () => {
  it('parseTaskSpec never throws, and what it accepts is within every limit and accepted by the log', () => {
    fc.assert(
      fc.property(specInputs, input => {
        const r = parseTaskSpec(input)
        if (!r.ok) {
          assert.equal(typeof r.message, 'string')
          return
        }
        assertWithinLimits(r.spec)
        assert.ok(taskSpecSchema.safeParse(r.spec).success, 'the stored schema accepts what the API accepts')
        const submit = parseCommand({ type: 'task.submit', tasks: [{ id: 'x1', spec: r.spec, submittedAt: 1 }] })
        assert.ok(submit.ok, submit.ok ? '' : submit.reason)
      }),
      { numRuns: RUNS * 2 },
    )
  })

  it('the HTTP body schema never throws, and accepts only 1 to 1,000 specs within the limits', () => {
    const bodies = fc.oneof(specInputs, fc.array(specInputs, { maxLength: 5 }), fc.constant([]))
    fc.assert(
      fc.property(bodies, body => {
        const r = submitTasksBody.safeParse(body)
        if (!r.success) return
        assert.ok(r.data.specs.length >= 1 && r.data.specs.length <= TASK_LIMITS.maxBatch)
        assert.equal(r.data.many, Array.isArray(body))
        for (const s of r.data.specs) assertWithinLimits(s)
      }),
      { numRuns: RUNS },
    )
  })

  it('a stored spec the API could not have produced is refused by the log', () => {
    fc.assert(
      fc.property(nearly(spec), candidate => {
        const r = taskSpecSchema.safeParse(candidate)
        if (r.success) assertWithinLimits(r.data)
      }),
      { numRuns: RUNS },
    )
  })
})

describe('parseCommand (property tests)', () => {
  it('accepts every example', () => {
    for (const c of commandExamples) assert.ok(parseCommand(c).ok, c.type)
  })

  it('never throws on any value, and accepts only commands within the limits', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), hostileValue, fc.constantFrom(...commandExamples).chain(nearly)), input => {
        const r = parseCommand(input)
        if (!r.ok) {
          assert.equal(typeof r.reason, 'string')
          return
        }
        assertCommandWithinLimits(r.command)
      }),
      { numRuns: RUNS * 4 },
    )
  })
})
