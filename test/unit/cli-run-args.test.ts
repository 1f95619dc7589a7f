// `meshos run`'s arguments become the spec that is submitted; mistakes are UsageErrors (exit 2)
// that name the flag and carry the run usage, before anything is sent.
import assert from 'node:assert/strict'
import { parseRunArgs, type RunRequest } from '../../src/cli/run-args.js'
import { exitStatusOf } from '../../src/cli/task-wait.js'
import { formatDuration, parseDuration } from '../../src/cli/durations.js'
import { RUN_USAGE, UsageError } from '../../src/cli/usage.js'
import type { TaskView } from '../../src/client/client.js'

const NOW = Date.parse('2026-11-27T12:00:00Z')

const parse = (args: string[]): RunRequest => {
  const req = parseRunArgs(args, NOW)
  assert.notEqual(req, 'help')
  return req as RunRequest
}

function refused(args: string[], message: RegExp): void {
  assert.throws(
    () => parseRunArgs(args, NOW),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, String(err))
      assert.match(err.message, message)
      assert.equal(err.section, RUN_USAGE)
      return true
    },
  )
}

describe('meshos run arguments', () => {
  it('sends COMMAND and its ARGs as argv, with nothing else set', () => {
    assert.deepEqual(parse(['--', '/bin/echo', 'hi there']), {
      spec: { argv: ['/bin/echo', 'hi there'] },
      count: 1,
      wait: false,
      json: false,
      node: { addr: undefined, tokenFile: undefined },
    })
  })

  it('ends options at COMMAND, so the command keeps its own flags', () => {
    assert.deepEqual(parse(['--cpus', '2', 'ls', '-la', '--wait']).spec, { argv: ['ls', '-la', '--wait'], cpus: 2 })
    assert.equal(parse(['ls', '-la', '--wait']).wait, false)
    // After `--` even a word that looks like an option is the command.
    assert.deepEqual(parse(['--wait', '--', '--weird-program']).spec, { argv: ['--weird-program'] })
    assert.deepEqual(parse(['--cpus=0.5', 'true']).spec, { argv: ['true'], cpus: 0.5 })
  })

  it('--shell sends the words joined as one command for /bin/sh -c', () => {
    assert.deepEqual(parse(['--shell', '--', 'echo a | tr a b', '&&', 'true']).spec, {
      command: 'echo a | tr a b && true',
    })
  })

  it('maps every flag to its spec field', () => {
    const req = parse([
      '--cpus',
      '1.5',
      '--memory',
      '256',
      '--timeout',
      '1m30s',
      '--retries',
      '3',
      '--priority',
      '90',
      '--deadline',
      '2026-11-28T00:00:00Z',
      '--tenant',
      'team-a',
      '--env',
      'A=1',
      '--env',
      'B=x=y',
      '--env',
      'EMPTY=',
      '--label',
      'gpu=true',
      '--label',
      'zone=eu',
      '--policy',
      'bin-pack',
      '--name',
      'job',
      '--count',
      '7',
      '--wait',
      '--json',
      '--addr',
      'http://10.0.0.1:7070',
      '--',
      'python3',
      'train.py',
    ])
    assert.deepEqual(req, {
      spec: {
        argv: ['python3', 'train.py'],
        cpus: 1.5,
        memoryMb: 256,
        timeoutMs: 90_000,
        retries: 3,
        priority: 90,
        deadline: '2026-11-28T00:00:00Z',
        tenant: 'team-a',
        env: { A: '1', B: 'x=y', EMPTY: '' },
        constraints: { gpu: 'true', zone: 'eu' },
        policy: 'bin-pack',
        name: 'job',
      },
      count: 7,
      wait: true,
      json: true,
      node: { addr: 'http://10.0.0.1:7070', tokenFile: undefined },
    })
  })

  it('reads timeouts as ms or with units, and deadlines as ISO, epoch ms or +DURATION from now', () => {
    assert.equal(parse(['--timeout', '1500', 'true']).spec.timeoutMs, 1500)
    assert.equal(parse(['--timeout', '2h', 'true']).spec.timeoutMs, 7_200_000)
    assert.equal(parse(['--deadline', '+10m', 'true']).spec.deadline, NOW + 600_000)
    assert.equal(parse(['--deadline', '1800000000000', 'true']).spec.deadline, 1_800_000_000_000)
  })

  it('asks for help', () => {
    assert.equal(parseRunArgs(['--help'], NOW), 'help')
    assert.equal(parseRunArgs(['-h', '--', 'true'], NOW), 'help')
  })

  it('refuses a missing COMMAND', () => {
    refused([], /no COMMAND given/)
    refused(['--wait'], /no COMMAND given/)
    refused(['--cpus', '2', '--'], /no COMMAND given/)
  })

  it('refuses unknown flags and flags without their value', () => {
    refused(['--bogus', '--', 'true'], /Unknown option '--bogus'/)
    refused(['--cpus'], /argument missing|no COMMAND/)
  })

  it('refuses numbers that are not numbers', () => {
    refused(['--cpus', 'abc', '--', 'true'], /^--cpus "abc": expected a number/)
    refused(['--cpus=-1', '--', 'true'], /^--cpus "-1": expected a number/)
    refused(['--memory', '1.5', 'true'], /^--memory "1.5": expected a whole number/)
    refused(['--retries', 'two', 'true'], /^--retries "two": expected a whole number/)
    refused(['--timeout', '10 minutes', 'true'], /^--timeout "10 minutes": expected milliseconds or a duration/)
    refused(['--count', '0', 'true'], /^--count "0": expected a whole number from 1/)
    refused(['--deadline', '+soon', 'true'], /^--deadline "soon": expected milliseconds or a duration/)
  })

  it('refuses --env and --label without KEY=VALUE', () => {
    refused(['--env', 'FOO', 'true'], /^--env "FOO": expected KEY=VALUE/)
    refused(['--env', '=x', 'true'], /^--env "=x": expected KEY=VALUE/)
    refused(['--label', 'gpu', 'true'], /^--label "gpu": expected KEY=VALUE/)
  })

  it("checks values with the API's own spec rules, naming the flag", () => {
    refused(['--priority', '500', 'true'], /^--priority: must be 0 to 100/)
    refused(['--cpus', '0', 'true'], /^--cpus: must be greater than 0/)
    refused(['--memory', '0', 'true'], /^--memory: must be greater than 0/)
    refused(['--env', '1X=2', 'true'], /^--env 1X: must be a shell variable name/)
    refused(['--tenant', 'a b', 'true'], /^--tenant: must be 1-64 letters/)
    refused(['--policy', 'fastest', 'true'], /^--policy: /)
    refused(['--deadline', 'tomorrow', 'true'], /^--deadline: must be an ISO-8601 time/)
  })
})

