import net from 'node:net'
/**
 * Preflight against a real network on loopback: the shipped catalog, with its hosts mapped by a local
 * DNS server to 127.0.0.x, TLS servers signed by a per-run CA, a TCP black hole, CONNECT proxies and
 * fake UDP lighthouses. Nothing leaves 127.0.0.0/8.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {loadCatalog, type Catalog, type CatalogEndpoint} from '../../src/lib/preflight/catalog.js'
import {createDnsResolver} from '../../src/lib/preflight/dns.js'
import {classifyAccess, probeProxy, probeUdp} from '../../src/lib/preflight/probes.js'
import {runPreflight} from '../../src/lib/preflight/run.js'
import type {CheckResult, PreflightReport} from '../../src/lib/preflight/types.js'
import {
  closedUdpPort,
  createPki,
  startBlackHole,
  startConnectProxy,
  startDns,
  startHttps,
  startInspectingProxy,
  startLighthouse,
  startSilentTcp,
  type Closable,
  type Pki,
} from '../helpers/preflight-net.js'

const closers: Closable[] = []
let pki: Pki
let catalog: Catalog

function check(report: PreflightReport, id: string): CheckResult {
  const found = report.checks.find((c) => c.id === id)
  if (!found) throw new Error(`no check ${id}; have ${report.checks.map((c) => c.id).join(', ')}`)
  return found
}

beforeAll(async () => {
  pki = createPki()
  catalog = await loadCatalog()
})

afterAll(async () => {
  await Promise.all(closers.map((c) => c.close()))
  pki?.cleanup()
})

describe('preflight of the management plane and gateway from the shipped catalog', () => {
  let report: PreflightReport
  let dnsQueries: string[]

  beforeAll(async () => {
    // One TLS port shared by every 127.0.0.x address, so 443 and 8443 both map to it.
    const good = await startHttps('127.0.0.11', 0, pki.leaf('app', {dns: ['app.gitpod.io']}))
    const port = good.port
    closers.push(good)
    closers.push(await startHttps('127.0.0.12', port, pki.leaf('expired', {dns: ['us01.gitpod.dev'], expired: true})))
    closers.push(await startHttps('127.0.0.13', port, pki.leaf('wrong-name', {dns: ['somewhere-else.example']})))
    closers.push(await startHttps('127.0.0.14', port, pki.leaf('rogue', {dns: ['gateway-probe.eu01.gitpod.dev'], issuer: 'rogue'})))
    const lighthouse = await startLighthouse('127.0.0.15', 'reply')
    closers.push(lighthouse)
    const dns = await startDns({
      'app.gitpod.io': {a: ['127.0.0.11']},
      'app.ona.com': 'nxdomain',
      'us01.gitpod.dev': {a: ['127.0.0.12']},
      'gateway-probe.us01.gitpod.dev': {a: ['127.0.0.13']},
      'eu01.gitpod.dev': 'silent',
      'gateway-probe.eu01.gitpod.dev': {a: ['127.0.0.14']},
      'lighthouse.us01.gitpod.dev': {a: ['127.0.0.15']},
      // Nothing is bound on 127.0.0.16 at the lighthouse port: ICMP port unreachable.
      'lighthouse.eu01.gitpod.dev': {a: ['127.0.0.16']},
    })
    closers.push(dns)
    dnsQueries = dns.queries
    report = await runPreflight({
      catalog,
      timeoutMs: 1500,
      only: ['management', 'gateway'],
      runner: 'standard',
      resolver: createDnsResolver([dns.server]),
      env: {},
      onAws: false,
      portMap: {443: port, 8443: port, 4242: lighthouse.port},
      ca: [pki.caCert],
    })
  })

  it('passes DNS, direct TCP and TLS for a reachable endpoint with a valid certificate, naming the issuer', () => {
    expect(check(report, 'management.app-gitpod-io/dns')).toMatchObject({status: 'pass', target: 'app.gitpod.io'})
    expect(check(report, 'management.app-gitpod-io/dns').detail).toContain('127.0.0.11')
    expect(check(report, 'management.app-gitpod-io/tcp').status).toBe('pass')
    expect(check(report, 'management.app-gitpod-io/tls')).toMatchObject({status: 'pass', hint: null})
    expect(check(report, 'management.app-gitpod-io/tls').detail).toContain('Ona Test Root CA')
    expect(report.endpoints.find((e) => e.id === 'management.app-gitpod-io')).toMatchObject({status: 'pass', access: 'vpc_endpoint', addresses: ['127.0.0.11']})
  })

  it('tells NXDOMAIN and a resolver timeout apart and skips the checks that need an address', () => {
    expect(check(report, 'management.app-ona-com/dns')).toMatchObject({status: 'fail', required: true})
    expect(check(report, 'management.app-ona-com/dns').detail).toMatch(/^nxdomain/)
    expect(check(report, 'gateway.eu01-api/dns').status).toBe('fail')
    expect(check(report, 'gateway.eu01-api/dns').detail).toMatch(/^timeout/)
    expect(check(report, 'gateway.eu01-api/tcp')).toMatchObject({status: 'skip', latencyMs: null})
    expect(check(report, 'gateway.eu01-api/tls').status).toBe('skip')
  })

  it('reports an expired certificate with its date', () => {
    const tls = check(report, 'gateway.us01-api/tls')
    expect(tls.status).toBe('fail')
    expect(tls.detail).toMatch(/certificate expired on \d{4}-\d{2}-\d{2}/)
  })

  it('probes a wildcard entry through its named concrete host and reports a name mismatch', () => {
    const endpoint = report.endpoints.find((e) => e.id === 'gateway.us01-tunnels')
    expect(endpoint).toMatchObject({host: '*.us01.gitpod.dev', probeHost: 'gateway-probe.us01.gitpod.dev'})
    expect(dnsQueries).toContain('gateway-probe.us01.gitpod.dev/A')
    const tls = check(report, 'gateway.us01-tunnels/tls')
    expect(tls.status).toBe('fail')
    expect(tls.detail).toContain('somewhere-else.example')
    expect(tls.detail).toContain('not gateway-probe.us01.gitpod.dev')
  })

  it('names the issuer of an untrusted certificate, as a TLS-inspecting proxy would present', () => {
    const tls = check(report, 'gateway.eu01-tunnels/tls')
    expect(tls.status).toBe('fail')
    expect(tls.detail).toContain('Corp Inspection CA')
    expect(tls.hint).toMatch(/TLS-inspecting/)
  })

  it('passes a replying UDP lighthouse and fails a closed port, without making either required', () => {
    expect(check(report, 'gateway.us01-lighthouse/udp')).toMatchObject({status: 'pass', required: false})
    expect(check(report, 'gateway.us01-lighthouse/udp').detail).toMatch(/Nebula recv_error echoing our index/)
    expect(check(report, 'gateway.eu01-lighthouse/udp')).toMatchObject({status: 'fail', required: false})
  })

  it('fails overall with exit code 1 because required endpoints failed', () => {
    expect(report.verdict).toBe('fail')
    expect(report.exitCode).toBe(1)
    expect(report.counts.fail).toBeGreaterThanOrEqual(6)
  })

  it('skips the gateway for enterprise runners, with the reason', async () => {
    const dns = await startDns({}, 'nxdomain')
    closers.push(dns)
    const enterprise = await runPreflight({catalog, timeoutMs: 1000, only: ['gateway'], runner: 'enterprise', resolver: createDnsResolver([dns.server]), env: {}, onAws: false})
    expect(enterprise.checks.length).toBeGreaterThan(0)
    expect(enterprise.checks.every((c) => c.status === 'skip' && /enterprise runners/.test(c.detail))).toBe(true)
    expect(enterprise.verdict).toBe('pass')
    expect(dns.queries).toEqual([])
  })
})

describe('AWS, templates and IDE selection', () => {
  it('skips templated AWS endpoints without --region and instance metadata off AWS, each with its reason', async () => {
    const dns = await startDns({}, 'nxdomain')
    closers.push(dns)
    const report = await runPreflight({catalog, timeoutMs: 1000, only: ['aws'], resolver: createDnsResolver([dns.server]), env: {}, onAws: false})
    expect(check(report, 'aws.instance-metadata/http')).toMatchObject({status: 'skip'})
    expect(check(report, 'aws.instance-metadata/http').detail).toMatch(/not running on AWS/)
    expect(check(report, 'aws.ec2/dns').detail).toMatch(/--region/)
    expect(dns.queries).toEqual([])
  })

  it('with a proxy configured, templated endpoints without --region are still skipped, not a crash', async () => {
    const dns = await startDns({}, 'nxdomain')
    closers.push(dns)
    const report = await runPreflight({catalog, timeoutMs: 500, only: ['aws'], resolver: createDnsResolver([dns.server]), env: {HTTPS_PROXY: 'http://127.0.0.1:9'}, onAws: false})
    expect(check(report, 'aws.ec2/dns')).toMatchObject({status: 'skip'})
    expect(check(report, 'aws.ec2/dns').detail).toMatch(/--region/)
  })

  it('a proxy variable that is not a URL fails the proxy check instead of the whole run', async () => {
    const outcome = await probeProxy('http://proxy.corp:abc', 'app.example.test', 443, 500)
    expect(outcome.status).toBe('fail')
    expect(outcome.detail).toMatch(/not a valid URL/)
  })

  it('fills <region> and <account-id> from the options and asks for the filled names', async () => {
    // A private answer on loopback (127/8 counts as private), and 443 mapped to a closed local port: the
    // test must never dial an address outside this machine.
    const dns = await startDns({'ec2.eu-central-1.amazonaws.com': {a: ['127.0.0.25']}}, 'nxdomain')
    closers.push(dns)
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.25', () => {
        const {port} = probe.address() as net.AddressInfo
        probe.close(() => resolve(port))
      })
    })
    const report = await runPreflight({catalog, timeoutMs: 1000, only: ['aws'], region: 'eu-central-1', accountId: '123456789012', resolver: createDnsResolver([dns.server]), env: {}, onAws: false, portMap: {443: closed}})
    expect(dns.queries).toContain('123456789012.dkr.ecr.eu-central-1.amazonaws.com/A')
    expect(report.endpoints.find((e) => e.id === 'aws.ec2')).toMatchObject({host: 'ec2.eu-central-1.amazonaws.com', access: 'vpc_endpoint'})
    expect(check(report, 'aws.ec2/dns').detail).toMatch(/VPC endpoint/)
  })

  it('on AWS, probes instance metadata over HTTP', async () => {
    const http = await import('node:http')
    const imds = http.createServer((_req, res) => {
      res.writeHead(200)
      res.end('token')
    })
    await new Promise<void>((resolve) => imds.listen(0, '127.0.0.17', () => resolve()))
    closers.push({close: () => new Promise((resolve) => imds.close(() => resolve()))})
    const {port} = imds.address() as import('node:net').AddressInfo
    const report = await runPreflight({catalog, timeoutMs: 1000, only: ['aws'], resolver: createDnsResolver(['127.0.0.1:9']), env: {}, onAws: true, metadataTarget: {host: '127.0.0.17', port}})
    expect(check(report, 'aws.instance-metadata/http')).toMatchObject({status: 'pass', detail: 'instance metadata answered HTTP 200'})
  })

  it('with --ide jetbrains, VS Code endpoints are skipped and JetBrains ones probed', async () => {
    const dns = await startDns({}, 'nxdomain')
    closers.push(dns)
    const report = await runPreflight({catalog, timeoutMs: 1000, only: ['vscode', 'jetbrains'], ide: 'jetbrains', resolver: createDnsResolver([dns.server]), env: {}, onAws: false})
    expect(check(report, 'vscode.marketplace/dns')).toMatchObject({status: 'skip'})
    expect(check(report, 'vscode.marketplace/dns').detail).toMatch(/VS Code only/)
    expect(check(report, 'jetbrains.download/dns').status).toBe('fail')
    expect(dns.queries.some((q) => q.startsWith('download.jetbrains.com'))).toBe(true)
    expect(dns.queries.some((q) => q.includes('visualstudio'))).toBe(false)
  })
})

describe('DNS answers', () => {
  it('classifies public, private and mixed answers as the runner does, and reports a SERVFAIL as a resolver error', async () => {
    const dns = await startDns({
      'public.test': {a: ['203.0.113.7']},
      'private.test': {a: ['10.20.30.40'], aaaa: ['fd00::5']},
      'mixed.test': {a: ['10.0.0.1', '198.51.100.2']},
      'broken.test': 'servfail',
    })
    closers.push(dns)
    const resolver = createDnsResolver([dns.server])
    const pub = await resolver.resolve('public.test', 1000)
    const priv = await resolver.resolve('private.test', 1000)
    const mixed = await resolver.resolve('mixed.test', 1000)
    expect(pub.ok && classifyAccess([...pub.v4, ...pub.v6])).toBe('public')
    expect(priv).toMatchObject({ok: true, v4: ['10.20.30.40'], v6: ['fd00::5']})
    expect(priv.ok && classifyAccess([...priv.v4, ...priv.v6])).toBe('vpc_endpoint')
    expect(mixed.ok && classifyAccess([...mixed.v4, ...mixed.v6])).toBe('mixed')
    expect(await resolver.resolve('broken.test', 1000)).toMatchObject({ok: false, failure: 'resolver-error'})
    expect(await resolver.resolve('absent.test', 1000)).toMatchObject({ok: false, failure: 'nxdomain'})
  })
})

describe('black holes: the run ends within about one timeout', () => {
  function syntheticCatalog(count: number): Catalog {
    const endpoints: CatalogEndpoint[] = Array.from({length: count}, (_, i) => ({
      id: `management.bh-${i}`,
      category: 'management',
      protocol: 'https',
      host: `bh-${i}.test`,
      port: 443,
      purpose: 'black-holed endpoint',
      when: {},
      urls: [`https://bh-${i}.test`],
      sources: ['access-2025'],
    }))
    return {...catalog, endpoints}
  }

  it('40 endpoints whose TCP connects are dropped finish within 1.2 x the timeout, all failing as timeouts', async () => {
    const hole = await startBlackHole('127.0.0.9')
    closers.push(hole)
    const dns = await startDns({}, {a: ['127.0.0.9']})
    closers.push(dns)
    const timeoutMs = 1500
    const started = Date.now()
    const report = await runPreflight({catalog: syntheticCatalog(40), timeoutMs, resolver: createDnsResolver([dns.server]), env: {}, onAws: false, portMap: {443: hole.port}, only: ['management']})
    const elapsed = Date.now() - started
    expect(elapsed).toBeLessThan(timeoutMs * 1.2)
    const tcp = report.checks.filter((c) => c.kind === 'tcp')
    expect(tcp).toHaveLength(40)
    expect(tcp.every((c) => c.status === 'fail' && /no answer .* within/.test(c.detail))).toBe(true)
    expect(report.exitCode).toBe(1)
  })

  it('a resolver that never answers costs one timeout, not one per name', async () => {
    const dns = await startDns({}, 'silent')
    closers.push(dns)
    const timeoutMs = 1000
    const started = Date.now()
    const report = await runPreflight({catalog: syntheticCatalog(40), timeoutMs, resolver: createDnsResolver([dns.server]), env: {}, onAws: false, only: ['management']})
    expect(Date.now() - started).toBeLessThan(timeoutMs * 1.2)
    const dnsChecks = report.checks.filter((c) => c.kind === 'dns')
    expect(dnsChecks).toHaveLength(40)
    expect(dnsChecks.every((c) => c.status === 'fail' && c.detail.startsWith('timeout'))).toBe(true)
  })

  it('a server that accepts TCP but never speaks TLS fails the TLS check within the timeout', async () => {
    const silent = await startSilentTcp('127.0.0.18', 0)
    closers.push(silent)
    const dns = await startDns({'bh-0.test': {a: ['127.0.0.18']}})
    closers.push(dns)
    const report = await runPreflight({catalog: syntheticCatalog(1), timeoutMs: 800, resolver: createDnsResolver([dns.server]), env: {}, onAws: false, portMap: {443: silent.port}, only: ['management']})
    expect(check(report, 'management.bh-0/tcp').status).toBe('pass')
    expect(check(report, 'management.bh-0/tls')).toMatchObject({status: 'fail'})
    expect(check(report, 'management.bh-0/tls').detail).toMatch(/no TLS handshake/)
  })
})

describe('UDP lighthouse probe', () => {
  it('a silent lighthouse is unknown, never a fail, after the probe was really sent', async () => {
    const silent = await startLighthouse('127.0.0.19', 'silent')
    closers.push(silent)
    const outcome = await probeUdp('127.0.0.19', silent.port, 600)
    expect(outcome.status).toBe('unknown')
    expect(outcome.detail).toMatch(/UDP may be filtered/)
    expect(silent.received).toBeGreaterThanOrEqual(1)
  })

  it('a closed port is a fail (ICMP port unreachable)', async () => {
    const port = await closedUdpPort('127.0.0.20')
    const outcome = await probeUdp('127.0.0.20', port, 1000)
    expect(outcome).toMatchObject({status: 'fail'})
    expect(outcome.detail).toMatch(/port unreachable/)
  })
})

describe('proxy path and NO_PROXY audit', () => {
  const custom = (host: string, port: number): CatalogEndpoint => ({
    id: 'custom.service',
    category: 'custom',
    protocol: 'https',
    host,
    port,
    purpose: 'test',
    when: {},
    urls: [`https://${host}:${port}`],
    sources: ['user'],
  })

  it('makes an HTTPS request through the CONNECT proxy and audits NO_PROXY', async () => {
    const server = await startHttps('127.0.0.21', 0, pki.leaf('proxied', {ips: ['127.0.0.21']}))
    closers.push(server)
    const proxy = await startConnectProxy()
    closers.push(proxy)
    const report = await runPreflight({
      catalog: {...catalog, endpoints: []},
      extraEndpoints: [custom('127.0.0.21', server.port)],
      timeoutMs: 1500,
      env: {HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,169.254.0.0/16,.internal'},
      onAws: false,
      ca: [pki.caCert],
    })
    expect(check(report, 'custom.service/tcp').status).toBe('pass')
    expect(check(report, 'custom.service/proxy')).toMatchObject({status: 'pass'})
    expect(check(report, 'custom.service/proxy').detail).toMatch(/HTTP 204/)
    expect(proxy.connects).toEqual([`127.0.0.21:${server.port}`])
    const audit = check(report, 'proxy/no-proxy')
    expect(audit.status).toBe('warn')
    expect(audit.detail).toMatch(/lacks app\.gitpod\.io/)
    expect(audit.detail).toMatch(/lacks \.amazonaws\.com/)
    expect(audit.detail).toMatch(/169\.254\.0\.0\/16 is a CIDR range/)
    expect(audit.hint).toBe('Add app.gitpod.io,.amazonaws.com to NO_PROXY.')
    expect(report.proxy.url).toBe(proxy.url)
  })

  it('a proxy that wants credentials fails with a 407 hint, and credentials in the URL pass', async () => {
    const server = await startHttps('127.0.0.22', 0, pki.leaf('auth', {ips: ['127.0.0.22']}))
    closers.push(server)
    const proxy = await startConnectProxy({auth: 'alice:s3cret'})
    closers.push(proxy)
    const run = (proxyUrl: string) =>
      runPreflight({catalog: {...catalog, endpoints: []}, extraEndpoints: [custom('127.0.0.22', server.port)], timeoutMs: 1500, env: {https_proxy: proxyUrl}, onAws: false, ca: [pki.caCert], only: ['custom']})
    const denied = await run(proxy.url)
    expect(check(denied, 'custom.service/proxy')).toMatchObject({status: 'fail'})
    expect(check(denied, 'custom.service/proxy').detail).toMatch(/407/)
    const withCredentials = proxy.url.replace('http://', 'http://alice:s3cret@')
    const allowed = await run(withCredentials)
    expect(check(allowed, 'custom.service/proxy').status).toBe('pass')
    expect(allowed.proxy.url).not.toContain('s3cret')
  })

  it('a TLS-inspecting proxy is named by its CA while the direct path passes', async () => {
    const server = await startHttps('127.0.0.23', 0, pki.leaf('direct', {ips: ['127.0.0.23']}))
    closers.push(server)
    const inspector = await startInspectingProxy(pki.leaf('inspector', {ips: ['127.0.0.23'], issuer: 'rogue'}))
    closers.push(inspector)
    const report = await runPreflight({catalog: {...catalog, endpoints: []}, extraEndpoints: [custom('127.0.0.23', server.port)], timeoutMs: 1500, env: {HTTPS_PROXY: inspector.url}, onAws: false, ca: [pki.caCert], only: ['custom']})
    expect(check(report, 'custom.service/tls').status).toBe('pass')
    const viaProxy = check(report, 'custom.service/proxy')
    expect(viaProxy.status).toBe('fail')
    expect(viaProxy.detail).toContain('Corp Inspection CA')
    expect(report.exitCode).toBe(1)
  })

  it('a host covered by NO_PROXY skips the proxy check, as the tools would go direct', async () => {
    const server = await startHttps('127.0.0.24', 0, pki.leaf('noproxy', {ips: ['127.0.0.24']}))
    closers.push(server)
    const report = await runPreflight({catalog: {...catalog, endpoints: []}, extraEndpoints: [custom('127.0.0.24', server.port)], timeoutMs: 1000, env: {HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.0/8'}, onAws: false, ca: [pki.caCert], only: ['custom']})
    expect(check(report, 'custom.service/proxy')).toMatchObject({status: 'skip', detail: 'NO_PROXY sends this host direct'})
    expect(report.verdict).toBe('pass')
  })
})
