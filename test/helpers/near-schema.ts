// Arbitraries for property tests of validators: input that is nearly right is where a validator's
// mistakes hide (a field one past its bound, a number a Date cannot hold, an extra key), so besides
// random bytes and random values, these take a valid example and break it in a few places.
import fc from 'fast-check'

/** Values that have broken validators before, or would break the code behind them. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileConstant() },
  fc.double(),
  fc.integer(),
  fc.string(),
  fc.anything(),
)

function hostileConstant(): fc.Arbitrary<unknown> {
  return fc.constantFrom<unknown>(
    1e300,
    -1e300,
    2 ** 53,
    2 ** 53 + 2,
    2 ** 50 + 1,
    Number.MAX_SAFE_INTEGER,
    8.64e15,
    8.64e15 + 1,
    1025,
    16 * 1024 * 1024 + 1,
    -1,
    0,
    -0,
    0.5,
    1e-300,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '',
    ' ',
    '../../etc/passwd',
    '__proto__',
    'constructor',
    'x'.repeat(70_000),
    null,
    true,
    [],
    {},
    [1, 2],
    JSON.parse('{"__proto__":{"polluted":true}}') as unknown,
  )
}

type Path = Array<string | number>

/** Every place in `value` a mutation can hit: each field and each element, at every depth. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix]
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])))
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]))
  return out
}

type Mutation = { path: Path; kind: 'set' | 'delete' | 'add'; value: unknown; key: string }

const isContainer = (v: unknown): v is Record<string | number, unknown> => v !== null && typeof v === 'object'

/** `root` with `m` applied; unchanged where an earlier mutation already removed the place. */
function applyMutation(root: unknown, m: Mutation): unknown {
  if (m.path.length === 0) return m.kind === 'set' ? structuredClone(m.value) : root
  let parent: unknown = root
  for (const p of m.path.slice(0, -1)) parent = isContainer(parent) ? parent[p] : undefined
  if (!isContainer(parent)) return root
  const last = m.path[m.path.length - 1]!
  const target = parent[last]
  // A copy: hostile constants are shared between runs, and a later mutation must not change (or
  // close a cycle through) the constant itself.
  const value = structuredClone(m.value)
  if (m.kind === 'set') parent[last] = value
  else if (m.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1)
    else delete parent[last]
  } else if (target !== null && typeof target === 'object' && !Array.isArray(target))
    (target as Record<string, unknown>)[m.key] = value
  else if (Array.isArray(target)) target.push(value)
  return root
}

/** `example` (a valid value) with one to three of its fields replaced, removed, or joined by an
 * unknown one. */
export function nearly(example: unknown): fc.Arbitrary<unknown> {
  const paths = pathsOf(example)
  const mutation = fc.record({
    path: fc.constantFrom(...paths),
    kind: fc.constantFrom<Mutation['kind']>('set', 'set', 'delete', 'add'),
    value: hostileValue,
    key: fc.oneof(fc.string(), fc.constantFrom('extra', '__proto__', 'constructor')),
  })
  return fc
    .array(mutation, { minLength: 1, maxLength: 3 })
    .map(ms => ms.reduce<unknown>((value, m) => applyMutation(value, m), structuredClone(example)))
}

/** JSON text of arbitrary values, or of near-valid ones, as the bytes a peer would send. */
export function jsonBytes(values: fc.Arbitrary<unknown>): fc.Arbitrary<Uint8Array> {
  return values.map(v => new TextEncoder().encode(JSON.stringify(v) ?? 'null'))
}
