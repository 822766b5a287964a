/**
 * `ona preflight` as a user runs it: the built CLI, a scratch HOME with a preflight.json, the test CA
 * trusted through NODE_EXTRA_CA_CERTS (as a user behind a corporate CA would), and --resolver pointing
 * at a local DNS server. Only the user's endpoints are dialled (`--only custom`).
 */
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import net from 'node:net'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {PreflightReport} from '../../src/lib/preflight/types.js'
import {createPki, startBlackHole, startDns, startHttps, type Closable, type Pki} from '../helpers/preflight-net.js'
import {baseEnv, builtCli, runCli} from '../helpers/run-cli.js'

let pki: Pki
let home: string
let caFile: string
let dnsServer: string
let goodPort: number
let expiredPort: number
let holePort: number
const closers: Closable[] = []

function writeEndpoints(endpoints: unknown[]): void {
  const dir = path.join(home, '.config', 'ona')
  mkdirSync(dir, {recursive: true})
  writeFileSync(path.join(dir, 'preflight.json'), JSON.stringify({endpoints}))
}

function env(): NodeJS.ProcessEnv {
  return baseEnv(home, {NODE_EXTRA_CA_CERTS: caFile})
}

beforeAll(async () => {
  if (!builtCli) throw new Error('run `npm run build` first: these tests run bin/run.js')
  pki = createPki()
  home = mkdtempSync(path.join(os.tmpdir(), 'ona-preflight-cli-'))
  caFile = path.join(pki.dir, 'ca.pem')
  const good = await startHttps('127.0.0.31', 0, pki.leaf('git', {dns: ['git.corp.test']}))
  const expired = await startHttps('127.0.0.32', 0, pki.leaf('old', {dns: ['old.corp.test'], expired: true}))
  const hole = await startBlackHole('127.0.0.33')
  const dns = await startDns({'git.corp.test': {a: ['127.0.0.31']}, 'old.corp.test': {a: ['127.0.0.32']}, 'hole.corp.test': {a: ['127.0.0.33']}, 'mute.corp.test': 'silent'})
  closers.push(good, expired, hole, dns)
  holePort = hole.port
  goodPort = good.port
  expiredPort = expired.port
  dnsServer = dns.server
})

afterAll(async () => {
  await Promise.all(closers.map((c) => c.close()))
  pki?.cleanup()
  if (home) rmSync(home, {recursive: true, force: true})
})

