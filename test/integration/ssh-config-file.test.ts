/**
 * The block engine on real files: atomic writes, modes, symlinks, backups, a user's concurrent edit, a
 * writer killed mid-write, twenty writers at once, and the injection cases checked with the real `ssh -G`.
 */
import {spawn} from 'node:child_process'
import {chmod, chown, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import fc from 'fast-check'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {OnaError} from '../../src/lib/errors.js'
import {removeBlockFromFile, syncBlockInFile} from '../../src/lib/ssh-config/config-file.js'
import {BEGIN_MARKER, END_MARKER} from '../../src/lib/ssh-config/index.js'
import {parseDirective, splitLines} from '../../src/lib/ssh-config/scan.js'
import {repoRoot} from '../helpers/run-cli.js'
import {mapLimit} from '../helpers/map-limit.js'
import {sshG} from '../helpers/ssh.js'
import {configText} from '../helpers/generators.js'

const env = (id: string, host = '10.0.0.1', port = 22, user = 'gitpod_devcontainer') => ({id, host, port, user})

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ona-file-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('writing the SSH config file', () => {
  it('a missing file and a missing ~/.ssh are created private (0600 / 0700)', async () => {
    const file = path.join(dir, 'home', '.ssh', 'config')
    await syncBlockInFile(file, [env('a')])
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700)
    expect(await readFile(file, 'utf8')).toContain('Host a.gitpod.environment a.gitpod.remote')
  })

  it('an empty file gets the block, and removal leaves it empty again', async () => {
    const file = path.join(dir, 'config')
    await writeFile(file, '')
    await syncBlockInFile(file, [env('a')])
    expect(await readFile(file, 'utf8')).toMatch(/^# BEGIN ona ssh-sync/)
    await removeBlockFromFile(file)
    expect(await readFile(file, 'utf8')).toBe('')
  })

  it("keeps the file's permission bits", async () => {
    const file = path.join(dir, 'config')
    await writeFile(file, 'Host x\n')
    await chmod(file, 0o640)
    await syncBlockInFile(file, [env('a')])
    expect((await stat(file)).mode & 0o777).toBe(0o640)
  })

  it('writes the target of a symlinked config (dotfile managers) and keeps the link', async () => {
    await mkdir(path.join(dir, 'dotfiles'))
    const target = path.join(dir, 'dotfiles', 'ssh_config')
    await writeFile(target, 'Host x\n', {mode: 0o600})
    const link = path.join(dir, 'config')
    await symlink('dotfiles/ssh_config', link)
    const result = await syncBlockInFile(link, [env('a')])
    expect(result.file.realPath).toBe(target)
    expect(result.file.backupPath).toBe(path.join(dir, 'dotfiles', '.ssh_config.ona-backup'))
    expect((await lstat(link)).isSymbolicLink()).toBe(true)
    expect(await readlink(link)).toBe('dotfiles/ssh_config')
    expect(await readFile(target, 'utf8')).toContain('Host a.gitpod.environment')
  })

  it('a dangling symlink gets its target created; a symlink loop is a clear error', async () => {
    const link = path.join(dir, 'config')
    await symlink(path.join(dir, 'missing-target'), link)
    await syncBlockInFile(link, [env('a')])
    expect((await lstat(link)).isSymbolicLink()).toBe(true)
    expect(await readFile(path.join(dir, 'missing-target'), 'utf8')).toContain('a.gitpod.remote')

    const loopA = path.join(dir, 'loop-a')
    await symlink(path.join(dir, 'loop-b'), loopA)
    await symlink(loopA, path.join(dir, 'loop-b'))
    await expect(syncBlockInFile(loopA, [env('a')])).rejects.toMatchObject({code: 'ERR_SSH_CONFIG_SYMLINK_LOOP'})
  })

  it('before every write that changes the file, the version it replaces is kept: one generation, 0600, a dotfile', async () => {
    const file = path.join(dir, 'config')
    await writeFile(file, 'Host original\n', {mode: 0o644})
    const first = await syncBlockInFile(file, [env('a')])
    const backup = path.join(dir, '.config.ona-backup')
    expect(first.file.backupPath).toBe(backup)
    expect(first.file.previousKept).toBe(backup)
    expect(await readFile(backup, 'utf8')).toBe('Host original\n')
    expect((await stat(backup)).mode & 0o777).toBe(0o600)
    // The user rewrites the file after ona's first change: the next change keeps that version, not the first.
    const rewritten = `${await readFile(file, 'utf8')}Host mine\n  User me\n`
    await writeFile(file, rewritten)
    const second = await syncBlockInFile(file, [env('b')])
    expect(second.file.previousKept).toBe(backup)
    expect(second.file.backupPath).toBeUndefined()
    expect(await readFile(backup, 'utf8')).toBe(rewritten)
    expect((await stat(backup)).mode & 0o777).toBe(0o600)
    // A sync that changes nothing leaves the backup as it is.
    const same = await syncBlockInFile(file, [env('b')])
    expect(same.file.written).toBe(false)
    expect(await readFile(backup, 'utf8')).toBe(rewritten)
  })

  it('a planted symlink at the backup name is replaced, never written through', async () => {
    const file = path.join(dir, 'config')
    await writeFile(file, 'Host original\n')
    const victim = path.join(dir, 'victim')
    await writeFile(victim, 'keep me\n')
    await symlink(victim, path.join(dir, '.config.ona-backup'))
    await syncBlockInFile(file, [env('a')])
    expect(await readFile(victim, 'utf8')).toBe('keep me\n')
    expect((await lstat(path.join(dir, '.config.ona-backup'))).isSymbolicLink()).toBe(false)
  })

  it('a sync that changes nothing takes no lock: it succeeds while another ona holds the lock', async () => {
    const file = path.join(dir, 'config')
    await syncBlockInFile(file, [env('a')])
    const before = await readFile(file, 'utf8')
    const {acquireLock} = await import('../../src/lib/fs/safe-write.js')
    const release = await acquireLock(file, 1000)
    try {
      const result = await syncBlockInFile(file, [env('a')])
      expect(result.file.changed).toBe(false)
      expect(await readFile(file, 'utf8')).toBe(before)
      // A change still waits for the lock (and here gives up).
      const {updateFile} = await import('../../src/lib/fs/safe-write.js')
      await expect(updateFile(file, {transform: (t) => `${t}# more\n`, lockTimeoutMs: 50})).rejects.toMatchObject({code: 'ERR_SSH_CONFIG_LOCKED'})
    } finally {
      await release()
    }
  })

  it('a BOM file is refused with a clear error and left untouched', async () => {
    const file = path.join(dir, 'config')
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Host x\n')])
    await writeFile(file, bytes)
    const before = await stat(file)
    await expect(syncBlockInFile(file, [env('a')])).rejects.toMatchObject({code: 'ERR_SSH_CONFIG_BOM'})
    expect((await readFile(file)).equals(bytes)).toBe(true)
    expect((await stat(file)).mtimeMs).toBe(before.mtimeMs)
    expect((await import('node:fs')).readdirSync(dir)).toEqual(['config'])
  })

  it('malformed markers leave the file untouched', async () => {
    const file = path.join(dir, 'config')
    const text = `Host x\n${BEGIN_MARKER}\nHost mine\n  User me\n`
    await writeFile(file, text)
    const error = await syncBlockInFile(file, [env('a')]).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OnaError)
    expect((error as OnaError).message).toMatch(/line 2\) without an END marker/)
    expect(await readFile(file, 'utf8')).toBe(text)
  })

  it("a CRLF file keeps CRLF everywhere and non-UTF-8 bytes survive", async () => {
    const file = path.join(dir, 'config')
    const original = Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9, 0xff]), Buffer.from('\r\nHost x\r\n\tHostName y\r\n')])
    await writeFile(file, original)
    await syncBlockInFile(file, [env('a')])
    const after = await readFile(file)
    expect(after.toString('latin1')).not.toMatch(/[^\r]\n/)
    await removeBlockFromFile(file)
    expect((await readFile(file)).equals(original)).toBe(true)
  })

  it("an edit made by someone else between our read and our rename is not lost", async () => {
    const file = path.join(dir, 'config')
    await writeFile(file, 'Host x\n')
    let edited = false
    await syncBlockInFile(file, [env('a')], {
      beforeRename: async () => {
        if (edited) return
        edited = true
        await writeFile(file, 'Host x\nHost added-by-user\n')
      },
    })
    const text = await readFile(file, 'utf8')
    expect(text).toContain('Host added-by-user')
    expect(text).toContain('Host a.gitpod.environment')
  })

  it('a file that keeps changing under us fails clearly and is left as the other program wrote it', async () => {
    const file = path.join(dir, 'config')
    await writeFile(file, 'Host x\n')
    let n = 0
    const error = await syncBlockInFile(file, [env('a')], {
      beforeRename: async () => {
        await writeFile(file, `Host x${++n}\n`)
      },
    }).catch((e: unknown) => e)
    expect((error as OnaError).code).toBe('ERR_SSH_CONFIG_CONFLICT')
    expect(await readFile(file, 'utf8')).toBe(`Host x${n}\n`)
  })
})

