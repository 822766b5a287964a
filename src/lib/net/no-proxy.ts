/**
 * One NO_PROXY matcher for the whole CLI (API client and preflight). The common Node libraries disagree
 * with each other and none understands CIDR entries, so `ona` keeps its own, documented, semantics:
 *
 * - Lowercase variables win over uppercase ones (`no_proxy` over `NO_PROXY`, `https_proxy` over
 *   `HTTPS_PROXY`); an empty value counts as unset, as in curl and proxy-from-env.
 * - `*` alone disables proxying for every host.
 * - `example.com` matches `example.com` and every subdomain.
 * - `.example.com` ALSO matches the bare `example.com` (curl's reading, not Go's): the vendor writes its
 *   required entries as `.internal` and `.amazonaws.com` and means "this whole domain".
 * - `*.example.com` is read as `.example.com` (Go and proxy-from-env do the same; curl does not, so the
 *   audit flags it).
 * - `host:port` and `[v6]:port` match only that port; the port of a URL without one is the scheme's default.
 * - IPv4/IPv6 literals match the same address in any spelling; `a.b.c.d/n` and `v6/n` match by CIDR
 *   (via `node:net` BlockList). Host names are never resolved to test them against an IP rule.
 * - Entries are separated by commas and/or whitespace, case-insensitive, and a trailing dot is ignored.
 *
 * Pure and cheap: no I/O, no heavy imports, safe to load at start-up.
 */
import {BlockList, isIP} from 'node:net'

export type NoProxyEntryKind = 'domain' | 'ip' | 'cidr'

export interface NoProxyEntry {
  /** The entry as the user wrote it (trimmed). */
  raw: string
  kind: NoProxyEntryKind
  /** Lowercase host without leading dot/`*.` (domain) or the address (ip) or network address (cidr). */
  value: string
  /** Only for `cidr`. */
  prefix?: number
  port?: number
  /** Internal: one matcher per IP/CIDR entry so the entry's port can be honoured. */
  list?: BlockList
}

export interface NoProxyRules {
  /** `*` was present: nothing goes through a proxy. */
  matchAll: boolean
  entries: NoProxyEntry[]
  /** Entries that could not be read at all (e.g. `http://` with no host); they match nothing. */
  invalid: string[]
}

/** Splits a NO_PROXY value into rules; never throws, unreadable entries land in `invalid`. */
export function parseNoProxy(value: string): NoProxyRules {
  const rules: NoProxyRules = {matchAll: false, entries: [], invalid: []}
  for (const token of value.split(/[\s,]+/)) {
    const raw = token.trim()
    if (raw === '') continue
    if (raw === '*') {
      rules.matchAll = true
      continue
    }
    const entry = parseEntry(raw)
    if (entry) rules.entries.push(entry)
    else rules.invalid.push(raw)
  }
  return rules
}

function parseEntry(raw: string): NoProxyEntry | undefined {
  let text = raw.toLowerCase()
  // Lenient about what users paste: a scheme or a path is not part of a NO_PROXY entry, but the intent is clear.
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//.exec(text)
  if (scheme) text = text.slice(scheme[0].length)
  const slash = text.indexOf('/')
  if (slash !== -1) {
    const head = text.slice(0, slash)
    const tail = text.slice(slash + 1)
    const bare = head.startsWith('[') && head.endsWith(']') ? head.slice(1, -1) : head
    if (/^\d{1,3}$/.test(tail) && isIP(bare) !== 0) return cidrEntry(raw, bare, Number(tail))
    text = head
  }
  if (text === '') return undefined

  let port: number | undefined
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close === -1) return undefined
    const rest = text.slice(close + 1)
    if (rest !== '') {
      if (!/^:\d{1,5}$/.test(rest)) return undefined
      port = Number(rest.slice(1))
    }
    text = text.slice(1, close)
    return isIP(text) === 6 ? ipEntry(raw, text, port) : undefined
  }
  if (isIP(text) === 6) return ipEntry(raw, text, undefined)
  const colon = text.lastIndexOf(':')
  if (colon !== -1) {
    const portText = text.slice(colon + 1)
    if (!/^\d{1,5}$/.test(portText)) return undefined
    port = Number(portText)
    text = text.slice(0, colon)
  }
  if (port !== undefined && (port < 1 || port > 65_535)) return undefined
  if (isIP(text) === 4) return ipEntry(raw, text, port)

  if (text.startsWith('*.')) text = text.slice(2)
  else if (text.startsWith('.')) text = text.slice(1)
  if (text.endsWith('.')) text = text.slice(0, -1)
  if (text === '' || !/^[a-z0-9_*-]+(\.[a-z0-9_*-]+)*$/.test(text)) return undefined
  return {raw, kind: 'domain', value: text, ...(port === undefined ? {} : {port})}
}

function ipEntry(raw: string, address: string, port: number | undefined): NoProxyEntry {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
  const list = new BlockList()
  list.addAddress(address, family)
  return {raw, kind: 'ip', value: address, list, ...(port === undefined ? {} : {port})}
}

function cidrEntry(raw: string, address: string, prefix: number): NoProxyEntry | undefined {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
  if (prefix > (family === 'ipv6' ? 128 : 32)) return undefined
  const list = new BlockList()
  list.addSubnet(address, prefix, family)
  return {raw, kind: 'cidr', value: address, prefix, list}
}

function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase()
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  if (h.endsWith('.')) h = h.slice(0, -1)
  return h
}

/**
 * Whether `host` (a name, an IP literal, or a bracketed IPv6 literal) on `port` must bypass the proxy.
 * An entry with a port matches only when `port` is given and equal.
 */
