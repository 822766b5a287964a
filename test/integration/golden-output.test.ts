/**
 * The human output of `ona ssh-sync`, `ona preflight` and the common runtime errors, through the built
 * CLI against the simulator on 127.0.0.1, locked by golden files (test/golden/output/; scratch dirs,
 * ports, times and versions normalised; UPDATE_GOLDEN=1 regenerates them).
 */
import {existsSync} from 'node:fs'
import net from 'node:net'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {expectGolden, normalise} from '../helpers/golden.js'
import {startDns} from '../helpers/preflight-net.js'
import {baseEnv, builtCli, repoRoot, runCli} from '../helpers/run-cli.js'
import {waitFor} from '../helpers/wait-for.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const B = '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'

let home: string
let sim: Simulator
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-golden-'))
  await mkdir(path.join(home, '.ssh'), {mode: 0o700})
  await writeFile(path.join(home, '.ssh', 'config'), 'Host github.com\n  User git\n', {mode: 0o600})
  sim = await startSimulator({seed: path.join(repoRoot, 'fixtures', 'environments.json')})
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

const env = (extra: Record<string, string> = {}) => baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ...extra})
// ssh reads its config from the passwd home, which is not the scratch HOME: sync says so (issue 21).
const norm = (text: string) => normalise(text, {dirs: [home], replace: [[sim.url, '<API>'], [`${os.userInfo().homedir}/.ssh/config`, '<PASSWD_HOME>/.ssh/config']]})
/** Both streams, as a user sees them in a terminal (stderr lines marked). */
const shown = (r: {stdout: string; stderr: string; code: number | null}) => norm(`${r.stdout}${r.stderr.replace(/^(.)/gm, '[stderr] $1')}[exit ${r.code}]\n`)

async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const {port} = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Waits until ona's key, registered by a sync, is READY on each of these environments in the simulator. */
async function keysReady(ids: string[]): Promise<void> {
  await waitFor(async () => ids.every((id) => {
    const keys = (sim.environmentJson(id) as {status?: {sshPublicKeys?: Array<{phase?: string}>}} | undefined)?.status?.sshPublicKeys ?? []
    return keys.length > 0 && keys.every((k) => k.phase === 'CONTENT_PHASE_READY')
  }), 10_000, `ona's key READY on ${ids.join(', ')}`)
}

/** Runs ona commands in turn, each one's output under a `$ ona ...    # title` line, as the golden files show them. */
function transcript() {
  const steps: string[] = []
  const step = async (title: string, args: string[]) => {
    const r = await runCli(args, {env: env()})
    steps.push(`$ ona ${args.join(' ')}    # ${title}\n${shown(r)}`)
    return r
  }
  return {steps, step}
}

