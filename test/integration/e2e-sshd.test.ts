/**
 * End to end with the real OpenSSH client and server: the simulator points an environment at a real sshd on
 * a loopback address, `ona ssh-sync` writes the aliases, and `ssh -F <config> <alias> true` connects. In watch
 * mode the environment moves to another loopback address (same host key, as a restarted instance keeps
 * its identity) and the next ssh through the same alias connects with strict host key checking and no
 * warning; a stopped environment's alias disappears and ssh to it fails cleanly.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {Simulator} from '../../src/lib/simulator/server.js'
import {createFixture, type Fixture} from '../helpers/fixture.js'
import {binRun, runCli} from '../helpers/run-cli.js'
import {sshRun} from '../helpers/ssh.js'
import {startSshd, type Sshd} from '../helpers/sshd.js'
import {waitFor} from '../helpers/wait-for.js'

const ID = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const ENV_ALIAS = `${ID}.gitpod.environment`
const REMOTE_ALIAS = `${ID}.gitpod.remote`

let fixture: Fixture
let config: string
let knownHosts: string
let sshd: Sshd
let sim: Simulator
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  sshd = await startSshd({host: '127.0.0.31'})
  fixture = await createFixture({
    prefix: 'e2e',
    configText: 'Host *\n  ServerAliveInterval 30\n',
    simulator: {
      seed: [
        {id: ID, name: 'e2e', phase: 'ENVIRONMENT_PHASE_RUNNING', ssh: {user: sshd.user, host: sshd.host, port: sshd.port}},
        {id: '0199ec15-0000-7e92-8e22-8cb6c7ba4d00', name: 'other', phase: 'ENVIRONMENT_PHASE_STOPPED'},
      ],
    },
  })
  ;({config, sim, env} = fixture)
  knownHosts = path.join(fixture.home, '.ssh', 'known_hosts')
})

afterAll(async () => {
  await fixture?.close()
  await sshd?.stop()
})

const ssh = (alias: string, strict: 'yes' | 'accept-new') =>
  sshRun(config, alias, 'echo connected-$((6*7))', {clientKeyPath: sshd.clientKeyPath, knownHostsPath: knownHosts, strictHostKeyChecking: strict})

describe('real ssh through the aliases ona writes', () => {
  it('both aliases connect and run a command after `ona ssh-sync`', async () => {
    const sync = await runCli(['ssh-sync'], {env})
    expect(sync.code).toBe(0)
    const first = await ssh(ENV_ALIAS, 'accept-new')
    expect(first.stderr).not.toMatch(/IDENTIFICATION HAS CHANGED/)
    expect(first.code).toBe(0)
    expect(first.stdout.trim()).toBe('connected-42')
    // The remote alias shares the HostKeyAlias: its key is already known, strict checking passes.
    const second = await ssh(REMOTE_ALIAS, 'yes')
    expect(second.code).toBe(0)
    expect(second.stdout.trim()).toBe('connected-42')
    const known = await readFile(knownHosts, 'utf8')
    expect(known.split('\n').filter(Boolean).map((l) => l.split(' ')[0])).toEqual([ENV_ALIAS])
  })

  it('in watch mode a move to another address keeps working with strict host key checking and no warning', async () => {
    const watch: ChildProcess = spawn(process.execPath, [binRun, 'ssh-sync', '--watch'], {env, stdio: ['ignore', 'pipe', 'pipe']})
    let log = ''
    // Watch lines (changes, incidents) go to stdout; anything on stderr is shown too if the test fails.
    watch.stdout!.setEncoding('utf8').on('data', (c: string) => (log += c))
    watch.stderr!.setEncoding('utf8').on('data', (c: string) => (log += c))
    try {
      await waitFor(async () => sim.openStreams() > 0, 10_000, 'the watcher to subscribe')
      sshd = await sshd.restart({host: '127.0.0.32'})
      sim.setSshAddress(ID, {host: sshd.host, port: sshd.port, user: sshd.user})
      await waitFor(async () => (await readFile(config, 'utf8')).includes(`HostName ${sshd.host}`), 5000, 'the new address in the config')
      for (const alias of [ENV_ALIAS, REMOTE_ALIAS]) {
        const moved = await ssh(alias, 'yes')
        expect(moved.stderr).not.toMatch(/IDENTIFICATION HAS CHANGED|Permanently added|WARNING/)
        expect(moved.code).toBe(0)
        expect(moved.stdout.trim()).toBe('connected-42')
      }
      expect(log).toMatch(new RegExp(`updated  ${ENV_ALIAS}  \\S+@127\\.0\\.0\\.31:\\d+ -> ${sshd.user}@127\\.0\\.0\\.32:${sshd.port}`))

      sim.stopEnvironment(ID)
      await waitFor(async () => !(await readFile(config, 'utf8')).includes(`Host ${ENV_ALIAS}`), 5000, 'the alias to disappear')
      const gone = await ssh(ENV_ALIAS, 'yes')
      expect(gone.code).toBe(255)
      expect(gone.stderr).toMatch(/Could not resolve hostname/)
      expect(gone.stdout).toBe('')
    } finally {
      watch.kill('SIGTERM')
      await new Promise((resolve) => watch.once('exit', resolve))
    }
  }, 60_000)
})