describe('injection attempts checked with the real ssh -G', () => {
  it.each([
    ['newline in HostName adds a ProxyCommand', env('ws1', '1.2.3.4\n  ProxyCommand touch /tmp/pwned')],
    ['newline in the alias adds Host * hijacking github.com', env('ws1\nHost *\n  HostName evil.example')],
    ['a * in the alias captures every host', env('ws1.gitpod.remote *')],
    ['an embedded quote', env('ws1" "*')],
    ['a %h token in HostName', env('ws1', '%h.evil')],
  ])('%s: no directive is produced, github.com resolves as before', async (_name, bad) => {
    const file = path.join(dir, 'config')
    await writeFile(file, 'Host github.com\n  User git\n')
    const before = await sshG(file, 'github.com')
    const result = await syncBlockInFile(file, [bad, env('good', '10.1.1.1')])
    expect(result.written.map((w) => w.id)).toEqual(['good'])
    expect(result.warnings.some((w) => w.code === 'W_SKIPPED')).toBe(true)
    const after = await sshG(file, 'github.com')
    expect(after.raw).toBe(before.raw)
    const good = await sshG(file, 'good.gitpod.remote')
    expect(good.all('hostname')).toEqual(['10.1.1.1'])
    expect(good.all('proxycommand')).toEqual([])
    const ws1 = await sshG(file, 'ws1.gitpod.remote')
    expect(ws1.all('hostname')).toEqual(['ws1.gitpod.remote'])
  })
})

