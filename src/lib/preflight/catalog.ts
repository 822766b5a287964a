/**
 * The endpoint catalog: which endpoints the vendor requires, kept as data in `endpoints.json` (shipped in
 * dist beside this module) and checked against a schema on load, plus the user's own endpoints from
 * `preflight.json` in the config directory.
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {OnaError} from '../errors.js'

export const CATEGORIES = ['management', 'gateway', 'vscode', 'jetbrains', 'releases', 'registries', 'aws', 'custom'] as const
export type Category = (typeof CATEGORIES)[number]

export type EndpointProtocol = 'https' | 'http' | 'udp' | 'tcp'

export interface EndpointWhen {
  /** Needed only by this kind of runner (enterprise runners need no gateway). */
  runner?: 'standard' | 'enterprise'
  /** Needed only when this IDE is used. */
  ide?: 'vscode' | 'jetbrains'
  /** AWS only: checked when running on AWS or when --region is given. */
  aws?: boolean
  /** Allowed if used, not required: a failure warns but does not fail the preflight. */
  optional?: boolean
}

export interface CatalogEndpoint {
  id: string
  category: Category
  protocol: EndpointProtocol
  /** As the vendor writes it: may hold `*.` wildcards and `<region>` / `<account-id>` templates. */
  host: string
  port: number
  /** The concrete host probed for a wildcard entry; absent when no stable host exists (then skipped). */
  probeHost?: string
  purpose: string
  when: EndpointWhen
  /** The vendor's URLs (or service names) this entry covers. */
  urls: string[]
  /** Keys of `Catalog.sources`. */
  sources: string[]
  note?: string
}

export interface Catalog {
  version: number
  sources: Record<string, {title: string; seed?: string}>
  categories: Record<string, string>
  endpoints: CatalogEndpoint[]
}

async function catalogSchema() {
  const {z} = await import('zod')
  const endpoint = z.strictObject({
    id: z.string().regex(/^[a-z0-9-]+\.[a-z0-9.-]+$/),
    category: z.enum(CATEGORIES),
    protocol: z.enum(['https', 'http', 'udp', 'tcp']),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535),
    probeHost: z.string().min(1).optional(),
    purpose: z.string().min(1),
    when: z.strictObject({
      runner: z.enum(['standard', 'enterprise']).optional(),
      ide: z.enum(['vscode', 'jetbrains']).optional(),
      aws: z.boolean().optional(),
      optional: z.boolean().optional(),
    }),
    urls: z.array(z.string().min(1)),
    sources: z.array(z.string().min(1)),
    note: z.string().optional(),
  })
  return z.object({
    version: z.literal(1),
    sources: z.record(z.string(), z.object({title: z.string(), seed: z.string().optional()})),
    categories: z.record(z.string(), z.string()),
    endpoints: z.array(endpoint).min(1),
  })
}

