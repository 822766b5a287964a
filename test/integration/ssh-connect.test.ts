/**
 * `ona ssh` as a user runs it: the built CLI against the simulator on 127.0.0.1, a scratch HOME and the
 * real OpenSSH client. `ssh -G` (passed through after `--`) prints the configuration ssh would use for
 * the alias without connecting, which proves the alias was synced and the arguments reached ssh; a
 * refused connection proves ssh's own exit code comes back.
 */
import {chmod, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {createContext} from '../../src/lib/context.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {createIOStreams} from '../../src/lib/io.js'
import {createDnsResolver} from '../../src/lib/preflight/dns.js'
import {PREFLIGHT_CACHE_TTL_MS, quickPreflight, sshConnect} from '../../src/lib/ssh/connect.js'
import {createPki, startDns, startHttps, type Closable, type Pki} from '../helpers/preflight-net.js'
import {baseEnv, runCli} from '../helpers/run-cli.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const STARTING = '0199ec15-d4e9-7b77-83a2-7f1e5a0b6c35'
const TOKEN = `ona_pat_${'c0nn3ct'.repeat(5)}`

let home: string
let config: string
let sim: Simulator
let env: NodeJS.ProcessEnv
/**
 * A DNS server that knows no name: the CLI's network check asks it (`--resolver`), so the public names it
 * checks (the release endpoints) fail at once, as warnings, and no query leaves loopback.
 */
let nowhere: Closable & {server: string; queries: string[]}

beforeAll(async () => {
  nowhere = await startDns({}, 'nxdomain')
})
afterAll(async () => {
  await nowhere.close()
})

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-ssh-'))
  config = path.join(home, '.ssh', 'config')
  await mkdir(path.dirname(config), {mode: 0o700})
  await writeFile(config, '', {mode: 0o600})
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json'), token: TOKEN})
  env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off'})
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

/** A server that answers like an sshd up to its banner, so `ona ssh`'s path check passes; closed after each test. */
let banners: net.Server[] = []
afterEach(async () => {
  await Promise.all(banners.map((b) => new Promise<void>((resolve) => b.close(() => resolve()))))
  banners = []
})
async function bannerServer(host = '127.0.0.11'): Promise<number> {
  const server = net.createServer((socket) => socket.end('SSH-2.0-ona-test\r\n'))
  banners.push(server)
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()))
  return (server.address() as net.AddressInfo).port
}

