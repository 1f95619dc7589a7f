// The unprivileged user a root agent runs tasks as (--task-user, default nobody): resolved to
// numbers once at start, through the system's user database (getent, so NSS users work too;
// /etc/passwd where getent is missing). Its supplementary groups are not looked up: a task gets
// none (the spawners clear them), only the user's primary group.
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import type { TaskUser } from './sandbox.js'

function passwdLine(name: string): string | null {
  try {
    return execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch (err) {
    // getent exits 2 for "no such user"; anything else (not installed) falls back to the file.
    if ((err as { status?: number }).status === 2) return null
  }
  try {
    const byNumber = /^\d+$/.test(name)
    return (
      readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find(line => {
          const fields = line.split(':')
          return byNumber ? fields[2] === name : fields[0] === name
        }) ?? null
    )
  } catch {
    return null
  }
}

/** Throws an Error saying what is wrong: no such user, or one that would be root. */
export function resolveTaskUser(name: string): TaskUser {
  const line = passwdLine(name)
  const fields = line?.trim().split(':') ?? []
  const uid = Number(fields[2])
  const gid = Number(fields[3])
  if (line === null || fields.length < 4 || !Number.isSafeInteger(uid) || !Number.isSafeInteger(gid))
    throw new Error(`task user "${name}" does not exist on this machine`)
  if (uid === 0 || gid === 0)
    throw new Error(`task user "${name}" is root (uid ${uid}, gid ${gid}): tasks must run unprivileged`)
  return { name: fields[0]!, uid, gid }
}

/**
 * Null if `user` can pass through every directory down to `dir` (search permission), else which
 * one stops it: a data dir under a private home directory would make every task fail to start.
 */
export function reachProblem(dir: string, user: TaskUser): string | null {
  const absolute = path.resolve(dir)
  const chain: string[] = []
  for (let d = absolute; ; d = path.dirname(d)) {
    chain.unshift(d)
    if (path.dirname(d) === d) break
  }
  for (const d of chain) {
    let st
    try {
      st = statSync(d)
    } catch {
      return null // made later, by the agent, with modes that let the user in
    }
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001
    if ((st.mode & bit) === 0)
      return `${d} (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${st.uid}) does not let task user ${user.name} (uid ${user.uid}) pass`
  }
  return null
}