describe('generated configs under the real ssh -G', () => {
  it('every concrete host resolves as before, and aliases resolve to the managed values', async () => {
    const validEnvs = fc.array(
      fc.record({
        id: fc.stringMatching(/^[a-z0-9]{1,8}$/),
        host: fc.ipV4(),
        port: fc.integer({min: 1, max: 65_535}),
        user: fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/),
      }),
      {minLength: 1, maxLength: 4},
    )
    await fc.assert(
      fc.asyncProperty(configText, validEnvs, async (text, envs) => {
        const file = path.join(dir, 'config')
        await writeFile(file, text, 'utf8')
        const hosts = [...new Set(splitLines(text).flatMap((l) => {
          const d = parseDirective(l.content)
          return d?.keyword === 'host' ? d.args.filter((a) => a !== '' && !/[*?!]/.test(a)) : []
        }))].slice(0, 6)
        const before = await mapLimit(hosts, 3, (h) => sshG(file, h))
        const result = await syncBlockInFile(file, envs, {backup: false})
        const after = await mapLimit(hosts, 3, (h) => sshG(file, h))
        for (const [i, h] of hosts.entries()) {
          const norm = (r: typeof before[number]) => (r.code === 0 ? r.raw : `fail ${r.stderr.replace(/line \d+/g, 'line N')}`)
          expect(norm(after[i]!), h).toBe(norm(before[i]!))
        }
        const probe = await sshG(file, 'probe-host')
        if (probe.code === 0) {
          for (const w of result.written) {
            const r = await sshG(file, w.remoteAlias)
            const overridden = result.warnings.filter((x) => x.code !== 'W_SKIPPED').map((x) => x.message).join('\n')
            if (!overridden.includes('managed HostName')) expect(r.get('hostname')).toBe(w.host)
            if (!overridden.includes('managed Port')) expect(r.get('port')).toBe(String(w.port))
            if (!overridden.includes('managed User')) expect(r.get('user')).toBe(w.user)
            if (!overridden.includes('managed HostKeyAlias')) expect(r.get('hostkeyalias')).toBe(w.environmentAlias)
          }
        }
        await removeBlockFromFile(file)
        expect(await readFile(file, 'utf8')).toBe(text)
      }),
      {numRuns: 25},
    )
  }, 120_000)
})