describe('ona preflight (built CLI)', () => {
  it('passes and exits 0 when every endpoint of the user file is reachable, in the table and in --json', async () => {
    writeEndpoints([{url: `https://git.corp.test:${goodPort}`, purpose: 'SCM'}])
    const table = await runCli(['preflight', '--only', 'custom', '--resolver', dnsServer, '--timeout', '3s'], {env: env()})
    expect(table.stderr).toBe('')
    expect(table.code).toBe(0)
    expect(table.stdout).toContain('Your endpoints')
    expect(table.stdout).toMatch(new RegExp(`PASS  git\\.corp\\.test:${goodPort}`))
    expect(table.stdout).toMatch(/preflight passed/)

    const json = await runCli(['preflight', '--only', 'custom', '--resolver', dnsServer, '--timeout', '3s', '--json'], {env: env()})
    expect(json.code).toBe(0)
    const report = JSON.parse(json.stdout) as PreflightReport
    expect(report).toMatchObject({schemaVersion: 1, verdict: 'pass', exitCode: 0, resolver: dnsServer, only: ['custom']})
    expect(report.checks.find((c) => c.id === `custom.git-corp-test-${goodPort}/tls`)?.status).toBe('pass')
  })

  it('exits 1 when a required endpoint fails, in the table and in --json alike', async () => {
    writeEndpoints([{url: `https://git.corp.test:${goodPort}`}, {url: `https://old.corp.test:${expiredPort}`, id: 'old'}])
    // The old form (plain milliseconds) still works, with a deprecation note on stderr.
    const table = await runCli(['preflight', '--only', 'custom', '--resolver', dnsServer, '--timeout', '3000'], {env: env()})
    expect(table.stderr).toBe('warning: --timeout 3000: a plain number means seconds now, as on every time flag; read as 3000ms as before (write 3000ms or 3s)\n')
    expect(table.code).toBe(1)
    expect(table.stdout).toMatch(/FAIL  old\.corp\.test/)
    expect(table.stdout).toMatch(/certificate expired/)
    expect(table.stdout).toMatch(/preflight failed: required checks failed \(custom\.old\/tls\)/)

    const json = await runCli(['preflight', '--only', 'custom', '--resolver', dnsServer, '--timeout', '3s', '--json'], {env: env()})
    expect(json.code).toBe(1)
    const report = JSON.parse(json.stdout) as PreflightReport
    expect(report.verdict).toBe('fail')
    expect(report.checks.find((c) => c.id === 'custom.old/tls')).toMatchObject({status: 'fail', required: true})
  })

  it('the process itself exits within about one timeout when connects and DNS black-hole', async () => {
    writeEndpoints([{url: `https://hole.corp.test:${holePort}`, id: 'hole'}, {url: 'https://mute.corp.test', id: 'mute'}])
    const timeoutMs = 2000
    const result = await runCli(['preflight', '--only', 'custom', '--resolver', dnsServer, '--timeout', `${timeoutMs}ms`, '--json'], {env: env()})
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout) as PreflightReport
    expect(report.checks.find((c) => c.id === 'custom.hole/tcp')?.detail).toMatch(/no answer .* within/)
    expect(report.checks.find((c) => c.id === 'custom.mute/dns')?.detail).toMatch(/^timeout/)
    expect(report.durationMs).toBeLessThan(timeoutMs * 1.2)
    // Generous: the run plus Node and oclif start-up; nothing may hold the process open after the report.
    expect(result.ms).toBeLessThan(timeoutMs + 3000)
  })

  it('a malformed preflight.json is a usage error naming the entry', async () => {
    writeEndpoints([{url: 'https://fine.test'}, {host: 'x.test', port: 'eighty'}])
    const result = await runCli(['preflight', '--only', 'custom'], {env: env()})
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/error: .*preflight\.json: endpoints\[1\]: port/)
    expect(result.stderr).toMatch(/hint: Fix the named entry/)
  })

  it('checks the API in use as the management plane: an enterprise install is not judged by the public ones', async () => {
    writeEndpoints([])
    // A management plane that answers, on loopback: the configured API (ONA_API_URL).
    const api = net.createServer((socket) => socket.end())
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', () => resolve()))
    const apiUrl = `http://127.0.0.1:${(api.address() as net.AddressInfo).port}/api`
    try {
      const result = await runCli(['preflight', '--only', 'management', '--resolver', dnsServer, '--timeout', '3s', '--json'], {env: {...env(), ONA_API_URL: apiUrl}})
      expect(result.code).toBe(0)
      const report = JSON.parse(result.stdout) as PreflightReport
      expect(report.endpoints.map((e) => e.id)).toEqual(['management.api'])
      expect(report.endpoints[0]).toMatchObject({host: '127.0.0.1', status: 'pass', purpose: `management-plane API (${new URL(apiUrl).origin})`})

      // Asked for, the public planes are checked too (here they do not resolve, so the run fails).
      const both = await runCli(['preflight', '--only', 'management', '--resolver', dnsServer, '--timeout', '3s', '--api-url', apiUrl, '--public-management', '--json'], {env: env()})
      const ids = (JSON.parse(both.stdout) as PreflightReport).endpoints.map((e) => e.id).sort()
      expect(ids).toEqual(['management.api', 'management.app-gitpod-io', 'management.app-ona-com'])
      expect(both.code).toBe(1)
    } finally {
      await new Promise<void>((resolve) => api.close(() => resolve()))
    }
  })

  it('a bad --resolver is a usage error', async () => {
    writeEndpoints([])
    const result = await runCli(['preflight', '--only', 'custom', '--resolver', 'dns.example'], {env: env()})
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/--resolver dns\.example: not an IP address/)
  })
})