describe.skipIf(!builtCli)('golden human output (built CLI)', () => {
  it('ssh-sync: first sync, no-op, an IP change as a dry-run diff and as a write, a stop, --check, --remove', async () => {
    const {steps, step} = transcript()
    expect((await step('first sync', ['ssh-sync'])).code).toBe(0)
    // The key the first sync registered turns READY in the simulator after a delay, which is one more
    // statusVersion: wait for it, so that the address change below is the version the golden file shows
    // (a no-op sync can be done before that delay is).
    await keysReady([A])
    await step('nothing changed', ['ssh-sync'])
    sim.setSshAddress(A, {host: '127.0.0.77', port: 2222})
    await step('an IP change, previewed', ['ssh-sync', '--dry-run'])
    await step('out of date', ['ssh-sync', '--check'])
    await step('an IP change, written', ['ssh-sync'])
    sim.stopEnvironment(B)
    await step('a stopped environment', ['ssh-sync'])
    await step('the block taken out', ['ssh-sync', '--remove'])
    expectGolden('output/ssh-sync.txt', steps.join('\n'))
  })

  it('ssh-sync: friendly aliases with a collision, --ssh-option previewed and written, a refused option (issue 19)', async () => {
    const {steps, step} = transcript()
    sim.addEnvironment({id: '0199ec15-f00d-7d99-a5c4-9b3a7c2d8e57', name: 'Web Frontend', phase: 'ENVIRONMENT_PHASE_RUNNING', statusVersion: 1, ssh: {user: 'gitpod_devcontainer', host: '127.0.0.15', port: 22}})
    expect((await step('friendly aliases, two environments named alike', ['ssh-sync', '--friendly-aliases'])).code).toBe(0)
    // As above: the statusVersions the next write records are those after the keys turned READY.
    await keysReady([A, B, '0199ec15-b2c7-7f55-a1e0-5d9c3e8f4a13', '0199ec15-f00d-7d99-a5c4-9b3a7c2d8e57'])
    sim.renameEnvironment(A, 'Payments API')
    await step('a rename moves the alias', ['ssh-sync'])
    await step('an option, previewed', ['ssh-sync', '--dry-run', '--ssh-option', 'ServerAliveInterval=30'])
    await step('options written', ['ssh-sync', '--ssh-option', 'ServerAliveInterval=30', '--ssh-option', 'LocalForward=8080 localhost:8080'])
    await step('a refused option', ['ssh-sync', '--ssh-option', 'StrictHostKeyChecking=no'])
    expectGolden('output/ssh-sync-conveniences.txt', steps.join('\n'))
  })

  it('errors: not logged in, a rejected token, an unreachable API, a broken marker', async () => {
    const port = await closedPort()
    const runs: Array<[string, string[], Record<string, string>]> = [
      ['not logged in', ['ssh-sync'], {ONA_TOKEN: ''}],
      ['a rejected token', ['whoami'], {ONA_TOKEN: 'ona_pat_wrong_wrong_wrong'}],
      ['an unreachable API', ['ssh-sync'], {ONA_API_URL: `http://127.0.0.1:${port}/api`, ONA_TEST_RETRY_MS: '1'}],
    ]
    const out: string[] = []
    for (const [title, args, extra] of runs) {
      const r = await runCli(args, {env: env(extra), timeoutMs: 60_000})
      expect(r.code).not.toBe(0)
      out.push(`$ ona ${args.join(' ')}    # ${title}\n${shown(r).replaceAll(String(port), '<CLOSED>')}`)
    }
    // Regression: a mistyped token at login was "expired or revoked".
    const typo = await runCli(['login', '--token-stdin'], {env: env({ONA_TOKEN: ''}), input: `${sim.token.slice(0, -3)}\n`})
    expect(typo.code).toBe(4)
    expect(typo.stderr).toContain('did not accept this token; nothing was stored')
    expect(typo.stderr).toContain('pasted the whole personal access token')
    expect(typo.stderr).not.toContain('expired or was revoked')
    out.push(`$ ona login --token-stdin    # a token with its last characters missing\n${shown(typo)}`)
    await writeFile(path.join(home, '.ssh', 'config'), '# BEGIN ona ssh-sync\nHost x\n', {mode: 0o600})
    const broken = await runCli(['ssh-sync'], {env: env()})
    out.push(`$ ona ssh-sync    # a block without its END marker\n${shown(broken)}`)
    expectGolden('output/errors.txt', out.join('\n'))
  }, 120_000)

  // Regression: "the original file was left as it was" when there was no file. sysfs refuses new files
  // even to root, so this needs no permission trick.
  it.skipIf(!existsSync('/sys/kernel'))('a config that cannot be created does not claim an original file was kept', async () => {
    const r = await runCli(['ssh-sync', '--ssh-config', '/sys/ona-test-config'], {env: env()})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: cannot write \/sys\/ona-test-config \(E[A-Z]+\)/)
    expect(r.stderr).not.toContain('original file')
    expect(r.stderr).toMatch(/no file was created|the SSH config was not changed/)
  })

  it('preflight: the table for a reachable endpoint and a refused one', async () => {
    const port = await closedPort()
    await mkdir(path.join(home, '.config', 'ona'), {recursive: true})
    await writeFile(
      path.join(home, '.config', 'ona', 'preflight.json'),
      JSON.stringify({endpoints: [{url: sim.url.replace(/\/api$/, ''), purpose: 'the simulator'}, {host: '127.0.0.1', port, protocol: 'tcp', purpose: 'nothing listens here'}]}),
    )
    const r = await runCli(['preflight', '--only', 'custom', '--timeout', '2s'], {env: env()})
    expect(r.code).toBe(1)
    // Durations vary in width, so the column padding around them does too.
    const table = shown(r).replaceAll(String(port), '<CLOSED>').replace(/ in \d+\.\d s$/m, ' in <N> s').replace(/ {2,}/g, '  ')
    expectGolden('output/preflight.txt', table)
  })

  // Regression (issue 13): behind a proxy that refuses connections the row showed the DNS failure (the
  // direct path, which a proxied network is expected to lack) and hid the refused proxy, the real cause.
  it('preflight: a refused proxy is what the row shows, with its hint, not the DNS line', async () => {
    const proxyPort = await closedPort()
    const dns = await startDns({}, 'nxdomain')
    try {
      await mkdir(path.join(home, '.config', 'ona'), {recursive: true})
      await writeFile(path.join(home, '.config', 'ona', 'preflight.json'), JSON.stringify({endpoints: [{url: 'https://api.behind-proxy.test', purpose: 'reached through the proxy'}]}))
      const r = await runCli(['preflight', '--only', 'custom', '--timeout', '2s', '--resolver', dns.server], {env: env({HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`})})
      expect(r.code).toBe(1)
      const row = r.stdout.split('\n').find((line) => line.includes('api.behind-proxy.test:443')) ?? ''
      expect(row).toMatch(/dns:fail .*proxy:fail/)
      expect(row).toContain(`proxy http://127.0.0.1:${proxyPort} refused the connection (ECONNREFUSED)`)
      expect(row).not.toContain('nxdomain')
      expect(r.stdout).toContain('hint: Nothing accepts connections at the proxy address')
      const table = shown(r).replaceAll(String(proxyPort), '<CLOSED>').replaceAll(dns.server, '<RESOLVER>').replace(/ in \d+\.\d s$/m, ' in <N> s').replace(/ {2,}/g, '  ')
      expectGolden('output/preflight-proxy.txt', table)
    } finally {
      await dns.close()
    }
  })
})
