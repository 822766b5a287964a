/**
 * Node's compile cache lives in a private per-user directory (issue 13: without a directory it is a
 * shared one in /tmp that another local user can plant entries in). bin/run.js uses it only when it is a
 * real directory we own with mode 0700; anything else means no cache, never a shared one.
 */
import {readdirSync, statSync} from 'node:fs'
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
})
