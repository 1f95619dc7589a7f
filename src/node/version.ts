// The version every node announces, read from package.json so there is one place to bump it.
import { readFileSync } from 'node:fs'

// Compiled to dist/src/node/version.js, three levels below the package root.
const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
export const MESHOS_VERSION: string = pkg.version
