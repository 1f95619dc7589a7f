// Builds the dashboard (run by `npm run build`): web/src type-checked by tsc for the browser, then
// bundled by esbuild into one module, dist/dashboard/dashboard.js, beside web/static's files. The
// node serves that folder (src/http/dashboard-assets.ts); one script instead of two dozen keeps
// the page's first load to a few requests.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'dashboard')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const checked = spawnSync(process.execPath, [tsc, '-p', join(root, 'web', 'tsconfig.json')], { stdio: 'inherit' })
if (checked.status !== 0) process.exit(checked.status ?? 1)
mkdirSync(out, { recursive: true })
await build({
  entryPoints: [join(root, 'web', 'src', 'main.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  outfile: join(out, 'dashboard.js'),
  logLevel: 'warning',
  legalComments: 'none',
})
cpSync(join(root, 'web', 'static'), out, { recursive: true })
