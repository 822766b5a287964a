/**
 * DNS for preflight: A and AAAA through c-ares (node:dns Resolver) so that a timeout, NXDOMAIN and a
 * resolver error can be told apart and a query can be cancelled at the deadline, which `dns.lookup`
 * (getaddrinfo on the libuv thread pool) allows neither.
 */
import {Resolver} from 'node:dns/promises'
import {readFile} from 'node:fs/promises'
import {isIP} from 'node:net'

import {OnaError} from '../errors.js'
import {currentPlatform, hostsFile} from '../platform/platform.js'

export type DnsFailure = 'nxdomain' | 'nodata' | 'timeout' | 'resolver-error'

export type DnsResult =
  | {ok: true; v4: string[]; v6: string[]; via: string}
  | {ok: false; failure: DnsFailure; message: string}

export interface DnsResolver {
  /** Shown in the report, e.g. `system resolver` or `10.0.0.2:53`. */
  readonly description: string
  /** Never rejects; resolves by `timeoutMs` at the latest. */
  resolve(host: string, timeoutMs: number): Promise<DnsResult>
}

/** Parses `--resolver ip[:port]` (IPv6 as `[v6]:port` or bare) into a c-ares server string. */
export function parseResolverAddress(value: string): string {
  const text = value.trim()
  let host = text
  let port: string | undefined
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  if (bracketed) {
    host = bracketed[1] ?? ''
    port = bracketed[2]
  } else if (isIP(text) !== 6) {
    const colon = text.lastIndexOf(':')
    if (colon !== -1) {
      host = text.slice(0, colon)
      port = text.slice(colon + 1)
    }
  }
  const family = isIP(host)
  if (family === 0) throw new OnaError('ERR_PREFLIGHT_OPTIONS', `--resolver ${value}: not an IP address (give ip or ip:port)`)
  if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535)) {
    throw new OnaError('ERR_PREFLIGHT_OPTIONS', `--resolver ${value}: bad port`)
  }
  if (port === undefined) return host
  return family === 6 ? `[${host}]:${port}` : `${host}:${port}`
}

const NOT_FOUND = new Set(['ENOTFOUND', 'NXDOMAIN'])
const NO_DATA = new Set(['ENODATA', 'ENONAME'])
const TIMEOUT = new Set(['ETIMEOUT', 'ETIMEDOUT', 'ECANCELLED'])

type One = {ok: true; addresses: string[]} | {ok: false; code: string; message: string}

function one(resolver: Resolver, host: string, family: 4 | 6): Promise<One> {
  const query = family === 4 ? resolver.resolve4(host) : resolver.resolve6(host)
  return query.then(
    (addresses) => ({ok: true as const, addresses}),
    (error: NodeJS.ErrnoException) => ({ok: false as const, code: error.code ?? 'EUNKNOWN', message: error.message}),
  )
}

/**
 * A resolver that asks `servers` (c-ares strings such as `127.0.0.1:5353`), or the system's configured
 * name servers when none are given. With the system servers, a name c-ares calls NXDOMAIN is tried once
 * more in the hosts file (`/etc/hosts`, or `%SystemRoot%\System32\drivers\etc\hosts` on Windows), so entries there count, as they do for ssh and the API client. Not getaddrinfo:
 * a lookup stuck on a dropped query holds the process open for glibc's 5 s retry long after the run's
 * deadline (measured), and it cannot be cancelled. Resolvers that resolv.conf does not list (macOS
 * split DNS for a VPN) are reached with --resolver.
 */
export function createDnsResolver(servers?: string[], options: {hostsFile?: string} = {}): DnsResolver {
  const system = servers === undefined || servers.length === 0
  const hosts = options.hostsFile ?? hostsFile(currentPlatform())
  return {
    description: system ? 'system resolver' : servers.join(', '),
    async resolve(host, timeoutMs) {
      const resolver = new Resolver({timeout: Math.max(1, Math.floor(timeoutMs)), tries: 1})
      if (!system) resolver.setServers(servers)
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs)
      })
      try {
        const both = await Promise.race([Promise.all([one(resolver, host, 4), one(resolver, host, 6)]), deadline])
        if (both === 'timeout') {
          resolver.cancel()
          return {ok: false, failure: 'timeout', message: `no answer within ${timeoutMs} ms`}
        }
        const [a, aaaa] = both
        const v4 = a.ok ? a.addresses : []
        const v6 = aaaa.ok ? aaaa.addresses : []
        if (v4.length > 0 || v6.length > 0) return {ok: true, v4, v6, via: 'dns'}
        const codes = [a, aaaa].map((r) => (r.ok ? 'ENODATA' : r.code))
        if (codes.some((c) => TIMEOUT.has(c))) return {ok: false, failure: 'timeout', message: `no answer within ${timeoutMs} ms`}
        if (codes.every((c) => NOT_FOUND.has(c) || NO_DATA.has(c))) {
          if (system) {
            const fallback = await hostsLookup(hosts, host)
            if (fallback) return fallback
          }
          return codes.some((c) => NOT_FOUND.has(c))
            ? {ok: false, failure: 'nxdomain', message: 'the name does not exist (NXDOMAIN)'}
            : {ok: false, failure: 'nodata', message: 'the name exists but has no A or AAAA records'}
        }
        const failed = [a, aaaa].find((r) => !r.ok) as {code: string; message: string}
        return {ok: false, failure: 'resolver-error', message: `the resolver failed (${failed.code}): ${failed.message}`}
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

const hostsTables = new Map<string, Promise<Map<string, string[]>>>()

/** The hosts file as a name -> addresses map, read once per run; c-ares queries skip it, ssh and got do not. */
function readHosts(file: string): Promise<Map<string, string[]>> {
  let table = hostsTables.get(file)
  if (table) return table
  table = readFile(file, 'utf8').then(
    (text) => {
      const table = new Map<string, string[]>()
      for (const line of text.split(/\r?\n/)) {
        const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/)
        if (!address || isIP(address) === 0) continue
        for (const name of names) table.set(name.toLowerCase(), [...(table.get(name.toLowerCase()) ?? []), address])
      }
      return table
    },
    () => new Map(),
  )
  hostsTables.set(file, table)
  return table
}

async function hostsLookup(file: string, host: string): Promise<DnsResult | undefined> {
  const addresses = (await readHosts(file)).get(host.toLowerCase().replace(/\.$/, ''))
  if (!addresses || addresses.length === 0) return undefined
  return {ok: true, v4: addresses.filter((a) => isIP(a) === 4), v6: addresses.filter((a) => isIP(a) === 6), via: file}
}
