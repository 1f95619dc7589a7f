// `meshos http-token [FILE]`: a new random token for the agent's --http-token-file and the other
// commands' --token-file (or MESHOS_TOKEN). With FILE, it is written there, readable by its owner
// only, and never over an existing file.
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { flags } from './args.js'
import { HTTP_TOKEN_USAGE, UsageError } from './usage.js'

/** 256 random bits: 43 characters of base64url. */
const TOKEN_BYTES = 32

export async function httpTokenCommand(args: string[]): Promise<number> {
  const { values, positionals } = flags(HTTP_TOKEN_USAGE, () =>
    parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true }),
  )
  if (values.help === true) {
    process.stdout.write(`usage: ${HTTP_TOKEN_USAGE}`)
    return 0
  }
  if (positionals.length > 1)
    throw new UsageError(`http-token: expected at most one FILE, got ${positionals.length}`, HTTP_TOKEN_USAGE)
  const token = randomBytes(TOKEN_BYTES).toString('base64url')
  const file = positionals[0]
  if (file === undefined) {
    process.stdout.write(`${token}\n`)
    return 0
  }
  try {
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UsageError(
      code === 'EEXIST'
        ? `http-token: ${file} exists; a token file is never overwritten (remove it first)`
        : `http-token: cannot write ${file} (${code ?? (err as Error).message})`,
      HTTP_TOKEN_USAGE,
    )
  }
  process.stdout.write(`wrote a new API token to ${file} (readable by its owner only)\n`)
  return 0
}
