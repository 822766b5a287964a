import {describe, expect, it} from 'vitest'

import type {CheckResult, PreflightReport} from '../../src/lib/preflight/types.js'
import {preflightError} from '../../src/lib/ssh/connect.js'

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
