/**
 * The API client behind a real CONNECT proxy (npm `proxy`) on 127.0.0.2, with the simulator on
 * 127.0.0.1: which requests tunnel through the proxy and which go direct is read from the proxy's own
 * log of CONNECT requests, for every NO_PROXY form (CIDR included). TLS is checked with a per-run CA
 * made by openssl, trusted only through NODE_EXTRA_CA_CERTS.
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {createProxy} from 'proxy'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {createApiClient} from '../../src/lib/api/client.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {baseEnv, builtCli, runCli} from '../helpers/run-cli.js'
import {onaFailure as failure} from '../helpers/tools.js'

interface TestProxy {
  url: string
  /** CONNECT targets (`host:port`) in order, and whether each carried proxy credentials. */
  connects: Array<{target: string; headers: http.IncomingHttpHeaders}>
  close(): Promise<void>
}

async function startProxy(host: string, options: {credentials?: string} = {}): Promise<TestProxy> {
  const server = createProxy(http.createServer())
  const connects: TestProxy['connects'] = []
  server.prependListener('connect', (req: http.IncomingMessage) => connects.push({target: req.url ?? '', headers: req.headers}))
  if (options.credentials) {
    const expected = `Basic ${Buffer.from(options.credentials).toString('base64')}`
    server.authenticate = (req) => req.headers['proxy-authorization'] === expected
  }
  // Tunnels are upgraded sockets that server.close() would wait for (the client keeps them alive).
  const sockets = new Set<import('node:net').Socket>()
  server.on('connection', (socket: import('node:net').Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://${host}:${port}`,
    connects,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

let sim: Simulator
let proxy: TestProxy

function api(env: NodeJS.ProcessEnv, retries = 1) {
  return createApiClient({baseUrl: sim.url, token: sim.token, env, retries, backoff: {baseMs: 5, maxMs: 10}, timeoutMs: 3000})
}


beforeEach(async () => {
  sim = await startSimulator()
  proxy = await startProxy('127.0.0.2')
})
afterEach(async () => {
  await sim.close()
  await proxy.close()
})

describe('proxy choice', () => {
  const simTarget = () => new URL(sim.url).host

  it('tunnels through HTTP_PROXY with CONNECT; the proxy never sees the bearer token', async () => {
    const identity = await (await api({HTTP_PROXY: proxy.url})).getAuthenticatedIdentity()
    expect(identity.subjectId).toBe(sim.subject.id)
    expect(proxy.connects.map((c) => c.target)).toEqual([simTarget()])
    expect(JSON.stringify(proxy.connects[0]!.headers)).not.toContain(sim.token)
    expect(sim.requests[0]!.auth).toBe('valid')
  })

  it.each([
    ['a CIDR range', '10.0.0.0/8,127.0.0.0/8'],
    ['the exact IP', '127.0.0.1'],
    ['the IP with its port', () => `127.0.0.1:${new URL(sim.url).port}`],
    ['a wildcard', '*'],
  ])('goes direct when NO_PROXY lists %s', async (_, value) => {
    const noProxy = typeof value === 'function' ? value() : value
    await (await api({HTTP_PROXY: proxy.url, NO_PROXY: noProxy})).getAuthenticatedIdentity()
    expect(proxy.connects).toEqual([])
    expect(sim.requests).toHaveLength(1)
  })

  it.each([
    ['another CIDR range', '127.0.1.0/24'],
    ['the IP with another port', '127.0.0.1:1'],
    ['a domain', 'example.com,.internal'],
  ])('still uses the proxy when NO_PROXY lists only %s', async (_, noProxy) => {
    await (await api({HTTP_PROXY: proxy.url, NO_PROXY: noProxy})).getAuthenticatedIdentity()
    expect(proxy.connects.map((c) => c.target)).toEqual([simTarget()])
  })

  it('lets lower-case variables win over upper-case ones', async () => {
    const other = await startProxy('127.0.0.3')
    try {
      await (await api({HTTP_PROXY: proxy.url, http_proxy: other.url})).getAuthenticatedIdentity()
      expect(proxy.connects).toEqual([])
      expect(other.connects.map((c) => c.target)).toEqual([simTarget()])
      await (await api({HTTP_PROXY: proxy.url, NO_PROXY: '*', no_proxy: '10.0.0.0/8'})).getAuthenticatedIdentity()
      expect(proxy.connects.map((c) => c.target)).toEqual([simTarget()])
    } finally {
      await other.close()
    }
  })

  it('ignores HTTPS_PROXY for an http:// API URL and goes direct', async () => {
    await (await api({HTTPS_PROXY: proxy.url})).getAuthenticatedIdentity()
    expect(proxy.connects).toEqual([])
  })

  it('streams WatchEvents through the tunnel', async () => {
    const client = await api({HTTP_PROXY: proxy.url})
    const controller = new AbortController()
    const iterator = client.watchEvents({signal: controller.signal})[Symbol.asyncIterator]()
    const next = iterator.next()
    const deadline = Date.now() + 5000
    while (sim.openStreams() === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    sim.emitEvent('RESOURCE_OPERATION_UPDATE', 'env-1')
    expect((await next).value).toMatchObject({resourceId: 'env-1'})
    controller.abort()
    await iterator.return?.()
    expect(proxy.connects.map((c) => c.target)).toContain(simTarget())
  })
})

describe('proxy failures', () => {
  it('reports a proxy that demands authentication as a proxy error with the 407, without retrying', async () => {
    const guarded = await startProxy('127.0.0.4', {credentials: 'alice:s3cret'})
    try {
      const error = await failure((await api({HTTP_PROXY: guarded.url}, 3)).getAuthenticatedIdentity())
      expect(error.code).toBe('ERR_PROXY')
      expect(error.message).toContain('407')
      expect(guarded.connects).toHaveLength(1)
      expect(sim.requests).toHaveLength(0)
    } finally {
      await guarded.close()
    }
  })

  it('sends the credentials of the proxy URL and never shows them in messages', async () => {
    const guarded = await startProxy('127.0.0.4', {credentials: 'alice:s3cret'})
    try {
      const withCredentials = guarded.url.replace('http://', 'http://alice:s3cret@')
      await (await api({HTTP_PROXY: withCredentials})).getAuthenticatedIdentity()
      expect(guarded.connects[0]!.headers['proxy-authorization']).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`)
      const wrong = guarded.url.replace('http://', 'http://alice:wrong-pass@')
      const error = await failure((await api({HTTP_PROXY: wrong})).getAuthenticatedIdentity())
      expect(error.code).toBe('ERR_PROXY')
      expect(`${error.message} ${JSON.stringify(error.toJSON())}`).not.toContain('wrong-pass')
    } finally {
      await guarded.close()
    }
  })

  it('reports an unreachable proxy as a proxy error after bounded retries', async () => {
    const url = proxy.url
    await proxy.close()
    const error = await failure((await api({HTTP_PROXY: url}, 2)).getAuthenticatedIdentity())
    expect(error.code).toBe('ERR_PROXY')
    expect(error.message).toContain('ECONNREFUSED')
    expect(error.message).toContain('gave up after 3 attempts')
    proxy = await startProxy('127.0.0.2')
  })
})

describe('TLS with a private CA (NODE_EXTRA_CA_CERTS)', () => {
  let dir: string
  let caFile: string
  let tlsSim: Simulator

  beforeAll(async () => {
    if (!builtCli) throw new Error('run `npm run build` first: these tests run bin/run.js')
    dir = mkdtempSync(path.join(os.tmpdir(), 'ona-ca-'))
    const ssl = (args: string[]) => execFileSync('openssl', args, {cwd: dir, stdio: ['ignore', 'ignore', 'pipe']})
    ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Ona Test Inspection CA'])
    writeFileSync(path.join(dir, 'leaf.ext'), 'subjectAltName=IP:127.0.0.5\nbasicConstraints=CA:FALSE\n')
    ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.5'])
    ssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'leaf.ext', '-out', 'leaf.pem'])
    caFile = path.join(dir, 'ca.pem')
    tlsSim = await startSimulator({host: '127.0.0.5', tls: {key: readFileSync(path.join(dir, 'leaf.key')), cert: readFileSync(path.join(dir, 'leaf.pem'))}})
  })
  afterAll(async () => {
    await tlsSim?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  async function whoami(extra: Record<string, string>) {
    const home = mkdtempSync(path.join(os.tmpdir(), 'ona-tls-home-'))
    try {
      return await runCli(['whoami', '--json'], {env: baseEnv(home, {ONA_API_URL: tlsSim.url, ONA_TOKEN: tlsSim.token, ...extra})})
    } finally {
      rmSync(home, {recursive: true, force: true})
    }
  }

  it('refuses a certificate from an unknown CA with a hint about NODE_EXTRA_CA_CERTS, without retrying', async () => {
    const before = tlsSim.requests.length
    const result = await whoami({})
    expect(result.code).toBe(1)
    const {error} = JSON.parse(result.stdout)
    expect(error.code).toBe('ERR_API_TLS')
    expect(error.hint).toContain('NODE_EXTRA_CA_CERTS')
    expect(tlsSim.requests.length).toBe(before)
    expect(result.stdout + result.stderr).not.toContain(tlsSim.token)
  })

  it('trusts the CA given in NODE_EXTRA_CA_CERTS', async () => {
    const result = await whoami({NODE_EXTRA_CA_CERTS: caFile})
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout).subjectId).toBe(tlsSim.subject.id)
  })

  it('trusts it through a CONNECT proxy too (HTTPS_PROXY)', async () => {
    const result = await whoami({NODE_EXTRA_CA_CERTS: caFile, HTTPS_PROXY: proxy.url})
    expect(result.code).toBe(0)
    // whoami asks for the identity, then the display names (two calls at once, so up to two tunnels):
    // every one of them to the API's host.
    const targets = proxy.connects.map((c) => c.target)
    expect(targets.length).toBeGreaterThanOrEqual(1)
    expect(new Set(targets)).toEqual(new Set([new URL(tlsSim.url).host]))
  })
})