describe('the block under the real ssh -G: case-changed markers and a foreign Host inside it', () => {
  it('a hand-lowercased block is replaced in place: one block, and ssh uses the new address', async () => {
    const file = path.join(dir, 'config')
    const old = `Host x\n  # begin ona ssh-sync\nHost a.gitpod.environment a.gitpod.remote\n  HostName 10.0.0.9\n  # END  ONA SSH-SYNC\n`
    await writeFile(file, old)
    await syncBlockInFile(file, [env('a', '10.0.0.1')])
    const text = await readFile(file, 'utf8')
    expect(text.match(/begin ona ssh-sync/gi)).toHaveLength(1)
    expect(text.match(/end ona ssh-sync/gi)).toHaveLength(1)
    expect((await sshG(file, 'a.gitpod.remote')).get('hostname')).toBe('10.0.0.1')
  })

  it("a user's Host written inside the block survives, resolves as before, and lends nothing to an alias", async () => {
    const file = path.join(dir, 'config')
    await writeFile(file, `${BEGIN_MARKER}\nHost a.gitpod.environment a.gitpod.remote\n  HostName 10.0.0.1\n  User u\n  Port 22\n  HostKeyAlias a.gitpod.environment\nHost mybox\n  HostName 192.0.2.50\n  User me\n${END_MARKER}\n`)
    const before = await sshG(file, 'mybox')
    const result = await syncBlockInFile(file, [env('a', '10.0.0.1', 22, 'u'), env('b', '10.0.0.2')])
    expect(result.warnings.map((w) => w.code)).toEqual(['W_FOREIGN_MOVED'])
    const after = await sshG(file, 'mybox')
    expect(after.raw).toBe(before.raw)
    expect(after.get('hostname')).toBe('192.0.2.50')
    const a = await sshG(file, 'a.gitpod.remote')
    expect([a.get('hostname'), a.get('user')]).toEqual(['10.0.0.1', 'u'])
    const text = await readFile(file, 'utf8')
    expect(text.indexOf('Host mybox')).toBeLessThan(text.indexOf(BEGIN_MARKER))
  })
})

