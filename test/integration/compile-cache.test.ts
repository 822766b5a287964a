/**
 * Node's compile cache lives in a private per-user directory (issue 13: without a directory it is a
 * shared one in /tmp that another local user can plant entries in). bin/run.js uses it only when it is a
 * real directory we own with mode 0700; anything else means no cache, never a shared one.
 */
import {readdirSync, readFileSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {chmod, chown, mkdir, mkdtemp, rm, symlink} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {baseEnv, binRun, builtCli, runCli, runCommand} from '../helpers/run-cli.js'

let home: string
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-compile-cache-'))
})
afterEach(async () => {
  await rm(home, {recursive: true, force: true})
})

const cacheDir = () => path.join(home, '.cache', 'ona', 'compile-cache')
const entries = (dir: string): number => readdirSync(dir, {recursive: true}).length

describe.skipIf(!builtCli || process.platform === 'win32')('compile cache (built CLI)', () => {
  it('is created private (0700) under the user cache dir and filled', async () => {
    const r = await runCli(['whoami'], {env: baseEnv(home, {ONA_KEYRING: 'off'})})
    expect(r.code).toBe(4)
    expect(statSync(cacheDir()).mode & 0o777).toBe(0o700)
    expect(entries(cacheDir())).toBeGreaterThan(0)
  })

  it('follows XDG_CACHE_HOME', async () => {
    const xdg = path.join(home, 'xdg')
    await runCli(['whoami'], {env: baseEnv(home, {ONA_KEYRING: 'off', XDG_CACHE_HOME: xdg})})
    expect(entries(path.join(xdg, 'ona', 'compile-cache'))).toBeGreaterThan(0)
  })

  it('is not used when others can write to the directory', async () => {
    await mkdir(cacheDir(), {recursive: true})
    await chmod(cacheDir(), 0o777)
    await runCli(['whoami'], {env: baseEnv(home, {ONA_KEYRING: 'off'})})
    expect(entries(cacheDir())).toBe(0)
  })

  it('is not used through a symlink (it could point at a directory another user controls)', async () => {
    const elsewhere = path.join(home, 'elsewhere')
    await mkdir(elsewhere, {mode: 0o700})
    await mkdir(path.dirname(cacheDir()), {recursive: true})
    await symlink(elsewhere, cacheDir())
    await runCli(['whoami'], {env: baseEnv(home, {ONA_KEYRING: 'off'})})
    expect(entries(elsewhere)).toBe(0)
  })

  /** ona's own code caches of the fast bundles (bin/run.js loadFastBundle), by file name. */
  const bundleCaches = () => readdirSync(cacheDir()).filter((name) => name.endsWith('.v8'))
  const syncCache = () => {
    const names = bundleCaches().filter((name) => name.startsWith('ssh-sync-'))
    expect(names).toHaveLength(1)
    return path.join(cacheDir(), names[0]!)
  }
  // `ssh-sync --remove` runs from the fast bundle and needs no API: exit 0 with nothing to remove.
  const removeRun = async () => {
    const r = await runCli(['ssh-sync', '--remove'], {env: baseEnv(home, {ONA_KEYRING: 'off'})})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('nothing to remove')
  }

  it('a fast command leaves a code cache of what it compiled (0600, made after the run); the first three successful runs each add to it, later ones use it as it is', async () => {
    await removeRun()
    const file = syncCache()
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const bytes = readFileSync(file)
    // First byte: how many successful runs made it; then V8's data, far more than the bundle's top level.
    expect(bytes[0]).toBe(1)
    expect(bytes.length).toBeGreaterThan(100_000)
    await removeRun()
    expect(readFileSync(syncCache())[0]).toBe(2)
    await removeRun()
    expect(readFileSync(syncCache())[0]).toBe(3)
    const before = statSync(file)
    await removeRun()
    const after = statSync(file)
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs])
  })

  it('a cache made by a failed run, or by a run oclif took over, is made again by the next run the fast path finishes', async () => {
    const failed = await runCli(['ssh-sync'], {env: baseEnv(home, {ONA_KEYRING: 'off', ONA_API_URL: 'http://127.0.0.1:9'})})
    expect(failed.code).not.toBe(0)
    expect(readFileSync(syncCache())[0]).toBe(0)
    await rm(syncCache())
    // Twice the same flag: oclif-lite hands the run to oclif, which answers (exit 0).
    const handedOver = await runCli(['ssh-sync', '--remove', '--dry-run', '--dry-run'], {env: baseEnv(home, {ONA_KEYRING: 'off'})})
    expect(handedOver.code, handedOver.stderr).toBe(0)
    expect(readFileSync(syncCache())[0]).toBe(0)
    await removeRun()
    expect(readFileSync(syncCache())[0]).toBe(1)
  })

  it('a damaged cache is not used (V8 rejects it) and is made again; of other builds\' caches the newest stay, and a killed writer\'s temporary file goes', async () => {
    await removeRun()
    const file = syncCache()
    writeFileSync(file, Buffer.concat([Buffer.from([1]), Buffer.alloc(4096, 7)]))
    const others = ['a', 'b', 'c'].map((c, i) => {
      const other = path.join(cacheDir(), `ssh-sync-${c.repeat(24)}.v8`)
      writeFileSync(other, Buffer.from([1, 2, 3]))
      const at = new Date(Date.now() - (i + 1) * 3_600_000)
      utimesSync(other, at, at)
      return path.basename(other)
    })
    const leftover = path.join(cacheDir(), `${path.basename(file)}.999999.tmp`)
    writeFileSync(leftover, 'x')
    const old = new Date(Date.now() - 3_600_000)
    utimesSync(leftover, old, old)
    await removeRun()
    expect(readFileSync(file).length).toBeGreaterThan(100_000)
    // This build's and the two newest others.
    expect(bundleCaches().filter((name) => name.startsWith('ssh-sync-')).sort()).toEqual([path.basename(file), others[0], others[1]].sort())
    expect(readdirSync(cacheDir())).not.toContain(path.basename(leftover))
  })

  it('a process with V8 flags of its own (the service\'s watcher, watch mode) makes none: V8 would reject it in a plain run', async () => {
    const flagged = await runCommand(process.execPath, ['--max-semi-space-size=1', binRun, 'ssh-sync', '--remove'], {env: baseEnv(home, {ONA_KEYRING: 'off'})})
    expect(flagged.code, flagged.stderr).toBe(0)
    expect(bundleCaches()).toEqual([])
  })

  it.skipIf(process.getuid?.() !== 0)('as root, none under a directory another user owns (XDG_CACHE_HOME kept from a user by sudo)', async () => {
    const userCache = path.join(home, 'user-cache')
    await mkdir(userCache)
    await chown(userCache, 1234, 1234)
    const r = await runCli(['ssh-sync', '--remove'], {env: baseEnv(home, {ONA_KEYRING: 'off', XDG_CACHE_HOME: userCache})})
    expect(r.code, r.stderr).toBe(0)
    expect(readdirSync(userCache)).toEqual([])
  })

  it('the fast bundles are strict, as the ES modules they are built from (a frozen parse throws when written to)', () => {
    for (const name of ['ssh-sync.cjs', 'ssh-proxy.cjs']) expect(readFileSync(path.join('dist', 'fast', name), 'utf8').startsWith("'use strict';\n")).toBe(true)
  })

  it('no code cache either where the directory is not private', async () => {
    await mkdir(cacheDir(), {recursive: true})
    await chmod(cacheDir(), 0o777)
    await removeRun()
    expect(entries(cacheDir())).toBe(0)
  })
})
