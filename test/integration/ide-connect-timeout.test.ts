/**
 * The VS Code path end to end, with real parts: VS Code Remote-SSH runs
 * `ssh -T -o ConnectTimeout=<remote.SSH.connectTimeout> <alias>`, and OpenSSH applies ConnectTimeout to the
 * SSH banner exchange, through a ProxyCommand too. With resolve-on-connect, picking a stopped environment
 * starts it inside the ProxyCommand, before any banner: a start longer than VS Code's default 15 s failed
 * with "Connection timed out during banner exchange". Here the simulator's start takes 16 s, `ona ide setup
 * vscode` writes the settings, and the real ssh runs with the ConnectTimeout read back from the file ona
 * wrote, through `ona ssh-proxy`, to a real sshd that accepts only the key ona registered.
 *
 * This is the one slow test (about 17 s of real time): the start delay must exceed 15 s to prove anything.
 * Run by hand with ConnectTimeout=15 it fails with "Connection timed out during banner exchange".
 */
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {parse as parseJsonc} from 'jsonc-parser'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {START_CONNECT_TIMEOUT_S} from '../../src/lib/ide/settings.js'
import type {Simulator} from '../../src/lib/simulator/server.js'
import {createFixture, type Fixture} from '../helpers/fixture.js'
import {builtCli, runCli} from '../helpers/run-cli.js'
import {SSH_PATH, runProcess} from '../helpers/ssh.js'
import {createSshKeys, startSshd, type SshKeys, type Sshd} from '../helpers/sshd.js'

const STOPPED = '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24'
const alias = `${STOPPED}.gitpod.environment`
/** Longer than Remote-SSH's default connect timeout (15 s): what a real start takes, and more. */
const START_MS = 16_000

let fixture: Fixture
let home: string
let config: string
let settingsFile: string
let hostKeys: SshKeys
let sshd: Sshd
let sim: Simulator
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  fixture = await createFixture({prefix: 'ide-timeout', configText: '', simulator: {seed: [], delays: {startMs: START_MS, keyReadyMs: 200}}})
  ;({home, config, sim, env} = fixture)
  settingsFile = path.join(home, '.config', 'Code', 'User', 'settings.json')
  await mkdir(path.dirname(settingsFile), {recursive: true})
  await writeFile(settingsFile, '{\n\t// mine\n\t"editor.fontSize": 13,\n}\n')
  hostKeys = await createSshKeys()
  const authorizedKeys = path.join(home, 'authorized_keys')
  sshd = await startSshd({host: '127.0.0.61', keys: hostKeys, authorizedKeysFile: authorizedKeys})
  // Running at first: the sync writes its entry with its user (sshd only takes the account it runs as).
  sim.addEnvironment({id: STOPPED, name: 'sleepy', ssh: {user: sshd.user, host: sshd.host, port: sshd.port}})
  sim.linkAuthorizedKeys(STOPPED, authorizedKeys)
  await writeFile(path.join(home, '.ssh', 'known_hosts'), `${alias} ${hostKeys.hostPublicKey}\n`, {mode: 0o600})
}, 60_000)

afterAll(async () => {
  await sshd?.stop()
  await hostKeys?.release()
  await fixture?.close()
})

describe.skipIf(!builtCli)('VS Code Remote-SSH on a stopped environment (real ssh, ProxyCommand, sshd)', () => {
  it('connects on the first try with the connectTimeout `ona ide setup vscode` wrote, though the start takes longer than 15 s', async () => {
    const sync = await runCli(['ssh-sync', '--resolve-on-connect'], {env})
    expect(sync.code).toBe(0)
    // Stopped since, as environments are overnight: the entry stays, and connecting has to start it.
    sim.stopEnvironment(STOPPED)
    const setup = await runCli(['ide', 'setup', 'vscode'], {env})
    expect(setup.stderr).toBe('')
    expect(setup.code).toBe(0)
    const settings = parseJsonc(await readFile(settingsFile, 'utf8')) as Record<string, unknown>
    const connectTimeout = settings['remote.SSH.connectTimeout'] as number
    expect(connectTimeout).toBe(START_CONNECT_TIMEOUT_S)
    expect(connectTimeout * 1000).toBeGreaterThan(START_MS)

    // As Remote-SSH runs it (-T, ConnectTimeout from its setting); -F because the scratch HOME is not the
    // passwd home ssh reads ~/.ssh/config from (Remote-SSH passes -F for remote.SSH.configFile the same way).
    // No -i and no agent: only the key ona registered gets in, with strict host key checking.
    const sshEnv = {...env}
    delete sshEnv.SSH_AUTH_SOCK
    const started = Date.now()
    const result = await runProcess(
      SSH_PATH,
      ['-T', '-o', `ConnectTimeout=${connectTimeout}`, '-F', config, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${path.join(home, '.ssh', 'known_hosts')}`, '-o', 'GlobalKnownHostsFile=/dev/null', alias, 'echo vscode-$((6*7))'],
      {env: sshEnv, timeoutMs: 90_000},
    )
    const elapsed = Date.now() - started
    expect(result.stderr).not.toMatch(/timed out|banner exchange|Permission denied/)
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe('vscode-42')
    // The ProxyCommand started the environment, and the banner came after VS Code's default 15 s had passed.
    expect(result.stderr).toMatch(/^ona: .*sleepy.*: starting/m)
    expect(sim.rpcCount('StartEnvironment')).toBe(1)
    expect(elapsed).toBeGreaterThan(15_000)
  }, 120_000)
})
