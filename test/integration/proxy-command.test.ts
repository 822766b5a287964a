/**
 * The resolve-on-connect ProxyCommand as ssh runs it from a session that has none of the variables the
 * block was written with (VS Code started from the desktop, cron): the real `ssh`, the real sshd, the
 * simulator. ona's config directory is not the default one, so a proxy that worked it out again from its
 * environment would read no token, other settings and another key.
 */
import {access, mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createApiClient} from '../../src/lib/api/client.js'
import {PROXY_API_TIMEOUT_MS} from '../../src/lib/proxy/proxy.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {baseEnv, runCli} from '../helpers/run-cli.js'
import {parseSshG} from '../../src/lib/ssh-config/verify.js'
import {SSH_PATH, runProcess} from '../helpers/ssh.js'
import {createSshKeys, startSshd, type SshKeys, type Sshd} from '../helpers/sshd.js'
import {waitFor} from '../helpers/wait-for.js'

const RUN = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const OTHER = '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'
const STOP = '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24'
const alias = (id: string) => `${id}.gitpod.environment`

let home: string
let config: string
let configDir: string
let knownHosts: string
let hostKeys: SshKeys
let sshdRun: Sshd
let sshdStop: Sshd
let sim: Simulator

/** What ssh is started with from a desktop session: no ONA_*, no XDG_*, no token, no agent. */
const scrubbed = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...extra})

