/**
 * The preflight result shape. `--json` prints a `PreflightReport` as is; its layout is locked by a test
 * (test/unit/preflight-report.test.ts): add fields, never rename or remove them.
 */
import type {ReportHeader} from '../report-header.js'
import type {Category, EndpointProtocol} from './catalog.js'

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip' | 'unknown'
export type CheckKind = 'dns' | 'tcp' | 'tls' | 'proxy' | 'udp' | 'http' | 'no-proxy'
export type ReportCategory = Category | 'proxy'
/** As the vendor's runner reports it; `public` stands for its nat_gateway/internet_gateway (which needs the task's own address). */
export type AccessType = 'vpc_endpoint' | 'public' | 'mixed'

export interface CheckResult {
  /** Stable: `<endpoint id>/<kind>` (e.g. `management.app-gitpod-io/tls`) or `proxy/no-proxy`. */
  id: string
  endpoint: string | null
  category: ReportCategory
  kind: CheckKind
  /** What was probed, e.g. `app.gitpod.io:443` or `127.0.0.1:53`. */
  target: string
  /** A failure of a required check makes the preflight fail (exit 1). */
  required: boolean
  status: CheckStatus
  /** Null when the check did not run. */
  latencyMs: number | null
  detail: string
  /** What to change; null when there is nothing to do. */
  hint: string | null
}

export interface EndpointReport {
  id: string
  category: ReportCategory
  protocol: EndpointProtocol
  /** As the vendor writes it (wildcards kept), templates filled when the flags allowed. */
  host: string
  /** The concrete host probed (differs from host for wildcard entries). */
  probeHost: string
  port: number
  purpose: string
  required: boolean
  /** Worst status of its checks. */
  status: CheckStatus
  access: AccessType | null
  addresses: string[]
  sources: string[]
  note: string | null
}

/** The header (report-header.ts): verdict fail when a required check failed; warn when anything else was not a pass or skip. */
export interface PreflightReport extends ReportHeader {
  runner: 'standard' | 'enterprise'
  ide: 'vscode' | 'jetbrains' | 'all' | 'none'
  only: ReportCategory[] | null
  region: string | null
  accountId: string | null
  resolver: string
  onAws: boolean
  proxy: {url: string | null; noProxy: string | null}
  counts: Record<CheckStatus, number>
  sources: Record<string, string>
  endpoints: EndpointReport[]
  checks: CheckResult[]
}
