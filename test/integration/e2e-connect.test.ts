/**
 * End to end with the real OpenSSH client and server, where the server, like an environment, accepts only
 * the keys registered through the API: each sshd's AuthorizedKeysFile is kept by the simulator equal to
 * its environment's READY keys. No `-i` and no agent anywhere: ssh logs in with the key ona registered
 * and named in the entry, or not at all.
 */
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {Simulator} from '../../src/lib/simulator/server.js'
import {createFixture, type Fixture} from '../helpers/fixture.js'
import {runCli} from '../helpers/run-cli.js'
import {SSH_PATH, runProcess} from '../helpers/ssh.js'
import {createSshKeys, startSshd, type SshKeys, type Sshd} from '../helpers/sshd.js'

const RUN = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const STOP = '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24'
const alias = (id: string) => `${id}.gitpod.environment`

let fixture: Fixture
let home: string
let config: string
let knownHosts: string
let hostKeys: SshKeys
let sshdRun: Sshd
let sshdStop: Sshd
let sim: Simulator
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  fixture = await createFixture({prefix: 'e2e-connect', configText: 'Host *\n  ServerAliveInterval 30\n', simulator: {seed: [], delays: {startMs: 800, keyReadyMs: 300}}})
  ;({home, config, sim, env} = fixture)
  knownHosts = path.join(home, '.ssh', 'known_hosts')
  // One host key for both servers: each environment's identity is checked under its HostKeyAlias.
  hostKeys = await createSshKeys()
  const runKeys = path.join(home, 'authorized_keys.run')
  const stopKeys = path.join(home, 'authorized_keys.stop')
  sshdRun = await startSshd({host: '127.0.0.41', keys: hostKeys, authorizedKeysFile: runKeys})
  sshdStop = await startSshd({host: '127.0.0.42', keys: hostKeys, authorizedKeysFile: stopKeys})
  sim.addEnvironment({id: RUN, name: 'api', ssh: {user: sshdRun.user, host: sshdRun.host, port: sshdRun.port}})
  sim.addEnvironment({id: STOP, name: 'old-project', phase: 'ENVIRONMENT_PHASE_STOPPED', ssh: {user: sshdStop.user, host: sshdStop.host, port: sshdStop.port}})
  sim.linkAuthorizedKeys(RUN, runKeys)
  sim.linkAuthorizedKeys(STOP, stopKeys)
  // Both aliases' host key, recorded under HostKeyAlias as a first accept-new would: checking stays strict.
  await writeFile(knownHosts, [RUN, STOP].map((id) => `${alias(id)} ${hostKeys.hostPublicKey}\n`).join(''), {mode: 0o600})
}, 60_000)

afterAll(async () => {
  await sshdRun?.stop()
  await sshdStop?.stop()
  await hostKeys?.release()
  await fixture?.close()
})

/** Plain `ssh <alias>` as a user types it: no -i, no agent, strict host key checking. */
const strict = () => ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=10']
function ssh(target: string, command = 'echo connected-$((6*7))') {
  const sshEnv = {...env}
  delete sshEnv.SSH_AUTH_SOCK
  return runProcess(SSH_PATH, ['-F', config, ...strict(), target, command], {env: sshEnv, timeoutMs: 60_000})
}

