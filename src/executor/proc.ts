// Reading Linux's /proc: the process table (for per-group RSS and for finding a task's leftover
// processes), one process's start time (to tell our pid from a recycled one) and its environment.
// Everything here tolerates processes vanishing mid-read: that is the normal case, not an error.
import { readFileSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { endianness } from 'node:os'

export interface ProcEntry {
  pid: number
  /** Process group id. */
  pgid: number
  /** Clock ticks after boot: with the pid, identifies one process for the life of the machine. */
  startTime: string
  rssPages: number
}

/** Bounded so a node with thousands of processes does not hold thousands of open files at once. */
const READ_CONCURRENCY = 16

const FALLBACK_PAGE_SIZE_BYTES = 4096
const AT_PAGESZ = 6
const WORD_BYTES_BY_ARCH: Record<string, number> = { x64: 8, arm64: 8, ppc64: 8, s390x: 8, riscv64: 8, loong64: 8, mips64el: 8 }

/**
 * The kernel's page size, from the auxiliary vector it handed this process (AT_PAGESZ): exact on
 * 16K/64K-page arm64 too, and without spawning getconf. Falls back to 4096 off Linux.
 */
export function pageSizeBytes (): number {
  try {
    const auxv = readFileSync('/proc/self/auxv')
    const word = WORD_BYTES_BY_ARCH[process.arch] ?? 4
    const little = endianness() === 'LE'
    const at = (offset: number): number => {
      if (word === 4) return little ? auxv.readUInt32LE(offset) : auxv.readUInt32BE(offset)
      return Number(little ? auxv.readBigUInt64LE(offset) : auxv.readBigUInt64BE(offset))
    }
    for (let offset = 0; offset + 2 * word <= auxv.length; offset += 2 * word) {
      if (at(offset) === AT_PAGESZ) {
        const size = at(offset + word)
        if (size > 0) return size
      }
    }
  } catch {}
  return FALLBACK_PAGE_SIZE_BYTES
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and ')' so fields count from the last ')'. */
export function parseStat (pid: number, text: string): ProcEntry | null {
  const close = text.lastIndexOf(')')
  if (close < 0) return null
  // Field 3 (state) is rest[0]: pgrp is field 5, starttime field 22, rss field 24.
  const rest = text.slice(close + 2).split(' ')
  const pgid = Number(rest[2])
  const startTime = rest[19]
  const rssPages = Number(rest[21])
  if (!Number.isInteger(pgid) || startTime === undefined || !Number.isFinite(rssPages)) return null
  return { pid, pgid, startTime, rssPages }
}

/** Synchronous on purpose: called right after spawn, while the child cannot yet have been reaped. */
export function readStartTimeSync (pid: number): string | null {
  try {
    return parseStat(pid, readFileSync(`/proc/${pid}/stat`, 'latin1'))?.startTime ?? null
  } catch {
    return null
  }
}

export async function readEntry (pid: number): Promise<ProcEntry | null> {
  try {
    return parseStat(pid, await readFile(`/proc/${pid}/stat`, 'latin1'))
  } catch {
    return null
  }
}

/** Every process visible in /proc: one readdir plus one small read per process. */
export async function readProcessTable (): Promise<ProcEntry[]> {
  let names: string[]
  try {
    names = await readdir('/proc')
  } catch {
    return []
  }
  const pids = names.filter((name) => /^[0-9]+$/.test(name)).map(Number)
  const entries: ProcEntry[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < pids.length) {
      const entry = await readEntry(pids[next++])
      if (entry !== null) entries.push(entry)
    }
  }
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, pids.length) }, worker))
  return entries
}

/** The process's environment as NAME=value strings; null if gone or not ours to read. */
export async function readEnviron (pid: number): Promise<string[] | null> {
  try {
    return (await readFile(`/proc/${pid}/environ`, 'latin1')).split('\0')
  } catch {
    return null
  }
}