describe('symlinks resolved as the kernel does (GNU stow, chains, loops)', () => {
  it('stow layout: ~/.ssh -> dotfiles/ssh and config -> ../shared_config writes the file ssh reads', async () => {
    const home = path.join(dir, 'home')
    await mkdir(path.join(home, 'dotfiles', 'ssh'), {recursive: true})
    await writeFile(path.join(home, 'dotfiles', 'shared_config'), 'Host keep\n  HostName 192.0.2.9\n', {mode: 0o600})
    await symlink('dotfiles/ssh', path.join(home, '.ssh'))
    await symlink('../shared_config', path.join(home, 'dotfiles', 'ssh', 'config'))
    const config = path.join(home, '.ssh', 'config')
    const result = await syncBlockInFile(config, [env('a', '10.4.4.4')])
    expect(result.file.realPath).toBe(path.join(home, 'dotfiles', 'shared_config'))
    // No stray file next to the link's string-resolved target.
    expect((await import('node:fs')).existsSync(path.join(home, 'shared_config'))).toBe(false)
    expect((await lstat(path.join(home, '.ssh'))).isSymbolicLink()).toBe(true)
    expect((await lstat(config)).isSymbolicLink()).toBe(true)
    const resolved = await sshG(config, 'a.gitpod.remote')
    expect(resolved.get('hostname')).toBe('10.4.4.4')
    expect((await sshG(config, 'keep')).get('hostname')).toBe('192.0.2.9')
  })

  it('a chain of relative links across symlinked directories ends at the real file', async () => {
    await mkdir(path.join(dir, 'real', 'deep'), {recursive: true})
    await writeFile(path.join(dir, 'real', 'deep', 'target'), 'Host x\n')
    await symlink('real/deep', path.join(dir, 'linkdir'))
    await symlink('target', path.join(dir, 'real', 'deep', 'hop2'))
    await symlink('linkdir/hop2', path.join(dir, 'hop1'))
    await mkdir(path.join(dir, 'other'))
    await symlink('../hop1', path.join(dir, 'other', 'config'))
    const result = await syncBlockInFile(path.join(dir, 'other', 'config'), [env('a')])
    expect(result.file.realPath).toBe(path.join(dir, 'real', 'deep', 'target'))
    expect(await readFile(path.join(dir, 'real', 'deep', 'target'), 'utf8')).toContain('Host a.gitpod.environment')
  })

  it('a dangling link under a symlinked directory creates the target where the kernel would', async () => {
    await mkdir(path.join(dir, 'dotfiles', 'ssh'), {recursive: true})
    await symlink('dotfiles/ssh', path.join(dir, 'ssh'))
    await symlink('../not-yet', path.join(dir, 'dotfiles', 'ssh', 'config'))
    await syncBlockInFile(path.join(dir, 'ssh', 'config'), [env('a')])
    expect(await readFile(path.join(dir, 'dotfiles', 'not-yet'), 'utf8')).toContain('a.gitpod.remote')
    expect((await import('node:fs')).existsSync(path.join(dir, 'not-yet'))).toBe(false)
  })

  it('a loop through a symlinked directory is a clear error and writes nothing', async () => {
    await symlink('b', path.join(dir, 'a'))
    await symlink('a', path.join(dir, 'b'))
    await expect(syncBlockInFile(path.join(dir, 'a', 'config'), [env('a')])).rejects.toMatchObject({code: 'ERR_SSH_CONFIG_SYMLINK_LOOP'})
    expect((await import('node:fs')).readdirSync(dir).sort()).toEqual(['a', 'b'])
  })
})

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
describe.skipIf(!isRoot)('run as root on a home owned by someone else (these need root)', () => {
  const USER = 4321
  it('a new ~/.ssh, config, lock and backup get the owner of the home', async () => {
    const home = path.join(dir, 'home')
    await mkdir(home, {mode: 0o755})
    await chown(home, USER, USER)
    const config = path.join(home, '.ssh', 'config')
    await syncBlockInFile(config, [env('a')])
    for (const p of [path.join(home, '.ssh'), config]) {
      const s = await stat(p)
      expect([p, s.uid, s.gid]).toEqual([p, USER, USER])
    }
    expect((await stat(path.join(home, '.ssh'))).mode & 0o777).toBe(0o700)
    // A second write replaces the file: the owner stays; the backup of the user's file is the user's.
    await syncBlockInFile(config, [env('b')])
    const backup = path.join(home, '.ssh', '.config.ona-backup')
    expect((await stat(config)).uid).toBe(USER)
    expect((await stat(backup)).uid).toBe(USER)
    expect((await stat(backup)).mode & 0o777).toBe(0o600)
  })

  it("the backup keeps the original's owner, and a deeper new directory chain is the user's too", async () => {
    const home = path.join(dir, 'home')
    await mkdir(path.join(home, '.ssh'), {recursive: true})
    await chown(home, USER, USER)
    await chown(path.join(home, '.ssh'), USER, USER)
    await writeFile(path.join(home, '.ssh', 'config'), 'Host x\n', {mode: 0o644})
    await chown(path.join(home, '.ssh', 'config'), USER, 100)
    await syncBlockInFile(path.join(home, '.ssh', 'config'), [env('a')])
    const backup = await stat(path.join(home, '.ssh', '.config.ona-backup'))
    expect([backup.uid, backup.gid]).toEqual([USER, 100])
    const cfg = await stat(path.join(home, '.ssh', 'config'))
    expect([cfg.uid, cfg.gid, cfg.mode & 0o777]).toEqual([USER, 100, 0o644])

    const deep = path.join(home, '.ssh', 'config.d', 'ona', 'config')
    await syncBlockInFile(deep, [env('a')])
    for (const p of [path.dirname(path.dirname(deep)), path.dirname(deep), deep]) expect((await stat(p)).uid).toBe(USER)
  })
})