describe('connecting with the key ona registers', () => {
  it('after a plain `ona ssh-sync`, plain `ssh <alias>` logs in with no -i', async () => {
    expect(await readFile(path.join(home, 'authorized_keys.run'), 'utf8')).toBe('')
    const sync = await runCli(['ssh-sync'], {env})
    expect(sync.code).toBe(0)
    // The key becomes READY (and accepted) a moment after registration, as on the real plane.
    const ownPub = (await readFile(path.join(home, '.config', 'ona', 'ssh', 'id_ed25519.pub'), 'utf8')).trim()
    const deadline = Date.now() + 5000
    while (!(await readFile(path.join(home, 'authorized_keys.run'), 'utf8')).includes(ownPub) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const result = await ssh(alias(RUN))
    expect(result.stderr).not.toMatch(/Permission denied|IDENTIFICATION HAS CHANGED/)
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe('connected-42')
  }, 60_000)

  it('`ona ssh <name>` starts a stopped environment, shows progress, waits for the key and connects', async () => {
    const result = await runCli(['ssh', 'old-project', '--skip-preflight', '--', ...strict(), 'echo started-$((6*7))'], {env, timeoutMs: 60_000})
    expect(result.stderr).toMatch(/ona: old-project \(0199ec15-c3d8\): starting \(stopped\), 0 s/)
    expect(result.stderr).toMatch(/waiting for the SSH key \(creating\)/)
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe('started-42')
    expect(sim.rpcCount('StartEnvironment')).toBe(1)
    expect(sim.lastActivity(STOP)?.source).toBe('SSH')
  }, 60_000)

  it('`ona ssh --no-start` refuses a stopped environment; no argument without a terminal is a usage error', async () => {
    sim.stopEnvironment(STOP)
    const refused = await runCli(['ssh', 'old-project', '--skip-preflight', '--no-start'], {env})
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('error: environment old-project (0199ec15-c3d8) is stopped\n')
    const none = await runCli(['ssh', '--skip-preflight'], {env})
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('no environment given')
  })
})

describe('resolve on connect: plain ssh through the ProxyCommand', () => {
  it('writes entries that keep the address and add a ProxyCommand running this node and this ona', async () => {
    const sync = await runCli(['ssh-sync', '--resolve-on-connect'], {env})
    expect(sync.code).toBe(0)
    const text = await readFile(config, 'utf8')
    expect(text).toContain(`  HostName ${sshdRun.host}\n`)
    expect(text).toContain(`  ProxyCommand ${process.execPath} `)
    expect(text).toContain(` ssh-proxy ${RUN} --api-url ${sim.url} --ssh-config ${config} --config-dir ${path.join(home, '.config', 'ona')}\n`)
    // The stopped environment keeps an entry: connecting through ona starts it.
    expect(text).toContain(`Host ${alias(STOP)} `)
    expect(JSON.parse(await readFile(path.join(home, '.config', 'ona', 'settings.json'), 'utf8'))).toMatchObject({origins: {[new URL(sim.url).origin]: {resolveOnConnect: true}}})
  })

  it('follows an address change made in the simulator without any sync, with strict host key checking', async () => {
    sshdRun = await sshdRun.restart({host: '127.0.0.43'})
    sim.setSshAddress(RUN, {user: sshdRun.user, host: sshdRun.host, port: sshdRun.port})
    const before = await readFile(config, 'utf8')
    expect(before).not.toContain('127.0.0.43')
    const result = await ssh(alias(RUN))
    expect(result.stderr).not.toMatch(/IDENTIFICATION HAS CHANGED|Permanently added/)
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe('connected-42')
    // The proxy put the new address in the block for IDE host lists and ssh -G.
    expect(await readFile(config, 'utf8')).toContain(`  HostName 127.0.0.43\n`)
    expect(sim.lastActivity(RUN)?.source).toBe('SSH')
  }, 60_000)

  it('plain ssh starts a stopped environment, with the progress on stderr', async () => {
    const starts = sim.rpcCount('StartEnvironment')
    const result = await ssh(alias(STOP), 'echo woke-$((6*7))')
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe('woke-42')
    expect(result.stderr).toMatch(/ona: old-project \(0199ec15-c3d8\): starting/)
    expect(sim.rpcCount('StartEnvironment')).toBe(starts + 1)
  }, 60_000)

  it('connects to the address in the block when the API is unreachable, saying so', async () => {
    sim.injectFault({type: 'http', status: 503}, {rpc: 'GetEnvironment', times: Infinity})
    try {
      const result = await ssh(alias(RUN))
      expect(result.code).toBe(0)
      expect(result.stdout.trim()).toBe('connected-42')
      expect(result.stderr).toMatch(/ona: .*unavailable.*; connecting to the last known address 127\.0\.0\.43:\d+/)
    } finally {
      sim.clearFaults()
    }
  }, 60_000)

  it('falls back to the block when the API stalls, after ONA_TIMEOUT rather than minutes of retries', async () => {
    sim.injectFault({type: 'stall'}, {rpc: 'GetEnvironment', times: Infinity})
    const saved = env
    env = {...env, ONA_TIMEOUT: '2s'}
    try {
      const started = Date.now()
      const result = await ssh(alias(RUN))
      expect(result.code).toBe(0)
      expect(result.stdout.trim()).toBe('connected-42')
      expect(result.stderr).toMatch(/ona: GetEnvironment on http:\/\/127\.0\.0\.1:\d+ did not answer within 2s \(ONA_TIMEOUT\); connecting to the last known address 127\.0\.0\.43:\d+/)
      // One 30 s attempt alone was longer than this.
      expect(Date.now() - started).toBeLessThan(25_000)
    } finally {
      env = saved
      sim.clearFaults()
    }
  }, 60_000)

  it('ssh <name>.ona (--friendly-aliases) connects through the ProxyCommand of its own environment, which updates that entry', async () => {
    const sync = await runCli(['ssh-sync', '--friendly-aliases', '--ssh-option', 'ServerAliveCountMax=4'], {env})
    expect(sync.code).toBe(0)
    expect(await readFile(config, 'utf8')).toContain(`Host ${alias(RUN)} ${RUN}.gitpod.remote api.ona\n`)
    sshdRun = await sshdRun.restart({host: '127.0.0.46'})
    sim.setSshAddress(RUN, {user: sshdRun.user, host: sshdRun.host, port: sshdRun.port})
    const result = await ssh('api.ona')
    expect(result.stderr).not.toMatch(/IDENTIFICATION HAS CHANGED|Permanently added/)
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe('connected-42')
    // The entry the friendly alias names got the new address, and keeps the alias and the option.
    const entry = (await readFile(config, 'utf8')).split(`Host ${alias(RUN)} `)[1]!.split('\n#')[0]!
    expect(entry).toMatch(/^\S+ api\.ona\n {2}HostName 127\.0\.0\.46\n/)
    expect(entry).toContain('\n  ServerAliveCountMax 4')
  }, 60_000)

  it('--no-resolve-on-connect writes plain entries again', async () => {
    const sync = await runCli(['ssh-sync', '--no-resolve-on-connect'], {env})
    expect(sync.code).toBe(0)
    const text = await readFile(config, 'utf8')
    expect(text).not.toContain('ProxyCommand')
    expect(text).toContain('  IdentitiesOnly yes\n')
  })
})
