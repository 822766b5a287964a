/**
 * The `-F` decision of `ona ssh`, through the real OpenSSH client: `ona ssh` runs against the simulator on
 * 127.0.0.1 with ONA_SSH pointing at a small script that records the argv ona built, then asks the real
 * `ssh -G` what that same argv resolves to (it connects to nothing).
 *
 * ssh reads the passwd entry's `~/.ssh/config` when no -F is given, and the tests run as a user whose
 * passwd home is not the scratch HOME. The context's password database is injected (as the platform
 * allows) so that this user's home is the scratch HOME; the script then names that same file for the real
 * ssh when, and only when, ona's argv has no -F, which is what ssh itself would read for such a user.
 */
import {chmod, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createContext, type Context} from '../../src/lib/context.js'
import {createIOStreams} from '../../src/lib/io.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {parseSshG} from '../../src/lib/ssh-config/verify.js'
import {sshConnect} from '../../src/lib/ssh/connect.js'
import {baseEnv} from '../helpers/run-cli.js'
import {SSH_PATH} from '../helpers/ssh.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const ALIAS = `${A}.gitpod.environment`

let home: string
let sshDir: string
let managed: string
let sim: Simulator
let stderr: string

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-connect-F-'))
  sshDir = path.join(home, '.ssh')
  managed = path.join(sshDir, 'config.d', 'ona')
  await mkdir(path.dirname(managed), {recursive: true, mode: 0o700})
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json')})
  stderr = ''
  // The stand-in for ssh: record argv, then resolve the very same argv with the real ssh -G.
  await writeFile(
    path.join(home, 'ssh'),
    [
      '#!/bin/sh',
      `printf '%s\\n' "$@" > '${home}/argv'`,
      'for a in "$@"; do',
      `  if [ "$a" = -F ]; then exec '${SSH_PATH}' -G "$@" > '${home}/resolved' 2>&1; fi`,
      'done',
      `exec '${SSH_PATH}' -G -F '${sshDir}/config' "$@" > '${home}/resolved' 2>&1`,
      '',
    ].join('\n'),
  )
  await chmod(path.join(home, 'ssh'), 0o755)
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

/** A context as the CLI builds it, with this user's passwd home at the scratch HOME (or not). */
function context(passwdHomeIsHome: boolean): Context {
  const err = new PassThrough()
  err.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const io = createIOStreams({out: err, err, isTTY: false, env: {NO_COLOR: '1'}})
  const me = os.userInfo().username
  return createContext({
    env: baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ONA_SYSTEM_SSH_CONFIG: '', ONA_SSH: path.join(home, 'ssh')}),
    io,
    sshConfig: managed,
    ...(passwdHomeIsHome ? {passwd: (name: string) => (name === me ? home : undefined)} : {}),
  })
}

async function connect(ctx: Context): Promise<{code: number; argv: string[]; resolved: Map<string, string[]>}> {
  const code = await sshConnect(ctx, {target: A, apiUrl: sim.url, skipPreflight: true, interactive: false, args: []})
  const argv = (await readFile(path.join(home, 'argv'), 'utf8')).trimEnd().split('\n')
  const resolved = parseSshG(await readFile(path.join(home, 'resolved'), 'utf8'))
  return {code, argv, resolved}
}

/** What ona wrote for A, as the real ssh -G must resolve it. */
function expectWritten(resolved: Map<string, string[]>) {
  expect(resolved.get('hostname')).toEqual(['127.0.0.11'])
  expect(resolved.get('user')).toEqual(['gitpod_devcontainer'])
  expect(resolved.get('port')).toEqual(['2222'])
  expect(resolved.get('hostkeyalias')).toEqual([ALIAS])
  expect(resolved.get('identityfile')).toContain(path.join(home, '.config', 'ona', 'ssh', 'id_ed25519'))
}

describe('ona ssh and -F, through the real ssh', () => {
  it('the managed file Included from ~/.ssh/config: no -F, and that argv resolves the alias to what ona wrote', async () => {
    await writeFile(path.join(sshDir, 'config'), 'Include config.d/ona\n\nHost *\n  ServerAliveInterval 30\n', {mode: 0o600})
    const {code, argv, resolved} = await connect(context(true))
    expect(code).toBe(0)
    expect(argv).toEqual([ALIAS])
    expectWritten(resolved)
    // The user's own lines still apply: nothing of theirs was skipped.
    expect(resolved.get('serveraliveinterval')).toEqual(['30'])
    expect(stderr).not.toMatch(/-F/)
  })

  it('not Included: -F with the warning naming what is skipped and the exact Include line, and the argv still resolves', async () => {
    await writeFile(path.join(sshDir, 'config'), 'Host *\n  ServerAliveInterval 30\n', {mode: 0o600})
    const {code, argv, resolved} = await connect(context(true))
    expect(code).toBe(0)
    expect(argv).toEqual(['-F', managed, ALIAS])
    expectWritten(resolved)
    // -F really skips the user's config: their ServerAliveInterval is gone, as the warning says.
    expect(resolved.get('serveraliveinterval')).toEqual(['0'])
    expect(stderr).toContain(
      `warning: ssh is run with -F ${managed} because ssh does not read it by itself: your own ${sshDir}/config and /etc/ssh/ssh_config are skipped for this connection; add \`Include config.d/ona\` at the top of ${sshDir}/config (or run \`ona ssh-sync --add-include\`) and ona ssh will not need -F`,
    )
  })

  it('a scratch HOME that is not the passwd home: the HOME\'s ~/.ssh/config is named, which reads the managed file', async () => {
    await writeFile(path.join(sshDir, 'config'), 'Include config.d/ona\n', {mode: 0o600})
    const {code, argv, resolved} = await connect(context(false))
    expect(code).toBe(0)
    expect(argv).toEqual(['-F', path.join(sshDir, 'config'), ALIAS])
    expectWritten(resolved)
  })
})
