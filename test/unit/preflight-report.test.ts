import {PassThrough} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {createIOStreams} from '../../src/lib/io.js'
import type {Catalog} from '../../src/lib/preflight/catalog.js'
import type {DnsResolver} from '../../src/lib/preflight/dns.js'
import {classifyAccess, isPrivateAddress} from '../../src/lib/preflight/probes.js'
import {createProgress, renderReport} from '../../src/lib/preflight/render.js'
import {runPreflight, worstStatus} from '../../src/lib/preflight/run.js'
import type {PreflightReport} from '../../src/lib/preflight/types.js'

/** Answers NXDOMAIN for everything without touching the network, and records what it was asked. */
function nxResolver(): DnsResolver & {asked: string[]} {
  const asked: string[] = []
  return {
    description: 'test resolver',
    asked,
    async resolve(host) {
      asked.push(host)
      return {ok: false, failure: 'nxdomain', message: 'the name does not exist (NXDOMAIN)'}
    },
  }
}

const tinyCatalog: Catalog = {
  version: 1,
  sources: {a: {title: 'Page A'}},
  categories: {},
  endpoints: [
    {id: 'management.app', category: 'management', protocol: 'https', host: 'app.example', port: 443, purpose: 'p', when: {}, urls: ['https://app.example'], sources: ['a']},
    {id: 'gateway.lh', category: 'gateway', protocol: 'udp', host: 'lh.example', port: 4242, purpose: 'p', when: {runner: 'standard'}, urls: ['lh.example:4242'], sources: ['a']},
    {id: 'gateway.api', category: 'gateway', protocol: 'https', host: 'gw.example', port: 8443, purpose: 'p', when: {runner: 'standard'}, urls: ['https://gw.example:8443'], sources: ['a'], note: 'n'},
  ],
}

function normalise(report: PreflightReport): unknown {
  return {...report, startedAt: '<time>', durationMs: 0, checks: report.checks.map((c) => ({...c, latencyMs: c.latencyMs === null ? null : '<ms>'}))}
}

describe('preflight --json shape', () => {
  it('is locked: field names, order of checks and values for a small catalog', async () => {
    const resolver = nxResolver()
    const report = await runPreflight({catalog: tinyCatalog, timeoutMs: 1000, runner: 'enterprise', resolver, env: {}, onAws: false})
    expect(resolver.asked).toEqual(['app.example'])
    expect(normalise(report)).toEqual({
      schemaVersion: 1,
      verdict: 'fail',
      exitCode: 1,
      startedAt: '<time>',
      durationMs: 0,
      timeoutMs: 1000,
      runner: 'enterprise',
      ide: 'all',
      only: null,
      region: null,
      accountId: null,
      resolver: 'test resolver',
      onAws: false,
      proxy: {url: null, noProxy: null},
      counts: {pass: 0, warn: 0, fail: 1, skip: 8, unknown: 0},
      sources: {a: 'Page A'},
      endpoints: [
        {id: 'management.app', category: 'management', protocol: 'https', host: 'app.example', probeHost: 'app.example', port: 443, purpose: 'p', required: true, status: 'fail', access: null, addresses: [], sources: ['a'], note: null},
        {id: 'gateway.lh', category: 'gateway', protocol: 'udp', host: 'lh.example', probeHost: 'lh.example', port: 4242, purpose: 'p', required: false, status: 'skip', access: null, addresses: [], sources: ['a'], note: null},
        {id: 'gateway.api', category: 'gateway', protocol: 'https', host: 'gw.example', probeHost: 'gw.example', port: 8443, purpose: 'p', required: true, status: 'skip', access: null, addresses: [], sources: ['a'], note: 'n'},
      ],
      checks: [
        {id: 'proxy/no-proxy', endpoint: null, category: 'proxy', kind: 'no-proxy', target: 'NO_PROXY', required: false, status: 'skip', latencyMs: null, detail: 'no proxy configured (https_proxy / HTTPS_PROXY unset)', hint: null},
        {id: 'management.app/dns', endpoint: 'management.app', category: 'management', kind: 'dns', target: 'app.example', required: true, status: 'fail', latencyMs: '<ms>', detail: 'nxdomain: the name does not exist (NXDOMAIN) (test resolver)', hint: expect.stringMatching(/does not exist/)},
        {id: 'management.app/tcp', endpoint: 'management.app', category: 'management', kind: 'tcp', target: 'app.example:443', required: true, status: 'skip', latencyMs: null, detail: 'not run: DNS failed', hint: null},
        {id: 'management.app/tls', endpoint: 'management.app', category: 'management', kind: 'tls', target: 'app.example:443', required: true, status: 'skip', latencyMs: null, detail: 'not run: DNS failed', hint: null},
        {id: 'gateway.lh/dns', endpoint: 'gateway.lh', category: 'gateway', kind: 'dns', target: 'lh.example', required: false, status: 'skip', latencyMs: null, detail: 'not needed by enterprise runners (they connect directly, without the gateway)', hint: 'use --runner standard to check it'},
        {id: 'gateway.lh/udp', endpoint: 'gateway.lh', category: 'gateway', kind: 'udp', target: 'lh.example:4242', required: false, status: 'skip', latencyMs: null, detail: 'not needed by enterprise runners (they connect directly, without the gateway)', hint: 'use --runner standard to check it'},
        {id: 'gateway.api/dns', endpoint: 'gateway.api', category: 'gateway', kind: 'dns', target: 'gw.example', required: true, status: 'skip', latencyMs: null, detail: 'not needed by enterprise runners (they connect directly, without the gateway)', hint: 'use --runner standard to check it'},
        {id: 'gateway.api/tcp', endpoint: 'gateway.api', category: 'gateway', kind: 'tcp', target: 'gw.example:8443', required: true, status: 'skip', latencyMs: null, detail: 'not needed by enterprise runners (they connect directly, without the gateway)', hint: 'use --runner standard to check it'},
        {id: 'gateway.api/tls', endpoint: 'gateway.api', category: 'gateway', kind: 'tls', target: 'gw.example:8443', required: true, status: 'skip', latencyMs: null, detail: 'not needed by enterprise runners (they connect directly, without the gateway)', hint: 'use --runner standard to check it'},
      ],
    })
  })

  it('an optional endpoint that fails warns without failing the run', async () => {
    const catalog: Catalog = {...tinyCatalog, endpoints: [{...tinyCatalog.endpoints[0]!, when: {optional: true}}]}
    const report = await runPreflight({catalog, timeoutMs: 1000, resolver: nxResolver(), env: {}, onAws: false, only: ['management']})
    expect(report.checks.map((c) => c.id)).toEqual(['management.app/dns', 'management.app/tcp', 'management.app/tls'])
    expect(report).toMatchObject({verdict: 'warn', exitCode: 0})
  })
})