/** A port on 127.0.0.1 with nothing listening. */
async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const {port} = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('ona ssh (built CLI, real ssh)', () => {
  it('checks, syncs once, then hands the arguments after -- to ssh on <id>.gitpod.environment', async () => {
    const port = await bannerServer()
    sim.setSshAddress(A, {host: '127.0.0.11', port, user: 'gitpod_devcontainer'})
    const result = await runCli(['ssh', A, '--runner', 'enterprise', '--resolver', nowhere.server, '--', '-G'], {env})
    expect(result.stderr).not.toMatch(/error:/)
    expect(result.code).toBe(0)
    // ssh -G printed the settings it resolved from the alias ona wrote moments before.
    expect(result.stdout).toMatch(/^hostname 127\.0\.0\.11$/m)
    expect(result.stdout).toMatch(new RegExp(`^port ${port}$`, 'm'))
    expect(result.stdout).toMatch(/^user gitpod_devcontainer$/m)
    expect(await readFile(config, 'utf8')).toContain(`Host ${A}.gitpod.environment`)
    const listings = sim.requests.filter((r) => r.rpc === 'ListEnvironments')
    expect(listings.length).toBeGreaterThanOrEqual(1)
    // The release endpoints were checked (with the DNS server given), and their failure is a warning only.
    expect(nowhere.queries).toContain('releases.gitpod.io/A')
    expect(result.stderr).toMatch(/^warning: releases\.gitpod\.io failed its dns check/m)
    // A failure is never remembered (a pass is: 'quick preflight cache' below).
    await expect(readFile(path.join(home, '.local', 'state', 'ona', 'preflight-cache.json'), 'utf8')).rejects.toThrow(/ENOENT/)
  })

  it("returns ssh's own exit code (255 for a refused connection)", async () => {
    const port = await closedPort()
    const result = await runCli(['ssh', A, '--skip-preflight', '--', '-p', String(port), '-o', 'HostName=127.0.0.1', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', 'true'], {env})
    expect(result.code).toBe(255)
    expect(result.stderr).toMatch(/Connection refused/)
  })

  it('stops with the failing check and its hint when the API host is unreachable, before any sync', async () => {
    const port = await closedPort()
    const result = await runCli(['ssh', A, '--runner', 'enterprise', '--resolver', nowhere.server, '--api-url', `http://127.0.0.1:${port}/api`, '--', '-G'], {env})
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(new RegExp(`error: cannot connect: 127\\.0\\.0\\.1:${port} failed its tcp check \\(127\\.0\\.0\\.1:${port} refused the connection\\)`))
    expect(result.stderr).toMatch(/hint: .*--skip-preflight/)
    expect(await readFile(config, 'utf8')).toBe('')
  })

  it('refuses an environment that is not running or unknown, naming it', async () => {
    const unknown = await runCli(['ssh', '0199ec15-0000-7000-8000-000000000000', '--skip-preflight', '--', '-G'], {env})
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/error: no environment of yours has the id or name "0199ec15-0000-7000-8000-000000000000"/)
    // This one never gets an address: ona ssh waits for it, up to --start-timeout.
    const starting = await runCli(['ssh', STARTING, '--skip-preflight', '--start-timeout', '2'], {env})
    expect(starting.code).toBe(1)
    expect(starting.stderr).toMatch(/was not ready after \d+ s \(it is starting\)/)
  })

  it('rejects an id that could smuggle options or hosts into ssh', async () => {
    // After `--` a word is ssh's, never the environment: with no environment and no terminal that is a usage
    // error, and nothing reaches ssh (before `--` oclif refuses the flag). Only an alias built from an API id
    // that passed validation ever reaches ssh.
    const result = await runCli(['ssh', '--skip-preflight', '--', '-oProxyCommand=evil'], {env})
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^error: no environment given/)
    expect(result.stdout).toBe('')
    const injected = await runCli(['ssh', 'a b', '--skip-preflight'], {env})
    expect(injected.code).toBe(1)
    expect(injected.stderr).toMatch(/no environment of yours has the id or name "a b"/)
  })

  it('reads --preflight-timeout and --start-timeout as durations, and an old plain-milliseconds --preflight-timeout with a note', async () => {
    sim.setSshAddress(A, {host: '127.0.0.11', port: await bannerServer(), user: 'gitpod_devcontainer'})
    const result = await runCli(['ssh', A, '--runner', 'enterprise', '--resolver', nowhere.server, '--preflight-timeout', '3000', '--start-timeout', '2m', '--', '-G'], {env})
    expect(result.code).toBe(0)
    expect(result.stderr).toContain('warning: --preflight-timeout 3000: a plain number means seconds now, as on every time flag; read as 3000ms as before (write 3000ms or 3s)\n')
    const current = await runCli(['ssh', A, '--runner', 'enterprise', '--resolver', nowhere.server, '--preflight-timeout', '2s', '--', '-G'], {env})
    expect(current.code).toBe(0)
    expect(current.stderr).not.toContain('--preflight-timeout')
  })

  it("stops when the environment's SSH address does not answer, naming it, before the SSH config is changed", async () => {
    // The fixture's address, 127.0.0.11:2222, has no sshd.
    const result = await runCli(['ssh', A, '--runner', 'enterprise', '--resolver', nowhere.server, '--', '-G'], {env})
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('error: cannot connect: the SSH address of api-backend (0199ec15-59d3) does not answer: 127.0.0.11:2222 refused the connection (no sshd listening)\n')
    expect(result.stderr).toMatch(/hint: .*--skip-preflight/)
    expect(await readFile(config, 'utf8')).toBe('')
  })

  it('connects when only endpoints off its path fail: each is a warning with its hint, then one summary line', async () => {
    // The gateway's names do not resolve on this network (a local DNS server that knows nothing).
    const dns = await startDns({}, 'nxdomain')
    sim.setSshAddress(A, {host: '127.0.0.11', port: await bannerServer(), user: 'gitpod_devcontainer'})
    let stderr = ''
    const err = new PassThrough().setEncoding('utf8')
    err.on('data', (chunk: string) => (stderr += chunk))
    const ctxEnv = {...env, ONA_SSH: 'true'}
    const ctx = createContext({env: ctxEnv, io: createIOStreams({out: new PassThrough(), err, isTTY: false, env: ctxEnv})})
    try {
      const code = await sshConnect(ctx, {target: A, apiUrl: sim.url, runner: 'standard', timeoutMs: 2000, resolver: createDnsResolver([dns.server]), interactive: false})
      expect(code).toBe(0)
    } finally {
      await dns.close()
    }
    expect(stderr).toMatch(/^warning: us01\.gitpod\.dev failed its dns check \(nxdomain[^\n]*\)\. The resolver says the name does not exist[^\n]+$/m)
    expect(stderr).toMatch(/^warning: eu01\.gitpod\.dev failed its dns check \(nxdomain[^\n]*\)$/m)
    expect(stderr).toMatch(/^warning: releases\.gitpod\.io failed its dns check \(nxdomain[^\n]*\)$/m)
    expect(stderr).toMatch(/^warning: \d+ network checks off this connection's path failed \(gateway, releases\); the API and the SSH address of api-backend \(0199ec15-59d3\) answer, so ona connects anyway\. `ona preflight` has the full report\.$/m)
    expect(stderr).not.toMatch(/error:/)
    expect(await readFile(config, 'utf8')).toContain(`Host ${A}.gitpod.environment`)
  })

  it('takes nothing after `--` as the environment (`ona ssh -- true` with no terminal is a usage error)', async () => {
    const result = await runCli(['ssh', '--', 'true'], {env})
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^error: no environment given\nhint: /)
    // The environment before `--`, ssh's arguments after it.
    const named = await runCli(['ssh', A, '--skip-preflight', '--', '-G'], {env})
    expect(named.code).toBe(0)
    expect(named.stdout).toMatch(new RegExp(`^host ${A}\\.gitpod\\.environment$`, 'm'))
  })

  it('--ide vscode opens `code --remote ssh-remote+<alias> <path>` instead of a shell', async () => {
    // VS Code is not installed here: a stand-in `code` on PATH records how it was called.
    const bin = path.join(home, 'bin')
    await mkdir(bin)
    await writeFile(path.join(bin, 'code'), `#!/bin/sh\nprintf '%s\\n' "$@" > "${path.join(home, 'code-args')}"\nexit 3\n`)
    await chmod(path.join(bin, 'code'), 0o755)
    const result = await runCli(['ssh', A, '--ide', 'vscode', '--path', '/workspaces/app', '--skip-preflight'], {env: {...env, PATH: `${bin}:${env.PATH}`}})
    expect(result.code).toBe(3)
    expect((await readFile(path.join(home, 'code-args'), 'utf8')).trim().split('\n')).toEqual(['--remote', `ssh-remote+${A}.gitpod.environment`, '/workspaces/app'])
  })
})

