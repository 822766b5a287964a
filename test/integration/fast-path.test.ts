/**
 * Commands marked `static fastPath = true` run from dist/fast/ without @oclif/core (src/cli/oclif-lite.ts).
 * Each case runs the built CLI both ways (ONA_STARTUP_FAST_PATH=0 is oclif's own run) against the same
 * simulator and config, and requires the same stdout, stderr, exit code and file; a module-resolution hook
 * tells which way really ran. Invocations the fast way does not fully understand must reach oclif.
 */
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {cp, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {baseEnv, binRun, builtCli, repoRoot, runCommand} from '../helpers/run-cli.js'

const MARK = 'fast-path-test: @oclif/core resolved'
const hook = `data:text/javascript,${encodeURIComponent(`
import module from 'node:module'
import {writeSync} from 'node:fs'
let seen = false
module.registerHooks({resolve(specifier, context, next) {
  const result = next(specifier, context)
  if (!seen && result.url.includes('/node_modules/@oclif/core/')) { seen = true; writeSync(2, ${JSON.stringify(MARK + '\n')}) }
  return result
}})`)}`

const USER_PART = 'Host github.com\n  User git\n'
const fastIndex = (() => {
  try {
    return JSON.parse(readFileSync(path.join(repoRoot, 'dist/fast/index.json'), 'utf8')) as {commands: Record<string, string>}
  } catch {
    return {commands: {}}
  }
})()

let home: string
let config: string
let sim: Simulator
let keyDir: string
beforeAll(async () => {
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json')})
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'ona-fast-key-'))
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ona@fast-path-test', '-f', path.join(keyDir, 'id_ed25519')])
  await writeFile(path.join(keyDir, 'key-id'), '0199ec15-0000-7000-8000-00000000f457\n', {mode: 0o600})
})
afterAll(async () => {
  await sim.close()
  await rm(keyDir, {recursive: true, force: true})
})
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-fast-'))
  config = path.join(home, '.ssh', 'config')
  return () => rm(home, {recursive: true, force: true})
})

/** Runs once with a fresh copy of `start` as the config; returns what a user sees and the file after. */
async function runOnce(args: string[], start: string, extra: Record<string, string>) {
  // Same paths both ways (they appear in the output), nothing left over (backup, lock) from the other run.
  // The machine key is the same both ways and already there; each run gets environments that do not hold
  // it yet (a fresh simulator), so both runs register it and say so.
  await rm(path.join(home, '.config'), {recursive: true, force: true})
  // The state dir too: the ssh -G answers one run keeps (verify-cache.json) would spare the other its check.
  await rm(path.join(home, '.local', 'state'), {recursive: true, force: true})
  await mkdir(path.join(home, '.config', 'ona'), {recursive: true, mode: 0o700})
  await cp(keyDir, path.join(home, '.config', 'ona', 'ssh'), {recursive: true})
  const {token, url} = sim
  await sim.close()
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json'), token, port: Number(new URL(url).port)})
  await rm(path.dirname(config), {recursive: true, force: true})
  await mkdir(path.dirname(config), {mode: 0o700})
  await writeFile(config, start, {mode: 0o600})
  const env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ONA_SSH_CONFIG: config, ...extra})
  const result = await runCommand(process.execPath, ['--import', hook, binRun, ...args], {env})
  const after = await readFile(config, 'utf8')
  const loadedOclif = result.stderr.includes(MARK)
  return {code: result.code, stdout: result.stdout, stderr: result.stderr.replace(`${MARK}\n`, ''), after, loadedOclif}
}

async function bothWays(args: string[], {start = USER_PART, env = {}}: {start?: string; env?: Record<string, string>} = {}) {
  const fast = await runOnce(args, start, env)
  const oclif = await runOnce(args, start, {...env, ONA_STARTUP_FAST_PATH: '0'})
  expect(oclif.loadedOclif).toBe(true)
  return {fast, oclif}
}

describe.skipIf(!builtCli)('fast path of commands (built CLI)', () => {
  it('builds ssh-sync for the fast path (its class says fastPath)', () => {
    expect(fastIndex.commands['ssh-sync']).toBe('ssh-sync.cjs')
  })

  it.each([
    ['a first sync that writes the block', ['ssh-sync']],
    ['the same with --json', ['ssh-sync', '--json']],
    ['--check of an out-of-date config (exit 1)', ['ssh-sync', '--check']],
    ['--dry-run with its diff', ['ssh-sync', '--dry-run']],
    ['--remove', ['ssh-sync', '--remove']],
    ['flag values after = and as the next word', ['ssh-sync', '--interval=60', '--api-url', 'PLACEHOLDER']],
  ])('runs %s without oclif, with the same output, exit code and file', async (_name, args) => {
    const resolved = args.map((a) => (a === 'PLACEHOLDER' ? sim.url : a))
    const {fast, oclif} = await bothWays(resolved)
    expect(fast.loadedOclif).toBe(false)
    expect(fast).toEqual({...oclif, loadedOclif: false})
  })

  it.each([
    ['an expected error (no token)', ['ssh-sync'], {ONA_TOKEN: ''}],
    ['an expected error as JSON', ['ssh-sync', '--json'], {ONA_TOKEN: ''}],
    ['an API that is not there', ['ssh-sync', '--api-url', 'http://127.0.0.1:9/api'], {}],
    ['an --interval below its minimum (a usage error)', ['ssh-sync', '--interval', '3'], {}],
    ['an --interval that is not a duration', ['ssh-sync', '--interval=soon'], {}],
  ])('reports %s as oclif does, without oclif', async (_name, args, env) => {
    const {fast, oclif} = await bothWays(args, {env})
    expect(fast.loadedOclif).toBe(false)
    expect(fast.code).not.toBe(0)
    expect(fast).toEqual({...oclif, loadedOclif: false})
  })

  it('keeps a broken user config out of reach the same way (error, file untouched)', async () => {
    const broken = `${USER_PART}# BEGIN ona ssh-sync\n`
    const {fast, oclif} = await bothWays(['ssh-sync'], {start: broken})
    expect(fast.loadedOclif).toBe(false)
    expect(fast.after).toBe(broken)
    expect(fast).toEqual({...oclif, loadedOclif: false})
  })

  it.each([
    ['an unknown flag', ['ssh-sync', '--bogus']],
    ['two exclusive flags', ['ssh-sync', '--check', '--dry-run']],
    ['a flag without its value', ['ssh-sync', '--ssh-config']],
    ['a positional argument', ['ssh-sync', 'extra']],
    ['a flag given twice', ['ssh-sync', '--check', '--check']],
    ['`--`', ['ssh-sync', '--', 'x']],
    // Not -h: that is help now (bin/run.js turns it into --help, answered from the help cache).
    ['a short flag', ['ssh-sync', '-x']],
  ])('leaves %s to oclif, which reports it in its own words', async (_name, args) => {
    const {fast, oclif} = await bothWays(args)
    expect(fast.loadedOclif).toBe(true)
    expect(fast).toEqual(oclif)
  })

  it('leaves a run with ONA_CONTENT_TYPE (oclif reads it as --json) to oclif', async () => {
    const {fast, oclif} = await bothWays(['ssh-sync'], {env: {ONA_CONTENT_TYPE: 'json'}})
    expect(fast.loadedOclif).toBe(true)
    expect(fast).toEqual(oclif)
  })
})