describe('worstStatus and access classification', () => {
  it.each<[Parameters<typeof worstStatus>[0], string]>([
    [['pass', 'fail', 'warn'], 'fail'],
    [['pass', 'unknown', 'warn'], 'unknown'],
    [['pass', 'warn', 'skip'], 'warn'],
    [['skip', 'pass'], 'pass'],
    [['skip'], 'skip'],
    [[], 'skip'],
  ])('worst of %j is %s', (statuses, expected) => {
    expect(worstStatus(statuses)).toBe(expected)
  })

  it.each<[string[], string | null]>([
    [['10.0.0.5'], 'vpc_endpoint'],
    [['172.31.255.1', '192.168.1.1'], 'vpc_endpoint'],
    [['100.64.0.1', 'fd12::1'], 'vpc_endpoint'],
    [['52.94.1.1'], 'public'],
    [['172.32.0.1'], 'public'],
    [['2600:1f18::1'], 'public'],
    [['10.0.0.5', '52.94.1.1'], 'mixed'],
    [[], null],
  ])('addresses %j are %s', (addresses, expected) => {
    expect(classifyAccess(addresses)).toBe(expected)
  })

  it('a host name is never private', () => {
    expect(isPrivateAddress('10.example.com')).toBe(false)
  })
})

describe('human output', () => {
  function streams(isTTY: boolean, env: NodeJS.ProcessEnv = {}) {
    const out = new PassThrough()
    const err = new PassThrough()
    let outText = ''
    let errText = ''
    out.on('data', (c: Buffer) => (outText += c.toString()))
    err.on('data', (c: Buffer) => (errText += c.toString()))
    return {io: createIOStreams({out, err, isTTY, env}), text: () => ({out: outText, err: errText})}
  }

  it('groups endpoints by category, folds skipped ones into one line per reason and ends with the verdict', async () => {
    const report = await runPreflight({catalog: tinyCatalog, timeoutMs: 1000, runner: 'enterprise', resolver: nxResolver(), env: {}, onAws: false})
    const {io} = streams(false)
    const text = renderReport(report, io)
    expect(text).toContain('Management plane\n  FAIL  app.example:443')
    expect(text).toContain('dns:fail tcp:skip tls:skip')
    expect(text).toMatch(/hint: The resolver says the name does not exist/)
    expect(text).toContain('Gateway API (standard runners)\n  SKIP  lh.example, gw.example: not needed by enterprise runners')
    expect(text.split('\n').at(-1)).toMatch(/^preflight failed: required checks failed \(management\.app\/dns\); 0 passed, 1 failed, 0 warnings, 0 unknown, 8 skipped in \d+\.\d s$/)
    expect(text).not.toContain('\u001B[')
  })

  it('paints statuses on a colour terminal, and NO_COLOR turns colour off', async () => {
    const report = await runPreflight({catalog: tinyCatalog, timeoutMs: 1000, resolver: nxResolver(), env: {}, onAws: false, only: ['management']})
    expect(renderReport(report, streams(true, {TERM: 'xterm'}).io)).toContain('\u001B[31mFAIL\u001B[0m')
    expect(renderReport(report, streams(true, {TERM: 'xterm', NO_COLOR: '1'}).io)).not.toContain('\u001B[')
  })

  it('shows live progress on stderr only on a terminal, and clears it', async () => {
    const tty = streams(true)
    const progress = createProgress(tty.io)
    await runPreflight({catalog: tinyCatalog, timeoutMs: 1000, resolver: nxResolver(), env: {}, onAws: false, onCheck: progress.onCheck})
    progress.clear()
    expect(tty.text().err).toMatch(/\r\u001B\[2Kchecking 1\/\d+/)
    expect(tty.text().err).toMatch(/checking \d+\/\d+, 1 failed/)
    expect(tty.text().err.endsWith('\r\u001B[2K')).toBe(true)
    expect(tty.text().out).toBe('')

    const pipe = streams(false)
    const quiet = createProgress(pipe.io)
    await runPreflight({catalog: tinyCatalog, timeoutMs: 1000, resolver: nxResolver(), env: {}, onAws: false, onCheck: quiet.onCheck})
    quiet.clear()
    expect(pipe.text().err).toBe('')
  })
})
