/**
 * The "waiting for ..." line of a one-shot command, through a real pseudo-terminal (util-linux `script`)
 * against the simulator's stall and late faults, and its absence on a pipe and with --json.
 */
import {spawnSync} from 'node:child_process'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {baseEnv, binRun, builtCli, runCli, runCommand} from '../helpers/run-cli.js'

const haveScript = spawnSync('script', ['--version'], {encoding: 'utf8'}).stdout?.includes('util-linux') ?? false
if (!haveScript) console.warn('status-line.test.ts: util-linux `script` is not installed; the pseudo-terminal tests are skipped (apt-get install bsdutils)')

const CLEAR = '\r\u001B[2K'

let home: string
let sim: Simulator
let env: NodeJS.ProcessEnv

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-status-'))
  await mkdir(path.join(home, '.ssh'), {mode: 0o700})
  await writeFile(path.join(home, '.ssh', 'config'), 'Host github.com\n  User git\n', {mode: 0o600})
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json')})
  env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', SHELL: '/bin/sh'})
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`

/** Runs the built CLI with stdin, stdout and stderr on one pseudo-terminal; returns what the terminal got. */
function onTerminal(args: string[]) {
  const command = [process.execPath, binRun, ...args].map(quote).join(' ')
  return runCommand('script', ['-qfec', command, '/dev/null'], {env, timeoutMs: 60_000})
}

const host = () => new URL(sim.url).host

describe.skipIf(!haveScript || !builtCli)('on a terminal', () => {
  it('says what a stalled call waits for after ~1.5 s, and clears the line before the error', async () => {
    sim.injectFault({type: 'stall'}, {times: Number.POSITIVE_INFINITY})
    const result = await onTerminal(['ssh-sync', '--timeout', '4s'])
    expect(result.code).toBe(1)
    const line = `${CLEAR}waiting for ${host()} (GetAuthenticatedIdentity, attempt 1 of 4)...`
    expect(result.stdout).toContain(line)
    // Cleared in place, then the error on a clean line.
    expect(result.stdout).toContain(`${line}${CLEAR}error: GetAuthenticatedIdentity on ${new URL(sim.url).origin} did not answer within 4s (--timeout)`)
    expect(result.stdout.match(/waiting for/g)).toHaveLength(1)
  })

  it('updates the line in place as attempts go on, and clears it before normal output when the reply comes late', async () => {
    sim.injectFault({type: 'http', status: 503}, {rpc: 'GetAuthenticatedIdentity', times: 1})
    sim.injectFault({type: 'late', delayMs: 3000}, {rpc: 'GetAuthenticatedIdentity', times: 1})
    const result = await onTerminal(['ssh-sync'])
    expect(result.code).toBe(0)
    const line = `${CLEAR}waiting for ${host()} (GetAuthenticatedIdentity, attempt 2 of 4)...`
    expect(result.stdout).toContain(line)
    const after = result.stdout.slice(result.stdout.lastIndexOf(line) + line.length)
    // Cleared, then the sync's report from the start of a clean line; the line never comes back.
    expect(after.startsWith(`${CLEAR}added `)).toBe(true)
    expect(after).not.toContain('waiting for')
  })

  it('shows nothing for a call that answers at once', async () => {
    const result = await onTerminal(['ssh-sync'])
    expect(result.code).toBe(0)
    expect(result.stdout).not.toContain('waiting for')
    expect(result.stdout).not.toContain(CLEAR)
  })

  it('shows nothing with --json, even on a terminal', async () => {
    sim.injectFault({type: 'late', delayMs: 2500}, {rpc: 'GetAuthenticatedIdentity', times: 1})
    const result = await onTerminal(['environment', 'list', '--json'])
    expect(result.code).toBe(0)
    expect(result.stdout).not.toContain('waiting for')
    expect(result.stdout).not.toContain('\u001B[')
  })
})

describe.skipIf(!builtCli)('on a pipe', () => {
  it('never prints the line, however long the wait', async () => {
    sim.injectFault({type: 'stall'}, {times: Number.POSITIVE_INFINITY})
    const result = await runCli(['ssh-sync', '--timeout', '3s'], {env, timeoutMs: 60_000})
    expect(result.code).toBe(1)
    expect(result.stderr).not.toContain('waiting for')
    expect(result.stderr).not.toContain('\u001B[')
    expect(result.stderr).toMatch(/^error: GetAuthenticatedIdentity on .* did not answer within 3s/)
  })
})
