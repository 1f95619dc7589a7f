// The cgroup drivers against an imitation of the kernel's cgroup file systems (a temp dir whose
// mkdir, rmdir and writes behave as cgroupfs does where the drivers depend on it): cgroup v2,
// which this project's machines do not mount, and the detection of v1 and v2 from mountinfo. The
// v1 driver also runs against the real kernel in task-isolation.test.ts.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { CgroupFs } from '../../src/executor/cgroups/cgroup-fs.js'
import { CgroupV1Driver } from '../../src/executor/cgroups/cgroup-v1.js'
import { CgroupV2Driver } from '../../src/executor/cgroups/cgroup-v2.js'
import { removeLeftovers } from '../../src/executor/cgroups/cgroups.js'
import {
  AGENT_LEAF,
  openCgroups,
  parseMountinfo,
  parseSelfCgroup,
  removeNodeCgroups,
  setUpNodeCgroups,
} from '../../src/executor/cgroups/setup.js'

const AGENT_PID = 4242

function fsError(code: string, file: string): Error {
  return Object.assign(new Error(`${code}: ${file}`), { code })
}

/** cgroup v2 as the drivers see it. Files are made by mkdir as the kernel would; writes to the
 * interface files act as the kernel's do, and every write is recorded. */
class FakeV2 implements CgroupFs {
  readonly writes: Array<[string, string]> = []
  /** Without cgroup.kill (Linux before 5.14), a kill must freeze. */
  constructor(
    readonly root: string,
    private readonly hasKillFile = true,
  ) {
    this.populate(root, ['cpuset', 'cpu', 'io', 'memory', 'pids'])
  }

  private populate(dir: string, controllers: string[]): void {
    const files: Record<string, string> = {
      'cgroup.controllers': controllers.join(' '),
      'cgroup.subtree_control': '',
      'cgroup.procs': '',
      'cgroup.events': 'populated 0\nfrozen 0\n',
      'cgroup.freeze': '0',
      ...(this.hasKillFile ? { 'cgroup.kill': '' } : {}),
    }
    if (dir !== this.root && controllers.includes('memory'))
      Object.assign(files, {
        'memory.max': 'max',
        'memory.swap.max': 'max',
        'memory.oom.group': '0',
        'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n',
      })
    if (dir !== this.root && controllers.includes('pids')) files['pids.max'] = 'max'
    if (dir !== this.root && controllers.includes('cpu')) files['cpu.weight'] = '100'
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  }

  private words(file: string): string[] {
    return readFileSync(file, 'utf8').split(/\s+/).filter(Boolean)
  }

  exists = (file: string): boolean => existsSync(file)
  read = (file: string): string => readFileSync(file, 'utf8')
  children = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true })
      .filter(e => e.isDirectory())
      .map(e => e.name)

  mkdir = (dir: string): void => {
    mkdirSync(dir)
    this.populate(dir, this.words(path.join(path.dirname(dir), 'cgroup.subtree_control')))
  }

  rmdir = (dir: string): void => {
    if (!existsSync(dir)) throw fsError('ENOENT', dir)
    if (this.words(path.join(dir, 'cgroup.procs')).length > 0 || this.children(dir).length > 0)
      throw fsError('EBUSY', dir)
    rmSync(dir, { recursive: true })
  }

  write = (file: string, text: string): void => {
    this.writes.push([path.relative(this.root, file), text])
    const dir = path.dirname(file)
    switch (path.basename(file)) {
      case 'cgroup.subtree_control': {
        const available = this.words(path.join(dir, 'cgroup.controllers'))
        const enabled = new Set(this.words(file))
        for (const token of text.split(/\s+/).filter(Boolean)) {
          const controller = token.slice(1)
          if (!available.includes(controller)) throw fsError('EINVAL', file)
          if (token.startsWith('+')) enabled.add(controller)
          else enabled.delete(controller)
        }
        // No internal processes: only the root may hand controllers down while it has members.
        if (dir !== this.root && enabled.size > 0 && this.words(path.join(dir, 'cgroup.procs')).length > 0)
          throw fsError('EBUSY', file)
        writeFileSync(file, [...enabled].join(' '))
        return
      }
      case 'cgroup.procs': {
        this.removePid(this.root, text.trim())
        writeFileSync(file, [...this.words(file), text.trim()].join('\n'))
        return
      }
      case 'cgroup.kill':
        writeFileSync(path.join(dir, 'cgroup.procs'), '')
        return
      case 'cgroup.freeze':
        writeFileSync(file, text)
        writeFileSync(path.join(dir, 'cgroup.events'), `populated 1\nfrozen ${text.trim()}\n`)
        return
      default:
        if (!existsSync(file)) throw fsError('EACCES', file) // interface files cannot be created
        writeFileSync(file, text)
    }
  }

  private removePid(dir: string, pid: string): void {
    const procs = path.join(dir, 'cgroup.procs')
    writeFileSync(
      procs,
      this.words(procs)
        .filter(p => p !== pid)
        .join('\n'),
    )
    for (const child of this.children(dir)) this.removePid(path.join(dir, child), pid)
  }

  /** A cgroup of the hierarchy with these members, made as systemd would have. */
  place(cgroupPath: string, pids: number[], delegated: string[]): string {
    let dir = this.root
    for (const part of cgroupPath.split('/').filter(Boolean)) {
      this.write(path.join(dir, 'cgroup.subtree_control'), delegated.map(c => `+${c}`).join(' '))
      dir = path.join(dir, part)
      if (!existsSync(dir)) this.mkdir(dir)
    }
    for (const pid of pids) this.write(path.join(dir, 'cgroup.procs'), String(pid))
    this.writes.length = 0
    return dir
  }
}

