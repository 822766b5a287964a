/**
 * Verification at no cost when nothing changed (issue 21): a sync that writes nothing starts no `ssh -G`
 * when the config tree, the block and the ssh binary are as at the last verified run; what changed is
 * verified. The ssh run is the real one, through a wrapper (ONA_SSH) that records each invocation.
 */
import {mkdir, mkdtemp, readFile, rm, utimes, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {baseEnv, binRun, runCli, runCommand} from '../helpers/run-cli.js'
import {writeSshWrapper} from '../helpers/ssh.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
type Data = {verified: number; verifiedFromCache: number; warnings: Array<{code: string; file?: string; line?: number; aliases?: string[]}>}

let home: string
let ssh: string
let config: string
let wrapper: string
let log: string
let sim: Simulator
let env: NodeJS.ProcessEnv

/** ONA_SSH: the real ssh, each process a line of the log; `extra` makes it another file (another build). */
const writeWrapper = (extra = '') => writeSshWrapper(wrapper, {log, before: extra})

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-vcache-'))
  ssh = path.join(home, '.ssh')
  config = path.join(ssh, 'config')
  wrapper = path.join(home, 'ssh-wrapper')
  log = path.join(home, 'ssh.log')
  await mkdir(ssh, {recursive: true, mode: 0o700})
  await writeWrapper()
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json')})
  env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ONA_SYSTEM_SSH_CONFIG: '', ONA_SSH: wrapper})
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

/** ssh processes started since the last call. */
let seen = 0
async function started(): Promise<string[]> {
  const lines = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '')
  const fresh = lines.slice(seen)
  seen = lines.length
  return fresh
}
beforeEach(() => {
  seen = 0
})

async function sync(...args: string[]): Promise<Data> {
  const result = await runCli(['ssh-sync', '--json', ...args], {env})
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as Data
}

describe('ssh -G results are reused while nothing they depend on changed', () => {
  it('a no-op sync and --check start no ssh, and report the same warnings as the verified run', async () => {
    const users = path.join(ssh, 'users')
    await writeFile(users, 'Host *.gitpod.remote\n  StrictHostKeyChecking no\n')
    await writeFile(config, `Include ${users}\nHost github.com\n`)
    const first = await sync()
    expect(first.verified).toBe(6)
    expect(first.verifiedFromCache).toBe(0)
    expect(await started()).toHaveLength(6)
    const again = await sync()
    expect(await started()).toEqual([])
    expect(again).toMatchObject({verified: 6, verifiedFromCache: 6})
    expect(again.warnings).toEqual(first.warnings)
    expect(again.warnings.map((w) => [w.code, w.file, w.line, w.aliases?.length])).toEqual([['W_OVERRIDE', users, 2, 3]])
    const check = await runCli(['ssh-sync', '--check'], {env})
    expect(check.code).toBe(0)
    expect(await started()).toEqual([])
  })

  it('an environment that moved is verified again, alone; the others are reused', async () => {
    await writeFile(config, 'Host github.com\n')
    await sync()
    await started()
    sim.setSshAddress(A, {host: '127.0.0.77', port: 2222})
    const moved = await sync()
    expect((await started()).map((l) => l.split(' ').at(-1)).sort()).toEqual([`${A}.gitpod.environment`, `${A}.gitpod.remote`])
    expect(moved).toMatchObject({verified: 6, verifiedFromCache: 4})
  })

  it('any file of the tree changing (even with the same size), a file added to an Include glob, or another ssh binary: all verified again', async () => {
    await mkdir(path.join(ssh, 'config.d'))
    const one = path.join(ssh, 'config.d', 'one')
    await writeFile(one, 'Host x\n  User a\n')
    await writeFile(config, `Include ${ssh}/config.d/*\nHost github.com\n`)
    await sync()
    await started()
    await sync()
    expect(await started()).toEqual([])

    await writeFile(one, 'Host y\n  User b\n')
    // Same size; a later mtime is what tells it apart.
    const later = new Date(Date.now() + 5000)
    await utimes(one, later, later)
    await sync()
    expect(await started()).toHaveLength(6)

    await writeFile(path.join(ssh, 'config.d', 'two'), 'Host z\n')
    await sync()
    expect(await started()).toHaveLength(6)

    await writeWrapper('# another build\n')
    await sync()
    expect(await started()).toHaveLength(6)
    await sync()
    expect(await started()).toEqual([])
  })

  it('a no-op sync does not even load node:child_process; a sync that runs ssh -G does (issue 21: start-up cost)', async () => {
    // Preloaded into the CLI: says on stderr, as it exits, whether node:child_process was loaded.
    const hook = `data:text/javascript,${encodeURIComponent("process.on('exit', () => process.stderr.write(process.moduleLoadList.includes('NativeModule child_process') ? 'LOADED child_process\\n' : ''))")}`
    const loaded = async () => {
      const result = await runCommand(process.execPath, ['--import', hook, binRun, 'ssh-sync', '--json'], {env})
      expect(result.code, result.stderr).toBe(0)
      return result.stderr.includes('LOADED child_process')
    }
    await writeFile(config, 'Host github.com\n')
    expect(await loaded()).toBe(true)
    expect(await started()).toHaveLength(6)
    expect(await loaded()).toBe(false)
    expect(await started()).toEqual([])
    await writeWrapper('# another build\n')
    expect(await loaded()).toBe(true)
    expect(await started()).toHaveLength(6)
  })
})
