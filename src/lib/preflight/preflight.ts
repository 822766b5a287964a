/**
 * `ona preflight`: loads the shipped catalog and the user's endpoints, runs every check, prints the
 * table (unless --json) and returns the report. The caller turns `report.exitCode` into the exit code.
 */
import type {Context} from '../context.js'
import {parseTimeFlag} from '../deadline.js'
import {OnaError} from '../errors.js'
import {apiEndpoint} from './api-endpoint.js'
import {CATEGORIES, loadCatalog, loadUserEndpoints, userEndpointsPath, type Catalog, type CatalogEndpoint} from './catalog.js'
import {hostsFile} from '../platform/platform.js'
import {createDnsResolver, parseResolverAddress} from './dns.js'
import {createProgress, renderReport} from './render.js'
import {runPreflight, type IdeChoice, type RunPreflightOptions, type RunnerKind} from './run.js'
import type {PreflightReport, ReportCategory} from './types.js'

export const REPORT_CATEGORIES: readonly ReportCategory[] = [...CATEGORIES, 'proxy']

export interface PreflightOptions {
  timeoutMs?: number
  runner?: RunnerKind
  ide?: IdeChoice
  only?: string[]
  region?: string
  accountId?: string
  /** `ip[:port]` of a DNS server to ask instead of the system resolver. */
  resolver?: string
  /** Print nothing (the command prints JSON itself). */
  json?: boolean
  /**
   * The API in use (flag, ONA_API_URL...): its origin is checked as the management plane. The vendor's public
   * planes in the catalog are checked only when one of them is this origin, or with `publicManagement`.
   * Absent: the catalog's management endpoints, as before.
   */
  apiUrl?: string
  publicManagement?: boolean
  /** For tests: passed through to runPreflight. */
  overrides?: Partial<Pick<RunPreflightOptions, 'onAws' | 'portMap' | 'ca' | 'metadataTarget'>>
}

export const DEFAULT_TIMEOUT_MS = 5000

/**
 * `--timeout` of `ona preflight`: a duration as every time flag takes it (`3s`, `500ms`, `1m`, a plain number
 * of seconds), between 1ms and 10m. A plain number of 100 or more is the old form (plain milliseconds:
 * `--timeout 3000` must not become 50 minutes): still read as milliseconds, and `onNote` is told so.
 */
export function parsePreflightTimeout(text: string, onNote: (note: string) => void = () => {}): number {
  try {
    const {ms, note} = parseTimeFlag(text, '--timeout', {minMs: 1, maxMs: 600_000, legacyMs: true})
    if (note) onNote(note)
    return ms
  } catch {
    throw new OnaError('ERR_PREFLIGHT_OPTIONS', `--timeout ${text.slice(0, 40)}: give a per-check timeout between 1ms and 10m (3s, 500ms; a plain number is seconds)`)
  }
}

/** Checks and normalises the flags; throws ERR_PREFLIGHT_OPTIONS naming the bad one. */
export function normaliseOptions(options: PreflightOptions): {timeoutMs: number; only?: ReportCategory[]; servers?: string[]} {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 600_000) {
    throw new OnaError('ERR_PREFLIGHT_OPTIONS', `--timeout ${timeoutMs}: give a per-check timeout between 1ms and 10m (3s, 500ms; a plain number is seconds)`)
  }
  let only: ReportCategory[] | undefined
  if (options.only && options.only.length > 0) {
    only = []
    for (const item of options.only.flatMap((o) => o.split(',')).map((o) => o.trim()).filter(Boolean)) {
      if (!(REPORT_CATEGORIES as readonly string[]).includes(item)) {
        throw new OnaError('ERR_PREFLIGHT_OPTIONS', `--only ${item}: not a category`, {hint: `Use one of: ${REPORT_CATEGORIES.join(', ')}.`})
      }
      only.push(item as ReportCategory)
    }
  }
  if (options.region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(options.region)) {
    throw new OnaError('ERR_PREFLIGHT_OPTIONS', `--region ${options.region}: not an AWS region name`, {hint: 'Give a region such as us-east-1 or eu-central-1.'})
  }
  if (options.accountId !== undefined && !/^\d{12}$/.test(options.accountId)) {
    throw new OnaError('ERR_PREFLIGHT_OPTIONS', `--account-id ${options.accountId}: an AWS account id has 12 digits`)
  }
  const servers = options.resolver === undefined ? undefined : [parseResolverAddress(options.resolver)]
  return {timeoutMs, ...(only ? {only} : {}), ...(servers ? {servers} : {})}
}

/**
 * Which management endpoints `ona preflight` checks: the configured API's origin (an enterprise install's
 * firewall may block the public planes on purpose, and a failure there says nothing about this install).
 * A catalog entry that is that origin is kept as it is (with its sources); the others only on request.
 */
export function managementEndpoints(catalog: Catalog, apiUrl: string, publicManagement = false): {catalog: Catalog; extra: CatalogEndpoint[]} {
  const configured = apiEndpoint(apiUrl)
  const isConfigured = (e: CatalogEndpoint) => e.protocol === configured.protocol && e.host.toLowerCase() === configured.host.toLowerCase() && e.port === configured.port
  const own = catalog.endpoints.some((e) => e.category === 'management' && isConfigured(e))
  const endpoints = catalog.endpoints.filter((e) => e.category !== 'management' || publicManagement || isConfigured(e))
  return {catalog: {...catalog, endpoints}, extra: own ? [] : [configured]}
}

/** Runs `ona preflight` for a context; prints the table on the context's streams unless `json`. */
export async function preflight(ctx: Context, options: PreflightOptions = {}): Promise<PreflightReport> {
  const {timeoutMs, only, servers} = normaliseOptions(options)
  const [fullCatalog, userEndpoints] = await Promise.all([loadCatalog(), loadUserEndpoints(userEndpointsPath(ctx.paths.configDir))])
  const management = options.apiUrl === undefined ? {catalog: fullCatalog, extra: []} : managementEndpoints(fullCatalog, options.apiUrl, options.publicManagement)
  const catalog = management.catalog
  const extraEndpoints = [...management.extra, ...userEndpoints]
  const progress = options.json ? {onCheck: () => {}, clear: () => {}} : createProgress(ctx.io)
  const report = await runPreflight({
    catalog,
    extraEndpoints,
    timeoutMs,
    runner: options.runner ?? 'standard',
    ide: options.ide ?? 'all',
    ...(only ? {only} : {}),
    ...(options.region ? {region: options.region} : {}),
    ...(options.accountId ? {accountId: options.accountId} : {}),
    resolver: createDnsResolver(servers, {hostsFile: hostsFile(ctx.platform)}),
    env: ctx.env,
    onCheck: progress.onCheck,
    ...options.overrides,
  })
  progress.clear()
  if (!options.json) ctx.io.print(renderReport(report, ctx.io))
  return report
}