/**
 * releases.gitpod.io as a local network has it: the DNS server answers 127.0.0.12, where an HTTPS server with
 * a certificate from a per-run CA listens (the preflight dials its port instead of 443, trusting that CA).
 */
let pki: Pki
let releases: Closable & {port: number}
let releasesDns: Closable & {server: string; queries: string[]}
beforeAll(async () => {
  pki = createPki()
  releases = await startHttps('127.0.0.12', 0, pki.leaf('releases', {dns: ['releases.gitpod.io']}))
  releasesDns = await startDns({'releases.gitpod.io': {a: ['127.0.0.12']}})
})
afterAll(async () => {
  await Promise.all([releases.close(), releasesDns.close()])
  pki.cleanup()
})
const releasesUp = () => ({resolver: createDnsResolver([releasesDns.server]), overrides: {portMap: {443: releases.port}, ca: [pki.caCert]}})

/** `sshConnect` with ssh replaced by `true`: its exit code and what it said on stderr. */
async function connectQuietly(options: Partial<Parameters<typeof sshConnect>[1]>): Promise<{code: number; stderr: string}> {
  let stderr = ''
  const err = new PassThrough().setEncoding('utf8')
  err.on('data', (chunk: string) => (stderr += chunk))
  const ctxEnv = {...env, ONA_SSH: 'true'}
  const ctx = createContext({env: ctxEnv, io: createIOStreams({out: new PassThrough(), err, isTTY: false, env: ctxEnv})})
  const code = await sshConnect(ctx, {target: A, apiUrl: sim.url, runner: 'enterprise', timeoutMs: 2000, interactive: false, ...options})
  return {code, stderr}
}

