/**
 * `sudo -E ona ...`: root working in a home another user owns. Everything ona creates there (the SSH config,
 * its backup, the key and its id, the token file, settings, the compile cache) must belong to that user:
 * a root-owned key behind `IdentitiesOnly yes` is "Permission denied (publickey)" for the user. Runs the
 * built CLI as root with HOME set to a real unprivileged user's home (useradd); skipped, saying so, when
 * not root or without useradd.
 */
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {chown, lstat, mkdtemp, readFile, readdir, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {BEGIN_MARKER} from '../../src/lib/ssh-config/index.js'
import {baseEnv, binRun, builtCli, repoRoot, runCli} from '../helpers/run-cli.js'
import {hasCommand} from '../helpers/tools.js'
import {waitFor} from '../helpers/wait-for.js'

const USER = 'ona-test-sudo-home'
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
const usable = isRoot && hasCommand('useradd') && builtCli
if (!usable) console.warn('sudo-home.test.ts skipped: needs root, useradd and the built CLI (it runs ona as root on a real user\'s home)')

let uid = -1
let gid = -1
let home: string
let sim: Simulator

beforeAll(async () => {
  if (!usable) return
  if (spawnSync('id', ['-u', USER], {stdio: 'ignore'}).status !== 0) {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER], {stdio: 'ignore'})
  }
  uid = Number(execFileSync('id', ['-u', USER], {encoding: 'utf8'}).trim())
  gid = Number(execFileSync('id', ['-g', USER], {encoding: 'utf8'}).trim())
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-sudo-home-'))
  await chown(home, uid, gid)
  sim = await startSimulator({seed: path.join(repoRoot, 'fixtures', 'environments.json')})
})

afterAll(async () => {
  await sim?.close()
  if (home) await rm(home, {recursive: true, force: true})
  if (usable) spawnSync('userdel', [USER], {stdio: 'ignore'})
})

/** Every path under `dir` whose owner is not the user. */
async function notTheUsers(dir: string): Promise<string[]> {
  const wrong: string[] = []
  for (const entry of await readdir(dir, {withFileTypes: true})) {
    // A temporary file is created, handed to the owner, then renamed into place: a running watcher may
    // be between the first two steps when this looks, or the file may be gone already.
    if (entry.name.endsWith('.tmp')) continue
    const p = path.join(dir, entry.name)
    const st = await lstat(p).catch(() => undefined)
    if (!st) continue
    if (st.uid !== uid || st.gid !== gid) wrong.push(`${path.relative(home, p)} (${st.uid}:${st.gid})`)
    if (entry.isDirectory()) wrong.push(...(await notTheUsers(p)))
  }
  return wrong
}

describe.skipIf(!usable)('root on a home it does not own (sudo -E)', () => {
  it('the config and its backup, the key, the token file, settings and caches all belong to the home\'s owner', async () => {
    const env = baseEnv(home, {ONA_API_URL: sim.url, ONA_KEYRING: 'off'})
    const login = await runCli(['login', '--token-stdin'], {env, input: `${sim.token}\n`})
    expect(login.code, login.stderr).toBe(0)
    const sync = await runCli(['ssh-sync', '--resolve-on-connect'], {env})
    expect(sync.code, sync.stderr).toBe(0)
    // A second change: the backup is replaced.
    sim.setSshAddress('0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', {host: '127.0.0.77', port: 2222})
    expect((await runCli(['ssh-sync'], {env})).code).toBe(0)
    const made = (await readdir(home, {recursive: true})).map(String)
    for (const expected of ['.ssh/config', '.ssh/.config.ona-backup', '.config/ona/ssh/id_ed25519', '.config/ona/ssh/id_ed25519.pub', '.config/ona/ssh/key-id', '.config/ona/credentials.json', '.config/ona/settings.json']) {
      expect(made).toContain(expected)
    }
    expect(await notTheUsers(home)).toEqual([])
  }, 60_000)

  it('the service and the watcher: unit file, state dir, lock, socket, status, removal and exit records belong to the home\'s owner', async () => {
    const own = await mkdtemp(path.join(os.tmpdir(), 'ona-sudo-service-'))
    await chown(own, uid, gid)
    const swap = home
    home = own
    try {
      const env = baseEnv(own, {ONA_API_URL: sim.url, ONA_KEYRING: 'off', XDG_RUNTIME_DIR: undefined})
      expect((await runCli(['login', '--token-stdin'], {env, input: `${sim.token}\n`})).code).toBe(0)
      const installed = await runCli(['service', 'install', '--no-start'], {env})
      expect(installed.code, installed.stderr).toBe(0)
      // The token revoked: the service's watcher records why it stopped (exit 4).
      const revoked = await runCli(['ssh-sync', '--watch', '--service'], {env: {...env, ONA_TOKEN: 'revoked-token'}, timeoutMs: 20_000})
      expect(revoked.code).toBe(4)
      // The watcher as the service runs it: lock, socket and status file in the state dir while it runs.
      const watcher = spawn(process.execPath, [binRun, 'ssh-sync', '--watch', '--service'], {env, stdio: 'ignore'})
      const exited = new Promise<number | null>((resolve) => watcher.once('exit', resolve))
      try {
        await waitFor(async () => (await readFile(path.join(own, '.ssh', 'config'), 'utf8').catch(() => '')).includes(BEGIN_MARKER), 20_000, 'the watcher\'s first sync')
        const stateDir = path.join(own, '.local', 'state', 'ona')
        await waitFor(async () => (await readdir(stateDir)).some((n) => n.endsWith('.status.json')), 10_000, 'the status file')
        const running = await notTheUsers(own)
        expect(running).toEqual([])
        // --remove stops it and records the removal.
        const removed = await runCli(['ssh-sync', '--remove'], {env})
        expect(removed.code, removed.stderr).toBe(0)
        expect(await exited).toBe(0)
      } finally {
        watcher.kill('SIGKILL')
      }
      const made = (await readdir(own, {recursive: true})).map(String)
      expect(made.some((n) => /^\.config\/systemd\/user\/ona-watch-[a-z0-9.-]+\.service$/.test(n))).toBe(true)
      expect(made.some((n) => /^\.local\/state\/ona\/service-[0-9a-f]+\.exit\.json$/.test(n))).toBe(true)
      expect(made.some((n) => /^\.local\/state\/ona\/watch-.*\.removed\.json$/.test(n))).toBe(true)
      expect(await notTheUsers(own)).toEqual([])
    } finally {
      home = swap
      await rm(own, {recursive: true, force: true})
    }
  }, 90_000)
})
