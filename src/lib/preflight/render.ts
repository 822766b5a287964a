/**
 * Human output for the preflight: a live progress line on stderr while checks run (TTY only), then a
 * compact table, one row per endpoint grouped by category, and a one-line verdict.
 */
import type {IOStreams} from '../io.js'
import {printable} from '../printable.js'
import type {CheckResult, CheckStatus, EndpointReport, PreflightReport} from './types.js'

/** Long enough for a certificate chain's names; a reply longer than this is cut with an ellipsis. */
const DETAIL_MAX = 400

const LABEL: Record<CheckStatus, string> = {pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP', unknown: 'UNKN'}
const COLOR: Record<CheckStatus, string> = {pass: '32', warn: '33', fail: '31', skip: '2', unknown: '35'}

const CATEGORY_TITLES: Record<string, string> = {
  proxy: 'Proxy',
  management: 'Management plane',
  gateway: 'Gateway API (standard runners)',
  vscode: 'VS Code',
  jetbrains: 'JetBrains',
  releases: 'Release artifacts',
  registries: 'Container registries',
  aws: 'AWS',
  custom: 'Your endpoints',
}

/** A progress reporter for `onCheck`: rewrites one stderr line on a TTY, silent otherwise. */
export function createProgress(io: IOStreams): {onCheck: (check: CheckResult, done: number, total: number) => void; clear: () => void} {
  if (!io.isTTY) return {onCheck: () => {}, clear: () => {}}
  let failed = 0
  let drawn = false
  return {
    onCheck(check, done, total) {
      if (check.status === 'fail') failed += 1
      const label = check.status === 'skip' ? '' : ` last: ${check.id} ${LABEL[check.status].toLowerCase()}`
      io.err.write(`\r\u001B[2Kchecking ${done}/${total}${failed > 0 ? `, ${failed} failed` : ''}…${label}`.slice(0, 120))
      drawn = true
    },
    clear() {
      if (drawn) io.err.write('\r\u001B[2K')
    },
  }
}

function paint(io: IOStreams, status: CheckStatus, text: string): string {
  return io.color ? `\u001B[${COLOR[status]}m${text}\u001B[0m` : text
}

function rowDetail(endpoint: EndpointReport, checks: CheckResult[]): {detail: string; hint: string | null} {
  // With a proxy configured, the proxy is the path ona's traffic takes: when it fails (refused, unreachable,
  // CONNECT denied) that is the cause, and a direct DNS or TCP failure beside it is what a proxied network
  // looks like anyway. Issue 13: the row used to show the DNS line and hide the refused proxy.
  const proxyFailure = checks.find((c) => c.kind === 'proxy' && c.status === 'fail')
  const worst = proxyFailure ?? checks.find((c) => c.status === endpoint.status && c.status !== 'pass') ?? checks.filter((c) => c.status === 'pass').at(-1) ?? checks[0]
  if (!worst) return {detail: '', hint: null}
  // Details quote remote text (certificate names, a proxy's status line, resolver errors): one plain line each.
  return {detail: printable(worst.detail, DETAIL_MAX), hint: worst.status === 'pass' || !worst.hint ? null : printable(worst.hint, DETAIL_MAX)}
}

/** Renders the report as the grouped table plus verdict line (no trailing newline handling needed). */
export function renderReport(report: PreflightReport, io: IOStreams): string {
  const lines: string[] = []
  const byEndpoint = new Map<string, CheckResult[]>()
  for (const check of report.checks) {
    if (check.endpoint === null) continue
    const list = byEndpoint.get(check.endpoint) ?? []
    list.push(check)
    byEndpoint.set(check.endpoint, list)
  }
  const global = report.checks.filter((c) => c.endpoint === null)
  if (global.length > 0) {
    lines.push(CATEGORY_TITLES.proxy ?? 'Proxy')
    for (const check of global) {
      lines.push(`  ${paint(io, check.status, LABEL[check.status])}  ${printable(check.target).padEnd(40)} ${printable(check.detail, DETAIL_MAX)}`)
      if (check.hint && check.status !== 'pass' && check.status !== 'skip') lines.push(`        hint: ${printable(check.hint, DETAIL_MAX)}`)
    }
  }
  const categories = [...new Set(report.endpoints.map((e) => e.category))]
  let lastHint: string | null = null
  for (const category of categories) {
    lines.push(CATEGORY_TITLES[category] ?? category)
    const inCategory = report.endpoints.filter((e) => e.category === category)
    for (const endpoint of inCategory.filter((e) => e.status !== 'skip')) {
      const checks = byEndpoint.get(endpoint.id) ?? []
      const target = `${endpoint.host}:${endpoint.port}${endpoint.protocol === 'udp' ? '/udp' : ''}${endpoint.required ? '' : ' (optional)'}`
      const steps = checks.map((c) => `${c.kind}:${c.status === 'pass' ? 'ok' : c.status}`).join(' ')
      const latency = checks.reduce((sum, c) => sum + (c.kind !== 'proxy' && c.latencyMs !== null ? c.latencyMs : 0), 0)
      const {detail, hint} = rowDetail(endpoint, checks)
      const via = endpoint.probeHost !== endpoint.host ? ` [wildcard, probed via ${endpoint.probeHost}]` : ''
      lines.push(`  ${paint(io, endpoint.status, LABEL[endpoint.status])}  ${target.padEnd(44)} ${steps.padEnd(30)} ${`${Math.round(latency)} ms`.padStart(7)}  ${detail}${via}`.trimEnd())
      // The same hint under ten rows in a row (everything blocked) is noise: say it once.
      if (hint && hint !== lastHint) lines.push(`        hint: ${hint}`)
      lastHint = hint ?? lastHint
    }
    // Skipped endpoints, one line per reason, so an unused IDE or AWS does not fill the screen.
    const reasons = new Map<string, EndpointReport[]>()
    for (const endpoint of inCategory.filter((e) => e.status === 'skip')) {
      const reason = byEndpoint.get(endpoint.id)?.[0]?.detail ?? 'skipped'
      reasons.set(reason, [...(reasons.get(reason) ?? []), endpoint])
    }
    for (const [reason, skipped] of reasons) {
      const names = skipped.map((e) => e.host)
      const shown = names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ')
      const hint = byEndpoint.get(skipped[0]?.id ?? '')?.[0]?.hint
      lines.push(`  ${paint(io, 'skip', LABEL.skip)}  ${shown}: ${printable(reason, DETAIL_MAX)}${hint ? ` (${printable(hint, DETAIL_MAX)})` : ''}`)
    }
  }
  lines.push('', verdictLine(report, io))
  return lines.join('\n')
}

/** One line: the verdict and the counts, naming the failed required checks. */
export function verdictLine(report: PreflightReport, io: IOStreams): string {
  const c = report.counts
  const counts = `${c.pass} passed, ${c.fail} failed, ${c.warn} warnings, ${c.unknown} unknown, ${c.skip} skipped in ${(report.durationMs / 1000).toFixed(1)} s`
  if (report.verdict === 'fail') {
    const failed = report.checks.filter((x) => x.required && x.status === 'fail').map((x) => x.id)
    const names = failed.length > 4 ? `${failed.slice(0, 4).join(', ')} and ${failed.length - 4} more` : failed.join(', ')
    return `${paint(io, 'fail', 'preflight failed')}: required checks failed (${names}); ${counts}`
  }
  if (report.verdict === 'warn') return `${paint(io, 'warn', 'preflight passed with warnings')}: ${counts}`
  return `${paint(io, 'pass', 'preflight passed')}: ${counts}`
}