describe('the release endpoints in the preflight before connecting', () => {
  it('are checked, and a pass is no warning (and is remembered)', async () => {
    sim.setSshAddress(A, {host: '127.0.0.11', port: await bannerServer(), user: 'gitpod_devcontainer'})
    const {resolver, overrides} = releasesUp()
    const from = releasesDns.queries.length
    const result = await connectQuietly({resolver, preflightOverrides: overrides})
    expect(result.code).toBe(0)
    expect(result.stderr).not.toMatch(/releases|network check|error:/)
    expect(releasesDns.queries.slice(from)).toContain('releases.gitpod.io/A')
    expect(JSON.parse(await readFile(path.join(home, '.local', 'state', 'ona', 'preflight-cache.json'), 'utf8'))).toMatchObject({passedAt: expect.any(Number)})
  })

  it('that fail are a warning with one summary line, and ona connects', async () => {
    sim.setSshAddress(A, {host: '127.0.0.11', port: await bannerServer(), user: 'gitpod_devcontainer'})
    // The name resolves to an address where nothing listens on the release port.
    const dns = await startDns({'releases.gitpod.io': {a: ['127.0.0.13']}})
    try {
      const result = await connectQuietly({resolver: createDnsResolver([dns.server]), preflightOverrides: {portMap: {443: releases.port}, ca: [pki.caCert]}})
      expect(result.code).toBe(0)
      expect(result.stderr).toMatch(new RegExp(`^warning: releases\\.gitpod\\.io:443 failed its tcp check \\(127\\.0\\.0\\.13:${releases.port} refused the connection[^\\n]*$`, 'm'))
      expect(result.stderr).toMatch(/^warning: 1 network check off this connection's path failed \(releases\); the API and the SSH address of api-backend \(0199ec15-59d3\) answer, so ona connects anyway\. `ona preflight` has the full report\.$/m)
      expect(result.stderr).not.toMatch(/error:/)
    } finally {
      await dns.close()
    }
    expect(await readFile(config, 'utf8')).toContain(`Host ${A}.gitpod.environment`)
    // A failure is not remembered.
    await expect(readFile(path.join(home, '.local', 'state', 'ona', 'preflight-cache.json'), 'utf8')).rejects.toThrow(/ENOENT/)
  })
})

describe('quick preflight cache', () => {
  it('reuses a pass within five minutes, re-checks after, and never caches a failure', async () => {
    let now = 1_000_000
    const ctx = createContext({env: {HOME: home}, clock: {now: () => now}})
    const server = net.createServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    const apiUrl = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/api`
    const options = {apiUrl, runner: 'enterprise' as const, timeoutMs: 1000, ...releasesUp()}

    const first = await quickPreflight(ctx, options)
    expect(first).toMatchObject({ok: true, fromCache: false})
    await new Promise<void>((resolve) => server.close(() => resolve()))

    now += PREFLIGHT_CACHE_TTL_MS - 1000
    expect(await quickPreflight(ctx, options)).toEqual({ok: true, fromCache: true})
    // Another API URL is another network path.
    expect((await quickPreflight(ctx, {...options, apiUrl: `${apiUrl}x`})).fromCache).toBe(false)

    now += 2000
    const expired = await quickPreflight(ctx, options)
    expect(expired).toMatchObject({ok: false, fromCache: false})
    expect(expired.report?.checks.find((c) => c.id === 'management.api/tcp')?.status).toBe('fail')
    expect((await quickPreflight(ctx, options)).fromCache).toBe(false)
  })
})
