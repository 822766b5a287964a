import {describe, expect, it} from 'vitest'

import type {CheckResult, PreflightReport} from '../../src/lib/preflight/types.js'
import {offPathSummary, offPathWarnings, preflightError, splitPreflightFailures} from '../../src/lib/ssh/connect.js'

const check = (kind: CheckResult['kind'], detail: string, hint: string | null, status: CheckResult['status'] = 'fail'): CheckResult => ({
  id: `management.app-gitpod-io/${kind}`,
  endpoint: 'management.app-gitpod-io',
  category: 'management',
  kind,
  target: 'app.gitpod.io:443',
  required: true,
  status,
  latencyMs: 1,
  detail,
  hint,
})

const report = (checks: CheckResult[]) => ({checks}) as unknown as PreflightReport

describe('the error ona ssh stops with after a failed quick preflight', () => {
  it('regression: behind a refusing proxy it names the proxy, not the direct DNS failure listed first', () => {
    const error = preflightError(
      report([
        check('dns', 'NXDOMAIN', 'check your DNS resolver'),
        check('proxy', 'proxy 127.0.0.1:9 refused the connection (ECONNREFUSED)', 'check the host and port in HTTPS_PROXY'),
      ]),
    )
    expect(error.code).toBe('ERR_PREFLIGHT_FAILED')
    expect(error.message).toBe('cannot connect: app.gitpod.io:443 failed its proxy check (proxy 127.0.0.1:9 refused the connection (ECONNREFUSED)) and 1 more check(s) failed')
    expect(error.hint).toMatch(/^check the host and port in HTTPS_PROXY /)
  })

  it('without a proxy failure it names the first failure', () => {
    const error = preflightError(report([check('proxy', 'ok', null, 'pass'), check('dns', 'NXDOMAIN', 'check your DNS resolver'), check('tcp', 'refused', null)]))
    expect(error.message).toBe('cannot connect: app.gitpod.io:443 failed its dns check (NXDOMAIN) and 1 more check(s) failed')
    expect(error.hint).toMatch(/^check your DNS resolver /)
  })
})

describe("which failures stop ona ssh: only its own path", () => {
  const at = (endpoint: string, category: CheckResult['category'], kind: CheckResult['kind'], status: CheckResult['status'] = 'fail', required = true): CheckResult => ({
    ...check(kind, `${kind} failed`, `fix the ${kind}`, status),
    id: `${endpoint}/${kind}`,
    endpoint,
    category,
    target: `${endpoint}:443`,
    required,
  })

  it.each([
    ['the API failing stops it', [at('management.api', 'management', 'tcp')], ['management.api/tcp'], []],
    ['the gateway failing does not', [at('gateway.us01-api', 'gateway', 'dns')], [], ['gateway.us01-api/dns']],
    ['an IDE endpoint failing does not', [at('vscode.update', 'vscode', 'tls')], [], ['vscode.update/tls']],
    ['a proxy failure on the API path stops it', [at('management.api', 'management', 'proxy'), at('gateway.eu01-api', 'gateway', 'dns')], ['management.api/proxy'], ['gateway.eu01-api/dns']],
    ['passes, warnings and optional failures are neither', [at('management.api', 'management', 'tcp', 'pass'), at('gateway.us01-lighthouse', 'gateway', 'udp', 'unknown'), at('releases.gitpod', 'releases', 'tls', 'fail', false)], [], []],
  ])('%s', (_, checks, blocking, other) => {
    const split = splitPreflightFailures(report(checks))
    expect(split.blocking.map((c) => c.id)).toEqual(blocking)
    expect(split.other.map((c) => c.id)).toEqual(other)
  })

  it('stops with the failure on its path, not the first failure of the report', () => {
    const checks = [at('gateway.us01-api', 'gateway', 'dns'), at('management.api', 'management', 'tcp')]
    const error = preflightError(report(checks), splitPreflightFailures(report(checks)).blocking)
    expect(error.message).toBe('cannot connect: management.api:443 failed its tcp check (tcp failed)')
  })

  it('words each warning with its hint, and one summary line naming the categories', () => {
    const checks = [at('gateway.us01-api', 'gateway', 'dns'), at('gateway.eu01-api', 'gateway', 'dns'), at('vscode.update', 'vscode', 'tls')]
    expect(offPathWarnings(checks)).toEqual([
      'gateway.us01-api:443 failed its dns check (dns failed). fix the dns',
      // The same hint is said once.
      'gateway.eu01-api:443 failed its dns check (dns failed)',
      'vscode.update:443 failed its tls check (tls failed). fix the tls',
    ])
    expect(offPathSummary(checks, 'api (0199ec15-59d3)')).toBe(
      "3 network checks off this connection's path failed (gateway, vscode); the API and the SSH address of api (0199ec15-59d3) answer, so ona connects anyway. `ona preflight` has the full report.",
    )
  })
})
