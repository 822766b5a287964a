/**
 * Plans and runs the preflight: which endpoints apply (runner, IDE, AWS, templates, wildcards), then all
 * checks at once. Every endpoint's chain (DNS, then TCP, then TLS) shares one deadline, start + timeout,
 * so the whole run ends within about one per-check timeout even when everything black-holes.
 */
import {readFile} from 'node:fs/promises'
import {isIP} from 'node:net'

import {auditNoProxy, noProxyValue, proxyForUrl} from '../net/no-proxy.js'
import {reportHeader} from '../report-header.js'
import type {Catalog, CatalogEndpoint, Category} from './catalog.js'
import {createDnsResolver, type DnsResolver} from './dns.js'
import {classifyAccess, probeMetadata, probeProxy, probeTcp, probeTls, probeUdp, redactProxy, type ProbeOutcome} from './probes.js'
import type {AccessType, CheckKind, CheckResult, CheckStatus, EndpointReport, PreflightReport, ReportCategory} from './types.js'

export type IdeChoice = 'vscode' | 'jetbrains' | 'all' | 'none'
export type RunnerKind = 'standard' | 'enterprise'

export interface RunPreflightOptions {
  catalog: Catalog
  /** Extra endpoints (the user's preflight.json), category `custom`. */
  extraEndpoints?: CatalogEndpoint[]
  /** Per-check timeout in ms; also the budget of the whole run. */
  timeoutMs: number
  runner?: RunnerKind
  ide?: IdeChoice
  /** Only these categories (undefined: all). */
  only?: ReportCategory[]
  region?: string
  accountId?: string
  /** Injected resolver (tests, benchmark, `--resolver`); the system resolver otherwise. */
  resolver?: DnsResolver
  /** Environment for proxy variables. */
  env?: NodeJS.ProcessEnv
  /** Whether this machine is an AWS instance/task; detected when undefined. */
  onAws?: boolean
  /** Dial another port than the catalog's (tests bind unprivileged ports), e.g. {443: 8443}. */
  portMap?: Record<number, number>
  /** Trust these CAs instead of Node's roots (tests use a per-run CA). */
  ca?: string[]
  /** Where instance metadata is reached (tests); 169.254.169.254:80 otherwise. */
  metadataTarget?: {host: string; port: number}
  /** Called as each check settles, for live progress. */
  onCheck?: (check: CheckResult, done: number, total: number) => void
  now?: () => number
}

const STATUS_ORDER: CheckStatus[] = ['fail', 'unknown', 'warn', 'pass', 'skip']

/** The worst of some statuses, fail first; skip only when everything was skipped. */
export function worstStatus(statuses: CheckStatus[]): CheckStatus {
  for (const status of STATUS_ORDER) if (statuses.includes(status)) return status
  return 'skip'
}

/** Whether this process runs on AWS (EC2 or ECS/Fargate), from the environment and DMI; never dials. */
export async function detectAws(env: NodeJS.ProcessEnv): Promise<boolean> {
  if (env.AWS_EXECUTION_ENV || env.ECS_CONTAINER_METADATA_URI_V4 || env.ECS_CONTAINER_METADATA_URI) return true
  for (const file of ['/sys/class/dmi/id/sys_vendor', '/sys/class/dmi/id/board_vendor', '/sys/hypervisor/uuid']) {
    try {
      const text = (await readFile(file, 'utf8')).trim()
      if (/amazon/i.test(text) || /^ec2/i.test(text)) return true
    } catch {
      // absent on most machines
    }
  }
  return false
}

interface PlannedEndpoint {
  endpoint: CatalogEndpoint
  host: string
  probeHost: string
  required: boolean
  kinds: CheckKind[]
  skip?: {detail: string; hint: string | null}
  proxy?: string
}

function fill(template: string, options: RunPreflightOptions): {text: string; missing: string[]} {
  const missing: string[] = []
  const text = template
    .replaceAll('<region>', () => {
      if (options.region) return options.region
      missing.push('--region')
      return '<region>'
    })
    .replaceAll('<account-id>', () => {
      if (options.accountId) return options.accountId
      missing.push('--account-id')
      return '<account-id>'
    })
  return {text, missing: [...new Set(missing)]}
}

function kindsFor(endpoint: CatalogEndpoint, proxied: boolean): CheckKind[] {
  const kinds = ((): CheckKind[] => {
    switch (endpoint.protocol) {
      case 'udp': {
        return ['dns', 'udp']
      }
      case 'http': {
        return isMetadata(endpoint) ? ['http'] : ['dns', 'tcp']
      }
      case 'tcp': {
        return ['dns', 'tcp']
      }
      default: {
        return proxied ? ['dns', 'tcp', 'tls', 'proxy'] : ['dns', 'tcp', 'tls']
      }
    }
  })()
  // An IP address has nothing to resolve.
  return isIP(endpoint.host) === 0 ? kinds : kinds.filter((k) => k !== 'dns')
}