export function matchesNoProxy(rules: NoProxyRules, host: string, port?: number): boolean {
  if (rules.matchAll) return true
  const h = normaliseHost(host)
  if (h === '') return false
  const family = isIP(h)
  for (const entry of rules.entries) {
    if (entry.port !== undefined && entry.port !== port) continue
    if (entry.kind === 'domain') {
      if (family !== 0) continue
      if (h === entry.value || h.endsWith(`.${entry.value}`)) return true
    } else if (family !== 0 && entry.list) {
      if (entry.list.check(h, family === 6 ? 'ipv6' : 'ipv4')) return true
    }
  }
  return false
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const lower = env[name.toLowerCase()]
  if (lower !== undefined && lower.trim() !== '') return lower.trim()
  const upper = env[name.toUpperCase()]
  if (upper !== undefined && upper.trim() !== '') return upper.trim()
  return undefined
}

/** The NO_PROXY value in effect (`no_proxy` wins over `NO_PROXY`), or undefined when neither is set. */
export function noProxyValue(env: NodeJS.ProcessEnv): string | undefined {
  return envValue(env, 'no_proxy')
}

const DEFAULT_PORTS: Record<string, number> = {'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443}

/**
 * The proxy URL to use for `url`, or undefined to connect directly. `http:` (and `ws:`) URLs use
 * `http_proxy`, `https:` (and `wss:`) URLs use `https_proxy`; `all_proxy` is a fallback only when it is
 * an http(s) proxy (a SOCKS proxy cannot be used by hpagent). A proxy value without a scheme gets
 * `http://`, as curl does. NO_PROXY rules as described at the top of this module.
 */
export function proxyForUrl(url: URL, env: NodeJS.ProcessEnv): string | undefined {
  const secure = url.protocol === 'https:' || url.protocol === 'wss:'
  if (!secure && url.protocol !== 'http:' && url.protocol !== 'ws:') return undefined
  let proxy = envValue(env, secure ? 'https_proxy' : 'http_proxy')
  if (proxy === undefined) {
    const all = envValue(env, 'all_proxy')
    if (all !== undefined && (/^https?:\/\//i.test(all) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(all))) proxy = all
  }
  if (proxy === undefined) return undefined
  const noProxy = noProxyValue(env)
  if (noProxy !== undefined) {
    const port = url.port === '' ? DEFAULT_PORTS[url.protocol] : Number(url.port)
    if (matchesNoProxy(parseNoProxy(noProxy), url.hostname, port)) return undefined
  }
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`
}

/** The entries the vendor requires in NO_PROXY when a proxy is used, with a host each must cover. */
export const VENDOR_REQUIRED_NO_PROXY: readonly {entry: string; probe: string; why: string}[] = [
  {entry: '.internal', probe: 'ip-10-0-0-1.ec2.internal', why: 'AWS internal host names must not go through the proxy'},
  {entry: '169.254.0.0/16', probe: '169.254.169.254', why: 'instance metadata (169.254.169.254) must be reached directly'},
  {entry: 'app.gitpod.io', probe: 'app.gitpod.io', why: 'the management plane is reached directly (VPC endpoint)'},
  {entry: '.amazonaws.com', probe: 'ec2.us-east-1.amazonaws.com', why: 'AWS regional APIs and VPC endpoints are reached directly'},
]

export interface NoProxyAuditFinding {
  entry: string
  message: string
}

export interface NoProxyAudit {
  /** The NO_PROXY value audited ('' when unset). */
  value: string
  /** Vendor-required entries no rule covers. */
  missing: NoProxyAuditFinding[]
  /** Entries `ona` honours but other common tools ignore or misread (so their traffic may still hit the proxy). */
  unportable: NoProxyAuditFinding[]
  /** Entries nothing can read. */
  invalid: NoProxyAuditFinding[]
}

/**
 * Audits a NO_PROXY value against the vendor's requirements: which required entries are not covered
 * (by `ona`'s reading), and which entries are written in a form that common tools ignore, e.g. a CIDR
 * (proxy-from-env, undici, global-agent and Node's NODE_USE_ENV_PROXY skip it) or a `*.example.com`
 * wildcard (curl takes it literally).
 */
export function auditNoProxy(value: string | undefined): NoProxyAudit {
  const text = value ?? ''
  const rules = parseNoProxy(text)
  const missing = VENDOR_REQUIRED_NO_PROXY.filter((req) => !matchesNoProxy(rules, req.probe)).map((req) => ({
    entry: req.entry,
    message: `NO_PROXY lacks ${req.entry}: ${req.why}`,
  }))
  const unportable: NoProxyAuditFinding[] = []
  for (const entry of rules.entries) {
    const raw = entry.raw
    if (entry.kind === 'cidr') {
      unportable.push({entry: raw, message: `${raw} is a CIDR range: proxy-from-env, undici, global-agent and Node's own env proxy ignore it, so their traffic to it still goes to the proxy`})
    } else if (raw.startsWith('*.')) {
      unportable.push({entry: raw, message: `${raw} is a wildcard: curl takes it literally; write ${raw.slice(1)} instead`})
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) || raw.includes('/')) {
      unportable.push({entry: raw, message: `${raw} has a scheme or path: most tools ignore such entries; write the host name only`})
    } else if (entry.kind === 'domain' && entry.value.includes('*')) {
      unportable.push({entry: raw, message: `${raw} has a wildcard inside: no common tool supports it; list the domain instead`})
    }
  }
  const invalid = rules.invalid.map((entry) => ({entry, message: `${entry} is not a host, IP, CIDR or host:port entry`}))
  return {value: text, missing, unportable, invalid}
}
