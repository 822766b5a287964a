/**
 * Node's compile cache lives in a private per-user directory (issue 13: without a directory it is a
 * shared one in /tmp that another local user can plant entries in). bin/run.js uses it only when it is a
 * real directory we own with mode 0700; anything else means no cache, never a shared one.
 */
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {chmod, mkdir, mkdtemp, rm, symlink} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {baseEnv, builtCli, runCli} from '../helpers/run-cli.js'

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

  it('a fast command leaves a code cache of what it compiled (0600, made after the run), and the next run uses it as it is', async () => {
    await removeRun()
    const file = syncCache()
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const bytes = readFileSync(file)
    // First byte: the run that made it succeeded; then V8's data, far more than the bundle's top level.
    expect(bytes[0]).toBe(1)
    expect(bytes.length).toBeGreaterThan(100_000)
    const before = statSync(file)
    await removeRun()
    const after = statSync(file)
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs])
  })

  it('a cache made by a failed run is made again by the next run that succeeds', async () => {
    const failed = await runCli(['ssh-sync'], {env: baseEnv(home, {ONA_KEYRING: 'off', ONA_API_URL: 'http://127.0.0.1:9'})})
    expect(failed.code).not.toBe(0)
    expect(readFileSync(syncCache())[0]).toBe(0)
    await removeRun()
    expect(readFileSync(syncCache())[0]).toBe(1)
  })

  it('a damaged cache is not used (V8 rejects it) and is made again; caches of other builds of the bundle go', async () => {
    await removeRun()
    const file = syncCache()
    writeFileSync(file, Buffer.concat([Buffer.from([1]), Buffer.alloc(4096, 7)]))
    const stale = path.join(cacheDir(), 'ssh-sync-000000000000000000000000.v8')
    writeFileSync(stale, Buffer.from([1, 2, 3]))
    await removeRun()
    const bytes = readFileSync(syncCache())
    expect(bytes.length).toBeGreaterThan(100_000)
    expect(bundleCaches()).not.toContain(path.basename(stale))
  })

  it('no code cache either where the directory is not private', async () => {
    await mkdir(cacheDir(), {recursive: true})
    await chmod(cacheDir(), 0o777)
    await removeRun()
    expect(entries(cacheDir())).toBe(0)
  })
})
