// A stock etcd 3.4 cluster of 3 members on 127.0.0.1 as the failover baseline, written to through
// its v3 JSON gateway; null when the etcd binary is not installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { freePort } from '../../harness/free-port.js'
import type { TempDirs } from '../../harness/temp-dirs.js'
import { waitFor } from '../../harness/wait-for.js'
import { httpTo } from '../lib/http.js'
import type { Cluster } from './measure.js'

/** etcd's v3 JSON gateway: keys and values are base64. */
async function etcdPost(port: number, path: string, body: unknown, timeoutMs = 5000): Promise<Record<string, unknown>> {
  const res = await httpTo(`http://127.0.0.1:${port}`).request<Record<string, unknown>>('POST', path, body, timeoutMs)
  if (res.status !== 200 || res.body?.error != null)
    throw new Error(`etcd ${path}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}

export async function startEtcd(dirs: TempDirs): Promise<Cluster | null> {
  if (spawnSync('etcd', ['--version']).status !== 0) return null
  const peers = await Promise.all([0, 1, 2].map(async () => ({ client: await freePort(), peer: await freePort() })))
  const dataDirs = await Promise.all(peers.map(async () => await dirs.make('etcd-')))
  const initialCluster = peers.map((p, i) => `e${i}=http://127.0.0.1:${p.peer}`).join(',')
  const procs: Array<ChildProcess | null> = [null, null, null]
  const run = (i: number, state: 'new' | 'existing'): void => {
    const p = peers[i]!
    procs[i] = spawn(
      'etcd',
      [
        '--name',
        `e${i}`,
        '--data-dir',
        dataDirs[i]!,
        '--listen-client-urls',
        `http://127.0.0.1:${p.client}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${p.client}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${p.peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${p.peer}`,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        state,
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    )
  }
  for (let i = 0; i < 3; i++) run(i, 'new')
  const memberIds: string[] = []
  const b64 = (s: string): string => Buffer.from(s).toString('base64')
  const status = async (i: number): Promise<{ member: string; leader: string }> => {
    const s = await etcdPost(peers[i]!.client, '/v3/maintenance/status', {}, 1000)
    return { member: String((s.header as { member_id: string }).member_id), leader: String(s.leader) }
  }
  const cluster: Cluster = {
    leader: async () =>
      await waitFor(
        'an etcd leader',
        async () => {
          for (let i = 0; i < 3; i++) {
            const s = await status(i).catch(() => null)
            if (s != null && s.leader !== '0') {
              const idx = memberIds.indexOf(s.leader)
              if (idx >= 0) return idx
            }
          }
          return undefined
        },
        10_000,
        20,
      ),
    put: async (i, key, value, attemptTimeoutMs) => {
      await etcdPost(peers[i]!.client, '/v3/kv/put', { key: b64(key), value: b64(value) }, attemptTimeoutMs)
    },
    kill: async i => {
      const p = procs[i]
      if (p == null) return
      const exited = new Promise(resolve => p.once('exit', resolve))
      p.kill('SIGKILL')
      await exited
      procs[i] = null
    },
    restart: async i => {
      run(i, 'existing')
    },
    healthy: async () => {
      await waitFor(
        '3 etcd members agreeing on a leader',
        async () => {
          const all = await Promise.all([0, 1, 2].map(async i => await status(i).catch(() => null)))
          if (all.some(s => s == null)) return false
          if (memberIds.length === 0) memberIds.push(...all.map(s => s!.member))
          const leaders = new Set(all.map(s => s!.leader))
          return leaders.size === 1 && !leaders.has('0')
        },
        30_000,
        50,
      )
    },
    pids: () => procs.map(p => p?.pid ?? -1),
    stop: async () => {
      for (let i = 0; i < 3; i++) await cluster.kill(i)
      await dirs.cleanup()
    },
  }
  return cluster
}