describe('nothing but the config lands where an Include glob reads it', () => {
  it('lock, backup and temp files are dotfiles, which `Include config.d/*` skips (checked with ssh -G)', async () => {
    await mkdir(path.join(dir, 'config.d'))
    const main = path.join(dir, 'config')
    await writeFile(main, `Include ${dir}/config.d/*\nHost *\n  User fallback\n`)
    const managed = path.join(dir, 'config.d', 'ona')
    await writeFile(managed, '# ona aliases\n', {mode: 0o600})
    // What a killed writer can leave: a lock, a backup, a temp file (all named as safe-write names them).
    const deadPid = (await import('node:child_process')).spawnSync('true').pid
    await writeFile(path.join(dir, 'config.d', '.ona.ona-lock'), JSON.stringify({pid: deadPid, host: os.hostname(), token: 't'}))
    await writeFile(path.join(dir, 'config.d', '.ona.ona-99999-new-abcd.tmp'), 'garbage "unbalanced\n')
    expect((await sshG(main, 'probe')).code).toBe(0)
    await syncBlockInFile(managed, [env('a', '10.7.7.7')])
    expect((await import('node:fs')).existsSync(path.join(dir, 'config.d', '.ona.ona-backup'))).toBe(true)
    const resolved = await sshG(main, 'a.gitpod.remote')
    expect(resolved.stderr).not.toMatch(/bad configuration|terminating/i)
    expect(resolved.code).toBe(0)
    expect(resolved.get('hostname')).toBe('10.7.7.7')
  })

  it('an old `<file>.ona-backup` beside the file is moved to its dotfile name, so ssh reads the Include again', async () => {
    await mkdir(path.join(dir, 'config.d'))
    const main = path.join(dir, 'config')
    await writeFile(main, `Include ${dir}/config.d/*\n`)
    const managed = path.join(dir, 'config.d', 'ona')
    await writeFile(managed, 'Host x\n')
    // A backup is an old copy of the config: read by the glob, its stale aliases still resolve.
    const stale = 'Host gone.gitpod.remote\n  HostName 10.6.6.6\n'
    await writeFile(`${managed}.ona-backup`, stale)
    expect((await sshG(main, 'gone.gitpod.remote')).get('hostname')).toBe('10.6.6.6')
    await syncBlockInFile(managed, [env('a')])
    expect((await import('node:fs')).readdirSync(path.join(dir, 'config.d')).sort()).toEqual(['.ona.ona-backup', 'ona'])
    // Moved, then replaced by the version this write replaced (one generation).
    expect(await readFile(path.join(dir, 'config.d', '.ona.ona-backup'), 'utf8')).toBe('Host x\n')
    expect((await sshG(main, 'gone.gitpod.remote')).get('hostname')).toBe('gone.gitpod.remote')
  })

  it('a writer killed at random moments inside an Included directory never breaks ssh', async () => {
    await mkdir(path.join(dir, 'config.d'))
    const main = path.join(dir, 'config')
    await writeFile(main, `Include ${dir}/config.d/*\n`)
    const managed = path.join(dir, 'config.d', 'ona')
    await writeFile(managed, 'Host keep-me\n  HostName 192.0.2.1\n')
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', writerScript('loop', true), managed, 'x'], {stdio: ['ignore', 'pipe', 'pipe']})
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`round ${round}: the writer never finished a write`)), 10_000)
        child.stdout.once('data', () => {
          clearTimeout(timer)
          resolve()
        })
      })
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 40))
      child.kill('SIGKILL')
      await new Promise((resolve) => child.once('exit', resolve))
      const resolved = await sshG(main, 'keep-me')
      expect(resolved.stderr, `round ${round}`).not.toMatch(/bad configuration|terminating/i)
      expect(resolved.code, `round ${round}`).toBe(0)
      expect(resolved.get('hostname'), `round ${round}`).toBe('192.0.2.1')
    }
  }, 60_000)
})