function v2Probe(fs: FakeV2, ownPath: string): Parameters<typeof setUpNodeCgroups>[1] {
  return {
    mountinfo: `30 23 0:26 / ${fs.root} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n`,
    selfCgroup: `0::${ownPath}\n`,
    fs,
    pid: AGENT_PID,
  }
}

describe('cgroups', function () {
  let dir: string
  beforeEach(async function () {
    dir = await mkdtemp(path.join(tmpdir(), 'meshos-fake-cgroup-'))
  })
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true })
  })

  describe('finding them', function () {
    it('reads mount points (with escapes) and controllers from mountinfo, and the own cgroups', function () {
      const mounts = parseMountinfo(
        [
          '35 25 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory',
          '36 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw shared:16 - cgroup cgroup rw,cpu,cpuacct',
          '37 25 0:32 /sub /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw',
        ].join('\n'),
      )
      assert.deepEqual(
        mounts.map(m => [m.mountPoint, m.root, m.fsType, m.superOptions]),
        [
          ['/sys/fs/cgroup/memory', '/', 'cgroup', ['rw', 'memory']],
          ['/sys/fs/cgroup/cpu,cpuacct', '/', 'cgroup', ['rw', 'cpu', 'cpuacct']],
          ['/mnt/my cgroups', '/sub', 'cgroup2', ['rw']],
        ],
      )
      const own = parseSelfCgroup('12:pids:/a\n4:cpu,cpuacct:/b\n1:name=systemd:/c\n0::/d\n')
      assert.deepEqual(
        [...own.v1.entries()],
        [
          ['pids', '/a'],
          ['cpu', '/b'],
          ['cpuacct', '/b'],
          ['name=systemd', '/c'],
        ],
      )
      assert.equal(own.v2, '/d')
    })

    it('v2, agent alone in a delegated service cgroup: moves itself into a leaf, then hands memory, pids and cpu down', function () {
      const fs = new FakeV2(dir)
      const service = fs.place('/system.slice/meshos.service', [AGENT_PID], ['memory', 'pids', 'cpu'])
      const result = setUpNodeCgroups('12D3Koo', v2Probe(fs, '/system.slice/meshos.service'))
      assert.ok(result.ok, result.ok ? '' : result.reason)
      const nodeDir = path.join(service, 'meshos-12D3Koo')
      assert.deepEqual(result.setup, { version: 'v2', nodeDir, controllers: ['memory', 'pids', 'cpu'] })
      assert.equal(fs.read(path.join(service, AGENT_LEAF, 'cgroup.procs')).trim(), String(AGENT_PID))
      assert.equal(fs.read(path.join(service, 'cgroup.procs')).trim(), '')
      assert.equal(fs.read(path.join(service, 'cgroup.subtree_control')), 'memory pids cpu')
      assert.equal(fs.read(path.join(nodeDir, 'cgroup.subtree_control')), 'memory pids cpu')

      // A restarted agent that inherited the leaf delegates from the service's cgroup again.
      const again = setUpNodeCgroups('12D3Koo', v2Probe(fs, `/system.slice/meshos.service/${AGENT_LEAF}`))
      assert.ok(again.ok)
      assert.equal(again.setup.version === 'v2' && again.setup.nodeDir, nodeDir)
    })

    it('v2, other processes in the agent cgroup: no cgroups for tasks, and the reason', function () {
      const fs = new FakeV2(dir)
      fs.place('/user.slice/session-1.scope', [AGENT_PID, 1234], ['memory', 'pids'])
      const result = setUpNodeCgroups('x', v2Probe(fs, '/user.slice/session-1.scope'))
      assert.equal(result.ok, false)
      assert.match(result.ok ? '' : result.reason, /holds other processes.*Delegate=yes/)
      assert.equal(
        fs.read(path.join(dir, 'user.slice/session-1.scope/cgroup.procs')).split('\n').length,
        2,
        'nobody moved',
      )
    })

    it('v2 in the root cgroup: delegates from the root itself, without moving', function () {
      const fs = new FakeV2(dir)
      fs.place('/', [AGENT_PID], [])
      const result = setUpNodeCgroups('root-node', v2Probe(fs, '/'))
      assert.ok(result.ok, result.ok ? '' : result.reason)
      assert.equal(fs.read(path.join(dir, 'cgroup.procs')).trim(), String(AGENT_PID))
      assert.equal(fs.read(path.join(dir, 'cgroup.subtree_control')), 'memory pids cpu')
    })

    it('v2 without the memory controller: no cgroups, and why', function () {
      const fs = new FakeV2(dir)
      fs.place('/svc', [AGENT_PID], ['pids'])
      const result = setUpNodeCgroups('x', v2Probe(fs, '/svc'))
      assert.equal(result.ok, false)
      assert.match(result.ok ? '' : result.reason, /does not offer the memory and pids controllers/)
    })

    it('v1 (memory and pids as hierarchies of their own, beside an empty unified one): a node cgroup in each', function () {
      const hierarchies = ['memory', 'pids', 'freezer', 'cpu,cpuacct']
      for (const h of hierarchies) mkdirSync(path.join(dir, h, 'agent.slice'), { recursive: true })
      const plainFs: CgroupFs = {
        exists: existsSync,
        mkdir: d => mkdirSync(d),
        rmdir: d => rmSync(d, { recursive: true }),
        read: f => readFileSync(f, 'utf8'),
        write: (f, t) => writeFileSync(f, t),
        children: d => readdirSync(d),
      }
      const result = setUpNodeCgroups('n1', {
        mountinfo: [
          ...hierarchies.map((h, i) => `${40 + i} 25 0:${40 + i} / ${dir}/${h} rw - cgroup cgroup rw,${h}`),
          `50 25 0:50 / ${dir}/unified rw - cgroup2 cgroup2 rw`,
        ].join('\n'),
        selfCgroup:
          '9:memory:/agent.slice\n8:pids:/agent.slice\n7:freezer:/agent.slice\n6:cpu,cpuacct:/agent.slice\n0::/\n',
        fs: plainFs,
        pid: AGENT_PID,
      })
      assert.ok(result.ok, result.ok ? '' : result.reason)
      assert.deepEqual(result.setup, {
        version: 'v1',
        nodeDirs: {
          memory: path.join(dir, 'memory/agent.slice/meshos-n1'),
          pids: path.join(dir, 'pids/agent.slice/meshos-n1'),
          freezer: path.join(dir, 'freezer/agent.slice/meshos-n1'),
          cpu: path.join(dir, 'cpu,cpuacct/agent.slice/meshos-n1'),
        },
      })
      // The v1 driver writes each limit into its own hierarchy.
      const created: string[] = []
      const v1 = new CgroupV1Driver(result.setup.version === 'v1' ? result.setup.nodeDirs : (null as never), {
        ...plainFs,
        mkdir: d => {
          mkdirSync(d)
          created.push(path.relative(dir, d))
        },
        write: (f, t) => {
          created.push(`${path.relative(dir, f)}=${t}`)
        },
      })
      v1.create('t@1', { memoryBytes: 64 * 1024 * 1024, pidsMax: 100, cpus: 0.5 })
      assert.deepEqual(created, [
        'memory/agent.slice/meshos-n1/t@1',
        'pids/agent.slice/meshos-n1/t@1',
        'freezer/agent.slice/meshos-n1/t@1',
        'cpu,cpuacct/agent.slice/meshos-n1/t@1',
        `memory/agent.slice/meshos-n1/t@1/memory.limit_in_bytes=${64 * 1024 * 1024}`,
        'pids/agent.slice/meshos-n1/t@1/pids.max=100',
        'cpu,cpuacct/agent.slice/meshos-n1/t@1/cpu.shares=512',
      ])
    })
  })

  describe('v2 attempts', function () {
    function node(fs: FakeV2): CgroupV2Driver {
      const result = setUpNodeCgroups('n', v2Probe(fs, '/'))
      assert.ok(result.ok && result.setup.version === 'v2')
      fs.writes.length = 0
      return new CgroupV2Driver(result.setup, fs)
    }

    it('sets the limits: memory (no swap, the whole task on OOM), pids, a cpu weight for its cpus', function () {
      const fs = new FakeV2(dir)
      const attempt = node(fs).create('t@1', { memoryBytes: 32 * 1024 * 1024, pidsMax: 64, cpus: 0.5 })
      assert.deepEqual(fs.writes, [
        ['meshos-n/t@1/memory.max', String(32 * 1024 * 1024)],
        ['meshos-n/t@1/memory.swap.max', '0'],
        ['meshos-n/t@1/memory.oom.group', '1'],
        ['meshos-n/t@1/pids.max', '64'],
        ['meshos-n/t@1/cpu.weight', '50'],
      ])
      assert.deepEqual(attempt.procsFiles, [path.join(dir, 'meshos-n/t@1/cgroup.procs')])
    })

    it('kills with cgroup.kill, counts OOM kills from memory.events, removes once empty', function () {
      const fs = new FakeV2(dir)
      const attempt = node(fs).create('t@1', { memoryBytes: 1 << 20, pidsMax: 8, cpus: 1 })
      fs.write(attempt.procsFiles[0]!, '999999')
      assert.equal(attempt.remove(), false, 'busy while a process is in it')
      fs.writes.length = 0
      attempt.kill()
      assert.deepEqual(fs.writes, [['meshos-n/t@1/cgroup.kill', '1']])
      writeFileSync(path.join(dir, 'meshos-n/t@1/memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n')
      assert.equal(attempt.oomKills(), 2)
      assert.equal(attempt.remove(), true)
      assert.equal(existsSync(path.join(dir, 'meshos-n/t@1')), false)
      assert.equal(attempt.remove(), true, 'gone is removed')
    })

    it('before cgroup.kill (Linux < 5.14), kills frozen: freeze, signal, thaw', function () {
      const fs = new FakeV2(dir, false)
      const attempt = node(fs).create('t@1', { memoryBytes: 1 << 20, pidsMax: 8, cpus: 1 })
      fs.writes.length = 0
      attempt.kill()
      assert.deepEqual(fs.writes, [
        ['meshos-n/t@1/cgroup.freeze', '1'],
        ['meshos-n/t@1/cgroup.freeze', '0'],
      ])
    })

    it('removes what an earlier run left, and makes the node cgroup again if it is gone', async function () {
      const fs = new FakeV2(dir)
      const driver = node(fs)
      // Pids only the imitation holds: cgroup.kill, not a signal, empties it.
      for (const name of ['a@1', 'b@2'])
        fs.write(driver.create(name, { memoryBytes: 1 << 20, pidsMax: 8, cpus: 1 }).procsFiles[0]!, '999999')
      assert.deepEqual((await removeLeftovers(driver)).sort(), ['a@1', 'b@2'])
      assert.deepEqual(fs.children(path.join(dir, 'meshos-n')), [])
      await removeNodeCgroups(
        { version: 'v2', nodeDir: path.join(dir, 'meshos-n'), controllers: ['memory', 'pids', 'cpu'] },
        fs,
      )
      assert.equal(existsSync(path.join(dir, 'meshos-n')), false)
      const again = openCgroups(
        { version: 'v2', nodeDir: path.join(dir, 'meshos-n'), controllers: ['memory', 'pids'] },
        fs,
      )
      again.create('c@1', { memoryBytes: 1 << 20, pidsMax: 8, cpus: 1 })
      assert.equal(fs.read(path.join(dir, 'meshos-n/cgroup.subtree_control')), 'memory pids')
      assert.equal(fs.read(path.join(dir, 'meshos-n/c@1/pids.max')), '8')
    })

    it('a limit the kernel refuses fails the attempt and leaves nothing behind', function () {
      const fs = new FakeV2(dir)
      const driver = node(fs)
      const refusing: CgroupFs = {
        ...fs,
        write: (file, text) => {
          if (file.endsWith('pids.max')) throw fsError('EINVAL', file)
          fs.write(file, text)
        },
      }
      const strict = new CgroupV2Driver(
        { nodeDir: path.join(dir, 'meshos-n'), controllers: ['memory', 'pids'] },
        refusing,
      )
      assert.throws(() => strict.create('t@1', { memoryBytes: 1, pidsMax: -1, cpus: 1 }), /cgroup t@1: EINVAL/)
      assert.deepEqual(fs.children(path.join(dir, 'meshos-n')), [])
      assert.ok(driver.create('t@1', { memoryBytes: 1 << 20, pidsMax: 8, cpus: 1 }))
    })
  })
})