/** `ssh <alias>` the way VS Code Remote-SSH runs it: ConnectTimeout=15, strict host key checking, no -i. */
function ssh(target: string, env: NodeJS.ProcessEnv, command = 'echo connected-$((6*7))') {
  const args = ['-F', config, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=15']
  return runProcess(SSH_PATH, [...args, target, command], {env, timeoutMs: 30_000})
}

/** The Host entry of one environment in the block, as written. */
function entryOf(text: string, id: string): string {
  const start = text.indexOf(`Host ${alias(id)} `)
  const next = text.slice(start + 1).search(/\n(Host |# END)/)
  return text.slice(start, start + 1 + next + 1)
}

const exists = (file: string) => access(file).then(() => true, () => false)

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-proxy-cmd-'))
  config = path.join(home, '.ssh', 'config')
  configDir = path.join(home, 'elsewhere', 'ona')
  knownHosts = path.join(home, '.ssh', 'known_hosts')
  await mkdir(path.dirname(config), {mode: 0o700})
  await writeFile(config, 'Host github.com\n  User git\n', {mode: 0o600})
  hostKeys = await createSshKeys()
  sshdRun = await startSshd({host: '127.0.0.61', keys: hostKeys, authorizedKeysFile: path.join(home, 'authorized_keys.run')})
  sshdStop = await startSshd({host: '127.0.0.62', keys: hostKeys, authorizedKeysFile: path.join(home, 'authorized_keys.stop')})
  sim = await startSimulator({
    seed: [
      {id: RUN, name: 'api', ssh: {user: sshdRun.user, host: sshdRun.host, port: sshdRun.port}},
      {id: OTHER, name: 'web', ssh: {host: '127.0.0.63', port: 2222}},
      {id: STOP, name: 'old-project', ssh: {user: sshdStop.user, host: sshdStop.host, port: sshdStop.port}},
    ],
    // A start takes longer than the API limit the tests give the proxy (ONA_TIMEOUT=1s).
    delays: {startMs: 1500, keyReadyMs: 100},
  })
  sim.linkAuthorizedKeys(RUN, path.join(home, 'authorized_keys.run'))
  sim.linkAuthorizedKeys(STOP, path.join(home, 'authorized_keys.stop'))
  await writeFile(knownHosts, [RUN, STOP].map((id) => `${alias(id)} ${hostKeys.hostPublicKey}\n`).join(''), {mode: 0o600})

  // Set up as a user who keeps ona's config elsewhere: token file, settings and key all in configDir.
  const setup = baseEnv(home, {ONA_API_URL: sim.url, ONA_CONFIG_DIR: configDir, ONA_KEYRING: 'off'})
  const login = await runCli(['login', '--token-stdin'], {env: setup, input: `${sim.token}\n`})
  expect(login.code, login.stderr).toBe(0)
  const sync = await runCli(['ssh-sync', '--resolve-on-connect'], {env: setup})
  expect(sync.code, sync.stderr).toBe(0)
  const ownPub = (await readFile(path.join(configDir, 'ssh', 'id_ed25519.pub'), 'utf8')).trim()
  await waitFor(async () => (await readFile(path.join(home, 'authorized_keys.run'), 'utf8')).includes(ownPub), 5000, 'the key to be READY on the running environment')
  // The stopped environment keeps the entry it had while running (ssh's User comes from it), without the
  // key: the proxy registers it when it starts the environment.
  sim.stopEnvironment(STOP)
  const client = await createApiClient({baseUrl: sim.url, token: sim.token, env: {}})
  await client.updateSshPublicKeys(STOP, [{id: (await readFile(path.join(configDir, 'ssh', 'key-id'), 'utf8')).trim()}])
  expect(sim.environmentJson(STOP)).not.toHaveProperty('spec.sshPublicKeys')
  const again = await runCli(['ssh-sync'], {env: setup})
  expect(again.code, again.stderr).toBe(0)
  expect(again.stdout).toContain(`kept     ${alias(STOP)}`)
}, 60_000)

afterAll(async () => {
  await sim?.close()
  await sshdRun?.stop()
  await sshdStop?.stop()
  await hostKeys?.release()
  if (home) await rm(home, {recursive: true, force: true})
})

describe('the ProxyCommand carries what it was written with', () => {
  it('names ona\'s config directory in its own argv, as ssh -G resolves it without any ONA_ variable', async () => {
    const result = await runProcess(SSH_PATH, ['-G', '-F', config, alias(RUN)], {env: scrubbed()})
    const resolved = parseSshG(result.stdout)
    expect(resolved.get('proxycommand')?.[0]).toBe(`${process.execPath} ${path.resolve('bin/run.js')} ssh-proxy ${RUN} --api-url ${sim.url} --ssh-config ${config} --config-dir ${configDir}`)
    expect(resolved.get('identityfile')?.[0]).toBe(path.join(configDir, 'ssh', 'id_ed25519'))
  })

  it('run by ssh from a scrubbed environment, uses that directory\'s token and key, and writes only its own entry\'s address', async () => {
    sshdRun = await sshdRun.restart({host: '127.0.0.64'})
    sim.setSshAddress(RUN, {user: sshdRun.user, host: sshdRun.host, port: sshdRun.port})
    const before = await readFile(config, 'utf8')
    const updates = sim.rpcCount('UpdateEnvironment')

    const result = await ssh(alias(RUN), scrubbed())
    expect(result.stderr).not.toMatch(/not logged in|last known address|IDENTIFICATION HAS CHANGED/)
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe('connected-42')

    // Only the HostName and Port lines of this entry changed: every other byte (the other entries and
    // their ProxyCommand, IdentityFile and options, the user's lines) is as it was.
    const oldEntry = entryOf(before, RUN)
    const newEntry = oldEntry.replace(/\n {2}HostName \S+\n/, '\n  HostName 127.0.0.64\n').replace(/\n {2}Port \d+\n/, `\n  Port ${sshdRun.port}\n`)
    expect(newEntry).not.toBe(oldEntry)
    // ... and this entry's freshness line above its Host line, which records the newer statusVersion (issue 17).
    const withoutFreshness = (text: string) => text.replace(/^# ona env statusVersion .*\n/gm, '')
    const after = await readFile(config, 'utf8')
    expect(withoutFreshness(after)).toBe(withoutFreshness(before.replace(oldEntry, newEntry)))
    const changed = after.split('\n').filter((line) => !before.split('\n').includes(line))
    expect(changed.slice(0, 2)).toEqual([expect.stringMatching(/^# ona env statusVersion \d+: /), '  HostName 127.0.0.64'])
    expect(changed.slice(2)).toEqual(changed.length > 2 ? [`  Port ${sshdRun.port}`] : [])
    // No key of its own: nothing in the default config directory, nothing registered.
    expect(await exists(path.join(home, '.config', 'ona'))).toBe(false)
    expect(sim.rpcCount('UpdateEnvironment')).toBe(updates)
  }, 60_000)

  it('with a token from its environment, still registers no new key and leaves the other entries alone', async () => {
    sshdRun = await sshdRun.restart({host: '127.0.0.65'})
    sim.setSshAddress(RUN, {user: sshdRun.user, host: sshdRun.host, port: sshdRun.port})
    const before = await readFile(config, 'utf8')
    const updates = sim.rpcCount('UpdateEnvironment')

    const result = await ssh(alias(RUN), scrubbed({ONA_TOKEN: sim.token}))
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe('connected-42')

    const after = await readFile(config, 'utf8')
    for (const id of [OTHER, STOP]) expect(entryOf(after, id)).toBe(entryOf(before, id))
    expect(after.match(/ProxyCommand /g)).toHaveLength(3)
    expect(entryOf(after, RUN)).toContain('  HostName 127.0.0.65\n')
    expect(entryOf(after, RUN)).toContain(`  IdentityFile ${path.join(configDir, 'ssh', 'id_ed25519')}\n`)
    expect(await exists(path.join(home, '.config', 'ona'))).toBe(false)
    expect(sim.rpcCount('UpdateEnvironment')).toBe(updates)
    const keys = (sim.environmentJson(RUN) as {spec: {sshPublicKeys: Array<{value: string}>}}).spec.sshPublicKeys
    expect(keys.map((k) => k.value.trim())).toEqual([(await readFile(path.join(configDir, 'ssh', 'id_ed25519.pub'), 'utf8')).trim()])
  }, 60_000)
})

describe('the ProxyCommand inside an IDE\'s ConnectTimeout', () => {
  it('ends as a finished process when ssh hangs up on it after the session, so bin/run.js keeps its code cache', async () => {
    // ssh sends its ProxyCommand SIGHUP when the session is over and does not wait; before, node died of
    // it without an exit event, and no connection ever left a cache (each compiled the proxy again).
    const result = await ssh(alias(RUN), scrubbed())
    expect(result.code, result.stderr).toBe(0)
    const dir = path.join(home, '.cache', 'ona', 'compile-cache')
    const caches = async () => (await readdir(dir).catch(() => [] as string[])).filter((name) => name.startsWith('ssh-proxy-') && name.endsWith('.v8'))
    await waitFor(async () => (await caches()).length > 0, 10_000, 'the ProxyCommand\'s code cache')
    const [cache] = await caches()
    // Made by a run that finished (exit 0), not one that failed.
    await waitFor(async () => (await readFile(path.join(dir, cache!)))[0]! >= 1, 10_000, 'a cache made by a finished run')
  }, 60_000)

  it('asks the API for less than the 15 s VS Code gives ssh, by default', () => {
    expect(PROXY_API_TIMEOUT_MS).toBeLessThanOrEqual(10_000)
  })

  it('a stalled API: ssh -o ConnectTimeout=15 reaches the sshd at the last known address, with one line saying so', async () => {
    sim.injectFault({type: 'stall'}, {rpc: 'GetEnvironment', times: Infinity})
    try {
      const result = await ssh(alias(RUN), scrubbed({ONA_TIMEOUT: '1s'}))
      expect(result.stderr).not.toContain('banner exchange')
      expect(result.code).toBe(0)
      expect(result.stdout.trim()).toBe('connected-42')
      const notes = result.stderr.split('\n').filter((line) => line.startsWith('ona: '))
      expect(notes).toEqual([expect.stringMatching(new RegExp(`^ona: GetEnvironment on http://127\\.0\\.0\\.1:\\d+ did not answer within 1s \\(ONA_TIMEOUT\\); connecting to the last known address 127\\.0\\.0\\.65:${sshdRun.port}$`))])
    } finally {
      sim.clearFaults()
    }
  }, 60_000)

  it('starting a stopped environment keeps its own wait, longer than the API limit, and registers the entry\'s key', async () => {
    const result = await ssh(alias(STOP), scrubbed({ONA_TIMEOUT: '1s'}), 'echo woke-$((6*7))')
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe('woke-42')
    expect(result.stderr).toMatch(/ona: old-project \(0199ec15-c3d8\): starting/)
    expect(result.stderr).not.toContain('last known address')
    const keys = (sim.environmentJson(STOP) as {spec: {sshPublicKeys: Array<{value: string}>}}).spec.sshPublicKeys
    expect(keys.map((k) => k.value.trim())).toEqual([(await readFile(path.join(configDir, 'ssh', 'id_ed25519.pub'), 'utf8')).trim()])
    expect(await exists(path.join(home, '.config', 'ona'))).toBe(false)
  }, 60_000)

  it('a running environment whose key registration stalls: falls back within the API limit, not the start wait', async () => {
    // The key is gone from the environment, so the proxy must register it, and the plane does not answer.
    const client = await createApiClient({baseUrl: sim.url, token: sim.token, env: {}})
    await client.updateSshPublicKeys(RUN, [{id: (await readFile(path.join(configDir, 'ssh', 'key-id'), 'utf8')).trim()}])
    sim.injectFault({type: 'stall'}, {rpc: 'UpdateEnvironment', times: Infinity})
    try {
      const argv = ['ssh-proxy', RUN, '--api-url', sim.url, '--ssh-config', config, '--config-dir', configDir]
      // No ssh here: stdin closes at once, so the proxy ends as soon as it has connected.
      const result = await runCli(argv, {env: scrubbed({ONA_TIMEOUT: '1s'}), timeoutMs: 20_000})
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).toMatch(new RegExp(`ona: UpdateEnvironment on http://127\\.0\\.0\\.1:\\d+ did not answer within 1s \\(ONA_TIMEOUT\\); connecting to the last known address 127\\.0\\.0\\.65:${sshdRun.port}\\n`))
      expect(sim.rpcCount('UpdateEnvironment')).toBeGreaterThan(0)
    } finally {
      sim.clearFaults()
    }
  }, 60_000)
})
