// The dashboard's files as the build leaves them in dist/dashboard (scripts/build-web.mjs): the
// page, its one script, its style sheet and icon. Read once when the app is built (a few dozen
// KiB) and served from memory with an ETag.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Asset {
  body: Buffer
  contentType: string
  etag: string
}

export interface DashboardAssets {
  page: Asset
  /** By file name, as the page names them below /ui/. */
  files: ReadonlyMap<string, Asset>
}

/** This file runs as dist/src/http/dashboard-assets.js. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url))
const PAGE = 'index.html'

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
}

/** Null when the dashboard is not built. */
export function loadDashboardAssets(dir = DASHBOARD_DIR): DashboardAssets | null {
  if (!existsSync(path.join(dir, PAGE))) return null
  const files = new Map<string, Asset>()
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[path.extname(name)]
    if (name !== PAGE && contentType !== undefined)
      files.set(name, asset(readFileSync(path.join(dir, name)), contentType))
  }
  return { page: asset(readFileSync(path.join(dir, PAGE)), CONTENT_TYPES['.html']!), files }
}

function asset(body: Buffer, contentType: string): Asset {
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` }
}