/** A child that writes the config in a loop through the built library (dist), for crash and race tests. */
function writerScript(kind: 'loop' | 'once', backup = false): string {
  const lib = path.join(repoRoot, 'dist', 'lib', 'fs', 'safe-write.js')
  const engine = path.join(repoRoot, 'dist', 'lib', 'ssh-config', 'index.js')
  return `
    const {updateFile} = await import(${JSON.stringify(lib)})
    const {applyBlock} = await import(${JSON.stringify(engine)})
    const [file, tag] = process.argv.slice(1)
    const envs = (n) => Array.from({length: n}, (_, i) => ({id: 'env' + i, host: '10.0.' + (i % 250) + '.' + n % 250, port: 22, user: 'u'}))
    if (${JSON.stringify(kind)} === 'loop') {
      for (let i = 0; ; i++) {
        await updateFile(file, {backup: ${backup}, transform: (t) => applyBlock(t, envs(i % 2 ? 400 : 3)).text})
        process.stdout.write('.')
      }
    } else {
      await updateFile(file, {backup: false, transform: (t) => applyBlock(t, envs(5)).text + '# writer ' + tag + '\\n'})
    }
  `
}

describe('crashes and concurrent writers', () => {
  it('a writer SIGKILLed at random moments always leaves the old or the new file, never a torn one', async () => {
    const file = path.join(dir, 'config')
    const userPart = 'Host keep-me\n  HostName 192.0.2.1\n'
    await writeFile(file, userPart)
    const {applyBlock} = await import('../../src/lib/ssh-config/index.js')
    const envs = (n: number) => Array.from({length: n}, (_, i) => ({id: `env${i}`, host: `10.0.${i % 250}.${n % 250}`, port: 22, user: 'u'}))
    const valid = new Set([userPart, applyBlock(userPart, envs(3)).text, applyBlock(userPart, envs(400)).text])
    for (let round = 0; round < 15; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', writerScript('loop'), file, 'x'], {stdio: ['ignore', 'pipe', 'pipe']})
      // Wait until the child has written at least once, then kill it at a random moment.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`round ${round}: the writer never finished a write`)), 10_000)
        child.stdout.once('data', () => {
          clearTimeout(timer)
          resolve()
        })
      })
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 40))
      child.kill('SIGKILL')
      await new Promise((resolve) => child.once('exit', resolve))
      const text = await readFile(file, 'latin1')
      expect(valid.has(text), `round ${round}: file is neither old nor new (${text.length} bytes)`).toBe(true)
    }
    // A killed writer's lock and temp files do not block the next writer.
    await syncBlockInFile(file, [env('after-crash')], {backup: false})
    expect(await readFile(file, 'utf8')).toContain('after-crash.gitpod.remote')
    // ... and what they left behind (lock, temp files) is cleaned up.
    expect((await import('node:fs')).readdirSync(dir)).toEqual(['config'])
  }, 60_000)

  it('twenty writers at once all succeed: one block, and every writer\'s own line is kept', async () => {
    const file = path.join(dir, 'config')
    await writeFile(file, 'Host keep-me\n')
    const runs = Array.from({length: 20}, (_, i) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', writerScript('once'), file, String(i)], {stdio: 'inherit'})
        child.once('exit', (code) => resolve(code ?? 1))
      }),
    )
    expect(await Promise.all(runs)).toEqual(Array.from({length: 20}, () => 0))
    const text = await readFile(file, 'utf8')
    expect(text.split(BEGIN_MARKER)).toHaveLength(2)
    expect(text.split(END_MARKER)).toHaveLength(2)
    for (let i = 0; i < 20; i++) expect(text).toContain(`# writer ${i}\n`)
    expect(text).toContain('Host keep-me\n')
    const leftovers = (await import('node:fs')).readdirSync(dir).filter((n) => n !== 'config')
    expect(leftovers).toEqual([])
  }, 60_000)
})
