import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {OnaError} from '../../src/lib/errors.js'
import {CATALOG_URL, loadCatalog, loadUserEndpoints, validateCatalog, type Catalog} from '../../src/lib/preflight/catalog.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const seedsDir = path.resolve(repoRoot, '..', 'shared', 'seeds')
const haveSeeds = existsSync(seedsDir)

/** Every endpoint a seed page names: URLs, host:port lines, the metadata IP, AWS host names and VPC service names. */
function seedEndpoints(text: string): string[] {
  const found = new Set<string>()
  for (const match of text.matchAll(/https:\/\/[^\s"<>]*(?:<[a-z-]+>[^\s"<>]*)*/g)) found.add(match[0].replace(/[).,]+$/, ''))
  for (const match of text.matchAll(/(?<![\w.*/-])[a-z0-9.-]+\.gitpod\.dev:\d+/g)) if (!text.includes(`https://${match[0]}`)) found.add(match[0])
  for (const match of text.matchAll(/com\.amazonaws\.<region>\.[a-z0-9.-]*[a-z0-9]/g)) found.add(match[0])
  // The AWS page's table glues the service name to the host ("CloudWatch Logslogs.<region>..."), so the
  // match may carry a lowercase tail of that name; the coverage check below allows it.
  // URLs were taken whole above; without them, a bare template host cannot be the tail of one.
  const rest = text.replace(/https:\/\/\S+/g, ' ')
  for (const match of rest.matchAll(/(\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.<region>\.amazonaws\.com/g)) found.add(match[0])
  if (text.includes('169.254.169.254')) found.add('169.254.169.254')
  return [...found]
}

describe('endpoint catalog', () => {
  let catalog: Catalog
  beforeAll(async () => {
    catalog = await loadCatalog()
  })

  it('the shipped catalog passes its schema and names only known sources', () => {
    expect(catalog.endpoints.length).toBeGreaterThan(30)
    for (const endpoint of catalog.endpoints) expect(endpoint.sources.every((s) => s in catalog.sources)).toBe(true)
  })

  it('every wildcard entry either names a concrete probe host or explains why there is none', () => {
    for (const endpoint of catalog.endpoints.filter((e) => e.host.includes('*'))) {
      expect(endpoint.probeHost ?? endpoint.note, endpoint.id).toBeTruthy()
      if (endpoint.probeHost) expect(endpoint.probeHost.includes('*'), endpoint.id).toBe(false)
    }
  })

  it('keeps the union of both page revisions and records which one adds app.ona.com and *.cloudfront.net', () => {
    const only2026 = catalog.endpoints.filter((e) => e.sources.includes('access-2026') && !e.sources.includes('access-2025')).map((e) => e.host)
    expect(only2026.sort()).toEqual(['*.cloudfront.net', 'app.ona.com'])
  })

  it.skipIf(!haveSeeds)('covers every endpoint named in the seed documents (../shared/seeds)', () => {
    const covered = new Set(catalog.endpoints.flatMap((e) => e.urls))
    const hosts = new Set(catalog.endpoints.map((e) => e.host))
    const files = readdirSync(seedsDir).filter((f) => f.endsWith('.txt'))
    expect(files.length).toBeGreaterThanOrEqual(3)
    const missing: string[] = []
    let total = 0
    for (const file of files) {
      for (const endpoint of seedEndpoints(readFileSync(path.join(seedsDir, file), 'utf8'))) {
        total += 1
        const known = [...covered, ...hosts].map((c) => c.replace(/^https:\/\//, ''))
        const bare = endpoint.replace(/^https:\/\//, '')
        const ok = known.includes(bare) || known.some((c) => bare.endsWith(c) && /^[a-z0-9]+$/.test(bare.slice(0, bare.length - c.length)))
        if (!ok) missing.push(`${file}: ${endpoint}`)
      }
    }
    expect(total).toBeGreaterThan(60)
    expect(missing).toEqual([])
  })

  it('rejects a catalog entry with an unknown field, a repeated id or an unknown source', async () => {
    const good = JSON.parse(readFileSync(CATALOG_URL, 'utf8')) as Catalog
    const first = good.endpoints[0]!
    await expect(validateCatalog({...good, endpoints: [{...first, colour: 'red'}]})).rejects.toThrow(/colour/)
    await expect(validateCatalog({...good, endpoints: [first, first]})).rejects.toThrow(/repeats the id/)
    await expect(validateCatalog({...good, endpoints: [{...first, sources: ['nowhere']}]})).rejects.toThrow(/unknown source nowhere/)
  })
})

describe('user endpoints (preflight.json)', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ona-preflight-config-'))
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('a missing file means no extra endpoints', async () => {
    expect(await loadUserEndpoints(path.join(dir, 'absent.json'))).toEqual([])
  })

  it('turns URLs and host entries into custom endpoints with default ports', async () => {
    const file = path.join(dir, 'ok.json')
    await writeFile(file, JSON.stringify({endpoints: [{url: 'https://github.com', purpose: 'SCM'}, {host: 'vpn.corp.example', port: 1194, protocol: 'tcp', optional: true}, {url: 'http://metrics.corp.example:9090/write', id: 'metrics'}]}))
    const endpoints = await loadUserEndpoints(file)
    expect(endpoints.map(({id, host, port, protocol, when}) => ({id, host, port, protocol, when}))).toEqual([
      {id: 'custom.github-com-443', host: 'github.com', port: 443, protocol: 'https', when: {}},
      {id: 'custom.vpn-corp-example-1194', host: 'vpn.corp.example', port: 1194, protocol: 'tcp', when: {optional: true}},
      {id: 'custom.metrics', host: 'metrics.corp.example', port: 9090, protocol: 'http', when: {}},
    ])
  })

  it.each([
    ['not JSON', '{endpoints: [', /not valid JSON/],
    ['no endpoints array', '{"hosts": []}', /"endpoints" array/],
    ['an entry with neither url nor host', '{"endpoints": [{"purpose": "x"}]}', /endpoints\[0\]: give a "url" or a "host"/],
    ['a bad port', '{"endpoints": [{"host": "a.example"}, {"host": "b.example", "port": 0}]}', /endpoints\[1\]: port/],
    ['an unknown field', '{"endpoints": [{"url": "https://a.example", "prot": "tcp"}]}', /endpoints\[0\] \(https:\/\/a.example\)/],
    ['a wildcard', '{"endpoints": [{"host": "*.corp.example"}]}', /wildcards cannot be probed/],
    ['a non-http url', '{"endpoints": [{"url": "ssh://git.corp.example"}]}', /url must be http\(s\)/],
  ])('rejects %s, naming the entry', async (_name, text, message) => {
    const file = path.join(dir, 'bad.json')
    await writeFile(file, text)
    const error = await loadUserEndpoints(file).catch((error_: unknown) => error_)
    expect(error).toBeInstanceOf(OnaError)
    expect((error as OnaError).code).toBe('ERR_PREFLIGHT_CONFIG')
    expect((error as OnaError).message).toMatch(message)
  })
})