function isMetadata(endpoint: CatalogEndpoint): boolean {
  return endpoint.protocol === 'http' && endpoint.when.aws === true && isIP(endpoint.host) !== 0
}

function plan(endpoint: CatalogEndpoint, options: RunPreflightOptions, onAws: boolean, proxyConfigured: boolean): PlannedEndpoint {
  const ide = options.ide ?? 'all'
  const runner = options.runner ?? 'standard'
  const host = fill(endpoint.host, options)
  const probe = fill(endpoint.probeHost ?? endpoint.host, options)
  const env = options.env ?? {}
  // A template not filled (`<region>` without --region) is no host name: the endpoint is skipped below.
  const proxy = endpoint.protocol === 'https' && proxyConfigured && probe.missing.length === 0 ? proxyForUrl(new URL(`https://${probe.text.includes(':') ? `[${probe.text}]` : probe.text}:${endpoint.port}`), env) : undefined
  const planned: PlannedEndpoint = {
    endpoint,
    host: host.text,
    probeHost: probe.text,
    // The lighthouse probe is best effort by design: silence and filtering look alike.
    required: !endpoint.when.optional && endpoint.protocol !== 'udp',
    kinds: kindsFor(endpoint, proxyConfigured && endpoint.protocol === 'https'),
    ...(proxy ? {proxy} : {}),
  }
  const skip = (detail: string, hint: string | null = null): PlannedEndpoint => ({...planned, skip: {detail, hint}})
  if (endpoint.when.runner && endpoint.when.runner !== runner) {
    return skip(endpoint.when.runner === 'standard' ? 'not needed by enterprise runners (they connect directly, without the gateway)' : 'needed by enterprise runners only', `use --runner ${endpoint.when.runner} to check it`)
  }
  if (endpoint.when.ide && ide !== 'all' && ide !== endpoint.when.ide) {
    return skip(`needed for ${endpoint.when.ide === 'vscode' ? 'VS Code' : 'JetBrains'} only`, `use --ide ${endpoint.when.ide} to check it`)
  }
  if (endpoint.when.aws) {
    if (isMetadata(endpoint) && !onAws) {
      return skip('not running on AWS: instance metadata exists only on an EC2 instance or ECS task', null)
    }
    if (!onAws && !options.region) return skip('AWS only: checked on AWS, or anywhere with --region', 'pass --region (and --account-id) to check AWS APIs from here')
  }
  const missing = [...new Set([...host.missing, ...probe.missing])]
  if (missing.length > 0) return skip(`the address needs ${missing.join(' and ')}`, `pass ${missing.join(' and ')} to check it`)
  if (planned.probeHost.includes('*')) {
    return skip(`wildcard entry with no stable host to probe${endpoint.note ? `: ${endpoint.note}` : ''}`, `allow ${planned.host} on port ${endpoint.port} in your firewall`)
  }
  return planned
}

function remaining(deadline: number, timeoutMs: number): number {
  return Math.max(1, Math.min(timeoutMs, deadline - Date.now()))
}

/**
 * Runs the preflight with an injected catalog and resolver: every check of every endpoint at once,
 * each bounded by the per-check timeout and all by one shared deadline (start + timeout). Never throws
 * for network failures; they are results. The benchmark calls this directly.
 */
