// Builds native/launcher.c into dist/native/meshos-launcher (run by `npm run build`).
// Without a C compiler the build still succeeds and the executor falls back to Node's
// child_process (slower: a fork per task); MESHOS_REQUIRE_LAUNCHER=1 makes that an error instead,
// which CI sets so that the launcher is always what its tests exercise.
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const source = join(root, 'native', 'launcher.c')
const output = join(root, 'dist', 'native', 'meshos-launcher')
const required = process.env.MESHOS_REQUIRE_LAUNCHER === '1'
const cc = process.env.CC ?? 'cc'

function giveUp(why) {
  const message = `meshos-launcher not built: ${why}`
  if (required) {
    console.error(`${message} (MESHOS_REQUIRE_LAUNCHER=1)`)
    process.exit(1)
  }
  console.error(`${message}; tasks will be spawned with Node's child_process instead`)
  process.exit(0)
}

if (process.platform !== 'linux') giveUp(`it is Linux-only (this is ${process.platform})`)
mkdirSync(dirname(output), { recursive: true })
const result = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-std=c11', '-o', output, source], {
  stdio: 'inherit',
})
if (result.error !== undefined) giveUp(`${cc}: ${result.error.message}`)
if (result.status !== 0) giveUp(`${cc} exited with ${result.status}`)