describe('meshos run --wait exit status', () => {
  const task = (fields: Partial<TaskView>): TaskView =>
    ({
      id: 't1',
      state: 'failed',
      reason: null,
      message: null,
      exitCode: null,
      signal: null,
      ...fields,
    }) as TaskView

  it("is the task's own exit code when it exited", () => {
    assert.deepEqual(exitStatusOf(task({ state: 'succeeded', exitCode: 0 })), { code: 0, note: null })
    assert.deepEqual(exitStatusOf(task({ reason: 'exit_code', exitCode: 7 })), { code: 7, note: null })
  })

  it('is 1 with the reason when it failed without one, and 130 when cancelled', () => {
    assert.deepEqual(
      exitStatusOf(task({ reason: 'timeout', signal: 'SIGTERM', message: 'killed after 500 ms timeout' })),
      { code: 1, note: 'meshos: task t1 failed: timeout: killed after 500 ms timeout' },
    )
    assert.equal(exitStatusOf(task({ reason: 'lost', message: null })).note, 'meshos: task t1 failed: lost')
    assert.deepEqual(exitStatusOf(task({ state: 'cancelled', reason: 'cancelled' })), {
      code: 130,
      note: 'meshos: task t1 was cancelled',
    })
  })
})

describe('CLI durations', () => {
  it('parses plain ms and units, and nothing else', () => {
    assert.equal(parseDuration('250'), 250)
    assert.equal(parseDuration('250ms'), 250)
    assert.equal(parseDuration('1.5s'), 1500)
    assert.equal(parseDuration('1h30m'), 5_400_000)
    assert.equal(parseDuration('2d'), 172_800_000)
    for (const bad of ['', 's', '1x', '-5', '1 h', '1.5']) assert.equal(parseDuration(bad), null, bad)
  })

  it('formats for reading at a glance', () => {
    assert.deepEqual([15, 1234, 65_000, 3_723_000, 90_000_000].map(formatDuration), [
      '15ms',
      '1.2s',
      '1m05s',
      '1h02m',
      '1d01h',
    ])
  })
})