/** Checks a catalog object against the schema and its own cross-references; throws ERR_INTERNAL when bad. */
export async function validateCatalog(data: unknown): Promise<Catalog> {
  const parsed = (await catalogSchema()).safeParse(data)
  if (!parsed.success) {
    throw new OnaError('ERR_INTERNAL', `the preflight endpoint catalog is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  }
  const catalog = parsed.data as Catalog
  const ids = new Set<string>()
  for (const endpoint of catalog.endpoints) {
    if (ids.has(endpoint.id)) throw new OnaError('ERR_INTERNAL', `the preflight endpoint catalog repeats the id ${endpoint.id}`)
    ids.add(endpoint.id)
    for (const source of endpoint.sources) {
      if (!(source in catalog.sources)) throw new OnaError('ERR_INTERNAL', `catalog entry ${endpoint.id} names an unknown source ${source}`)
    }
    if (endpoint.host.includes('*') && endpoint.probeHost?.includes('*')) {
      throw new OnaError('ERR_INTERNAL', `catalog entry ${endpoint.id} needs a concrete probe host`)
    }
  }
  return catalog
}

/** Where the shipped catalog lives (next to this module in src/ and in dist/). */
export const CATALOG_URL = new URL('./endpoints.json', import.meta.url)

/** Loads and validates the catalog that ships with `ona`. */
export async function loadCatalog(): Promise<Catalog> {
  return validateCatalog(JSON.parse(await readFile(CATALOG_URL, 'utf8')))
}

/** The user's endpoint file: `<configDir>/preflight.json`. */
export function userEndpointsPath(configDir: string): string {
  return path.join(configDir, 'preflight.json')
}

/**
 * Reads the user's own endpoints (SCM, SSO, private registries, metrics) from `preflight.json`:
 * `{"endpoints": [{"url": "https://github.com", "purpose": "SCM", "optional": false}, {"host": "vpn.corp", "port": 443, "protocol": "tcp"}]}`.
 * A missing file is no endpoints; a malformed one is ERR_PREFLIGHT_CONFIG naming the bad entry.
 */
export async function loadUserEndpoints(file: string): Promise<CatalogEndpoint[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new OnaError('ERR_PREFLIGHT_CONFIG', `cannot read ${file}: ${(error as Error).message}`, {cause: error})
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw new OnaError('ERR_PREFLIGHT_CONFIG', `${file} is not valid JSON: ${(error as Error).message}`, {cause: error})
  }
  const {z} = await import('zod')
  const entry = z.strictObject({
    id: z.string().regex(/^[a-z0-9-]+$/, 'use lowercase letters, digits and dashes').optional(),
    url: z.string().optional(),
    host: z.string().optional(),
    port: z.number().int().min(1).max(65_535).optional(),
    protocol: z.enum(['https', 'http', 'tcp', 'udp']).optional(),
    purpose: z.string().optional(),
    optional: z.boolean().optional(),
  })
  const top = z.strictObject({endpoints: z.array(z.unknown())})
  const parsedTop = top.safeParse(data)
  if (!parsedTop.success) {
    throw new OnaError('ERR_PREFLIGHT_CONFIG', `${file} must be an object with an "endpoints" array`)
  }
  const result: CatalogEndpoint[] = []
  const seen = new Set<string>()
  parsedTop.data.endpoints.forEach((raw, index) => {
    const label = `endpoints[${index}]${typeof raw === 'object' && raw !== null && 'url' in raw ? ` (${String((raw as {url: unknown}).url)})` : ''}`
    const parsed = entry.safeParse(raw)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw new OnaError('ERR_PREFLIGHT_CONFIG', `${file}: ${label}: ${issue ? `${issue.path.join('.') || 'entry'}: ${issue.message}` : 'invalid'}`)
    }
    const e = parsed.data
    let host = e.host
    let port = e.port
    let protocol = e.protocol
    if (e.url !== undefined) {
      let url: URL
      try {
        url = new URL(e.url)
      } catch {
        throw new OnaError('ERR_PREFLIGHT_CONFIG', `${file}: ${label}: url is not a URL`)
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new OnaError('ERR_PREFLIGHT_CONFIG', `${file}: ${label}: url must be http(s); use host, port and protocol "tcp" for others`)
      }
      host ??= url.hostname.replace(/^\[|\]$/g, '')
      protocol ??= url.protocol === 'https:' ? 'https' : 'http'
      port ??= url.port === '' ? (protocol === 'http' ? 80 : 443) : Number(url.port)
    }
    if (host === undefined || host === '' || /[\s/]/.test(host)) {
      throw new OnaError('ERR_PREFLIGHT_CONFIG', `${file}: ${label}: give a "url" or a "host"`)
    }
    if (host.includes('*')) throw new OnaError('ERR_PREFLIGHT_CONFIG', `${file}: ${label}: wildcards cannot be probed; list a concrete host`)
    protocol ??= 'https'
    port ??= protocol === 'http' ? 80 : 443
    const slug = e.id ?? `${host.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${port}`
    const id = `custom.${slug}`
    if (seen.has(id)) throw new OnaError('ERR_PREFLIGHT_CONFIG', `${file}: ${label}: duplicate id ${id}; give each entry a distinct "id"`)
    seen.add(id)
    result.push({
      id,
      category: 'custom',
      protocol,
      host: host.toLowerCase(),
      port,
      purpose: e.purpose ?? 'your endpoint',
      when: e.optional ? {optional: true} : {},
      urls: [e.url ?? `${host}:${port}`],
      sources: ['user'],
    })
  })
  return result
}