export async function runPreflight(options: RunPreflightOptions): Promise<PreflightReport> {
  const started = Date.now()
  const timeoutMs = options.timeoutMs
  const deadline = started + timeoutMs
  const env = options.env ?? {}
  const resolver = options.resolver ?? createDnsResolver()
  const onAws = options.onAws ?? (await detectAws(env))
  const proxyProbe = proxyForUrl(new URL('https://proxy-probe.invalid'), {...env, no_proxy: '', NO_PROXY: ''})
  const proxyConfigured = proxyProbe !== undefined
  const noProxy = noProxyValue(env) ?? null
  const only = options.only && options.only.length > 0 ? new Set(options.only) : undefined

  const endpoints = [...options.catalog.endpoints, ...(options.extraEndpoints ?? [])].filter((e) => !only || only.has(e.category))
  const plans = endpoints.map((endpoint) => plan(endpoint, options, onAws, proxyConfigured))

  const checks = new Map<string, CheckResult>()
  const total = plans.reduce((sum, p) => sum + p.kinds.length, 0) + (!only || only.has('proxy') ? 1 : 0)
  let done = 0
  const record = (check: CheckResult) => {
    checks.set(check.id, check)
    done += 1
    options.onCheck?.(check, done, total)
  }
  const portFor = (port: number) => options.portMap?.[port] ?? port

  const runOne = async (p: PlannedEndpoint): Promise<{access: AccessType | null; addresses: string[]}> => {
    const {endpoint} = p
    const port = endpoint.port
    const make = (kind: CheckKind, outcome: Omit<ProbeOutcome, 'latencyMs'> & {latencyMs: number | null}, target?: string) =>
      record({
        id: `${endpoint.id}/${kind}`,
        endpoint: endpoint.id,
        category: endpoint.category,
        kind,
        target: target ?? (kind === 'dns' ? p.probeHost : `${p.probeHost.includes(':') ? `[${p.probeHost}]` : p.probeHost}:${port}`),
        required: p.required && !(kind === 'proxy' && !p.proxy),
        status: outcome.status,
        latencyMs: outcome.latencyMs,
        detail: outcome.detail,
        hint: outcome.hint,
      })
    const skipRest = (kinds: CheckKind[], detail: string) => {
      for (const kind of kinds) make(kind, {status: 'skip', latencyMs: null, detail, hint: null})
    }
    if (p.skip) {
      for (const kind of p.kinds) make(kind, {status: 'skip', latencyMs: null, detail: p.skip.detail, hint: p.skip.hint})
      return {access: null, addresses: []}
    }

    const proxyTask = p.kinds.includes('proxy')
      ? p.proxy
        ? probeProxy(p.proxy, p.probeHost, portFor(port), remaining(deadline, timeoutMs), {ca: options.ca}).then((outcome) => make('proxy', outcome))
        : Promise.resolve(make('proxy', {status: 'skip', latencyMs: null, detail: 'NO_PROXY sends this host direct', hint: null}))
      : Promise.resolve()

    const chain = async (): Promise<{access: AccessType | null; addresses: string[]}> => {
      let addresses: string[]
      if (isMetadata(endpoint)) {
        const target = options.metadataTarget ?? {host: endpoint.host, port}
        make('http', await probeMetadata(target.host, target.port, remaining(deadline, timeoutMs)), `${target.host}:${target.port}`)
        return {access: classifyAccess([endpoint.host]), addresses: [endpoint.host]}
      }
      if (isIP(p.probeHost) === 0) {
        const dnsStart = process.hrtime.bigint()
        const answer = await resolver.resolve(p.probeHost, remaining(deadline, timeoutMs))
        const latencyMs = Math.round(Number(process.hrtime.bigint() - dnsStart) / 1e5) / 10
        if (!answer.ok) {
          const hint =
            answer.failure === 'nxdomain'
              ? 'The resolver says the name does not exist: a DNS filter, a split-horizon zone, or a private hosted zone missing it.'
              : answer.failure === 'timeout'
                ? 'The resolver did not answer: check that DNS (UDP/TCP 53) to it is allowed, or try --resolver with your VPC resolver.'
                : answer.failure === 'nodata'
                  ? 'The name has no addresses here: check private DNS on the VPC endpoint or the hosted zone.'
                  : 'The resolver reported an error: check your DNS server, or try --resolver.'
          make('dns', {status: 'fail', latencyMs, detail: `${answer.failure}: ${answer.message} (${resolver.description})`, hint})
          skipRest(p.kinds.filter((k) => k !== 'dns' && k !== 'proxy'), 'not run: DNS failed')
          return {access: null, addresses: []}
        }
        addresses = [...answer.v4, ...answer.v6]
        const access = classifyAccess(addresses)
        const wildcard = `${answer.via === 'dns' ? '' : `; from ${answer.via}`}${p.probeHost !== p.host ? `; probed through ${p.probeHost} for ${p.host}` : ''}`
        make('dns', {status: 'pass', latencyMs, detail: `${addresses.join(', ')} (${access === 'vpc_endpoint' ? 'private: VPC endpoint' : access === 'public' ? 'public addresses' : 'private and public addresses'})${wildcard}`, hint: null})
      } else {
        addresses = [p.probeHost]
      }
      const access = classifyAccess(addresses)

      if (endpoint.protocol === 'udp') {
        const first = addresses.find((a) => isIP(a) === 4) ?? addresses[0] ?? ''
        make('udp', await probeUdp(first, portFor(port), remaining(deadline, timeoutMs)), `${first}:${port}`)
        return {access, addresses}
      }
      const budget = remaining(deadline, timeoutMs)
      const tcp = await probeTcp([...addresses.filter((a) => isIP(a) === 4), ...addresses.filter((a) => isIP(a) === 6)], portFor(port), budget)
      make('tcp', budget < timeoutMs / 2 && tcp.status === 'fail' && /within/.test(tcp.detail) ? {...tcp, status: 'unknown', detail: `${tcp.detail}; the run's time budget ran out`} : tcp)
      if (!tcp.socket) {
        skipRest(p.kinds.filter((k) => k === 'tls' || k === 'http'), 'not run: TCP failed')
        return {access, addresses}
      }
      if (p.kinds.includes('tls')) {
        const tlsBudget = remaining(deadline, timeoutMs)
        const handshake = await probeTls(tcp.socket, p.probeHost, tlsBudget, {ca: options.ca, ...(options.now ? {now: options.now()} : {})})
        // Deferred: destroying a TLS socket while still inside its handshake callbacks can crash Node.
        if (handshake.tlsSocket) setImmediate(() => handshake.tlsSocket?.destroy())
        make('tls', tlsBudget < timeoutMs / 2 && /within/.test(handshake.detail) ? {...handshake, status: 'unknown', detail: `${handshake.detail}; the run's time budget ran out`} : handshake)
      } else {
        tcp.socket.destroy()
      }
      return {access, addresses}
    }
    const [result] = await Promise.all([chain(), proxyTask])
    return result
  }

  const audit = (): void => {
    if (only && !only.has('proxy')) return
    const base = {id: 'proxy/no-proxy', endpoint: null, category: 'proxy' as const, kind: 'no-proxy' as const, target: 'NO_PROXY', required: false, latencyMs: null}
    if (!proxyConfigured) {
      record({...base, status: 'skip', detail: 'no proxy configured (https_proxy / HTTPS_PROXY unset)', hint: null})
      return
    }
    const result = auditNoProxy(noProxy ?? undefined)
    const problems = [...result.missing, ...result.unportable, ...result.invalid]
    record({
      ...base,
      status: problems.length === 0 ? 'pass' : 'warn',
      detail: problems.length === 0 ? 'NO_PROXY has every entry the vendor requires, in forms common tools read' : problems.map((f) => f.message).join('; '),
      hint: result.missing.length > 0 ? `Add ${result.missing.map((f) => f.entry).join(',')} to NO_PROXY.` : problems.length > 0 ? 'Rewrite the flagged entries so every tool on this machine reads them (e.g. list 169.254.169.254 beside the CIDR).' : null,
    })
  }

  audit()
  const outcomes = await Promise.all(plans.map((p) => runOne(p)))

  const checkList = [...checks.values()]
  const endpointReports: EndpointReport[] = plans.map((p, index) => {
    const own = checkList.filter((c) => c.endpoint === p.endpoint.id)
    const outcome = outcomes[index] ?? {access: null, addresses: []}
    return {
      id: p.endpoint.id,
      category: p.endpoint.category,
      protocol: p.endpoint.protocol,
      host: p.host,
      probeHost: p.probeHost,
      port: p.endpoint.port,
      purpose: p.endpoint.purpose,
      required: p.required,
      status: worstStatus(own.map((c) => c.status)),
      access: outcome.access,
      addresses: outcome.addresses,
      sources: p.endpoint.sources,
      note: p.endpoint.note ?? null,
    }
  })
  // Stable order for --json: catalog order, then the kinds in a fixed order.
  const kindOrder: CheckKind[] = ['no-proxy', 'dns', 'tcp', 'tls', 'http', 'udp', 'proxy']
  const position = new Map(plans.map((p, i) => [p.endpoint.id, i]))
  checkList.sort((a, b) => (a.endpoint === null ? -1 : (position.get(a.endpoint) ?? 0)) - (b.endpoint === null ? -1 : (position.get(b.endpoint) ?? 0)) || kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind))

  const counts: Record<CheckStatus, number> = {pass: 0, warn: 0, fail: 0, skip: 0, unknown: 0}
  for (const check of checkList) counts[check.status] += 1
  const requiredFailure = checkList.some((c) => c.required && c.status === 'fail')
  const sources: Record<string, string> = {}
  for (const [key, source] of Object.entries(options.catalog.sources)) sources[key] = source.title
  if (options.extraEndpoints && options.extraEndpoints.length > 0) sources.user = 'your preflight.json'

  return {
    ...reportHeader({started, timeoutMs, failed: requiredFailure, warned: checkList.some((c) => c.status !== 'pass' && c.status !== 'skip')}),
    runner: options.runner ?? 'standard',
    ide: options.ide ?? 'all',
    only: options.only && options.only.length > 0 ? options.only : null,
    region: options.region ?? null,
    accountId: options.accountId ?? null,
    resolver: resolver.description,
    onAws,
    proxy: {url: proxyProbe ? redactProxy(proxyProbe) : null, noProxy},
    counts,
    sources,
    endpoints: endpointReports,
    checks: checkList,
  }
}

export type {Category}
