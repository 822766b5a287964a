/**
 * `ona ssh <id>`: a quick preflight of what this connection needs (cached for a few minutes), one sync
 * of the aliases, then the terminal handed to `ssh <id>.gitpod.environment` (or VS Code on the alias),
 * with ssh's own exit code returned.
 */
import {spawn} from 'node:child_process'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import type {Context} from '../context.js'
import {OnaError} from '../errors.js'
import {renameWithRetry} from '../platform/rename.js'
import type {CatalogEndpoint} from '../preflight/catalog.js'
import type {DnsResolver} from '../preflight/dns.js'
import type {RunnerKind} from '../preflight/run.js'
import type {PreflightReport, ReportCategory} from '../preflight/types.js'

/** How long a passing quick preflight is trusted. Failures are never cached: the next try re-checks. */
export const PREFLIGHT_CACHE_TTL_MS = 5 * 60 * 1000

export interface QuickPreflightOptions {
  apiUrl: string
  ide?: 'vscode' | 'jetbrains'
  runner?: RunnerKind
  timeoutMs?: number
  /** Tests inject a resolver; the system resolver otherwise. */
  resolver?: DnsResolver
}

export interface QuickPreflightResult {
  ok: boolean
  fromCache: boolean
  /** Absent when the result came from the cache. */
  report?: PreflightReport
}

function cacheFile(ctx: Context): string {
  return path.join(ctx.paths.stateDir, 'preflight-cache.json')
}

function cacheKey(options: QuickPreflightOptions, env: NodeJS.ProcessEnv): string {
  // A different proxy setup is a different network path: it must not reuse a pass.
  const proxy = ['https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'].map((k) => env[k] ?? '').join('|')
  return JSON.stringify([options.apiUrl, options.ide ?? 'none', options.runner ?? 'standard', proxy])
}

/** The management plane as the user reaches it: the host and port of the API URL in use. */
export function apiEndpoint(apiUrl: string): CatalogEndpoint {
  const url = new URL(apiUrl)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const secure = url.protocol === 'https:'
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port)
  return {
    id: 'management.api',
    category: 'management',
    protocol: secure ? 'https' : 'http',
    host,
    port,
    purpose: `management-plane API (${url.origin})`,
    when: {},
    urls: [url.origin],
    sources: ['user'],
  }
}

/**
 * What `ona ssh` checks before connecting: the API host, the gateway (standard runners) and the IDE's
 * endpoints when one is given. A pass is cached in the state directory for PREFLIGHT_CACHE_TTL_MS.
 */
export async function quickPreflight(ctx: Context, options: QuickPreflightOptions): Promise<QuickPreflightResult> {
  const key = cacheKey(options, ctx.env)
  const file = cacheFile(ctx)
  try {
    const cached = JSON.parse(await readFile(file, 'utf8')) as {key?: string; passedAt?: number}
    const age = ctx.clock.now() - (cached.passedAt ?? 0)
    if (cached.key === key && age >= 0 && age < PREFLIGHT_CACHE_TTL_MS) return {ok: true, fromCache: true}
  } catch {
    // No cache or an unreadable one: check now.
  }
  const [{loadCatalog}, {runPreflight}, {createDnsResolver}] = await Promise.all([import('../preflight/catalog.js'), import('../preflight/run.js'), import('../preflight/dns.js')])
  const catalog = await loadCatalog()
  const categories: ReportCategory[] = ['gateway', ...(options.ide ? [options.ide] : [])]
  const report = await runPreflight({
    catalog: {...catalog, endpoints: catalog.endpoints.filter((e) => categories.includes(e.category))},
    extraEndpoints: [apiEndpoint(options.apiUrl)],
    timeoutMs: options.timeoutMs ?? 3000,
    runner: options.runner ?? 'standard',
    ide: options.ide ?? 'none',
    resolver: options.resolver ?? createDnsResolver(),
    env: ctx.env,
    onAws: false,
    only: ['management', ...categories],
  })
  const ok = report.exitCode === 0
  if (ok) {
    await mkdir(ctx.paths.stateDir, {recursive: true, mode: 0o700})
    const temporary = `${file}.${process.pid}.tmp`
    await writeFile(temporary, JSON.stringify({key, passedAt: ctx.clock.now()}), {mode: 0o600})
    await renameWithRetry(temporary, file)
  }
  return {ok, fromCache: false, report}
}

/** Turns a failed quick preflight into the error `ona ssh` stops with: the first failure and its hint. */
export function preflightError(report: PreflightReport): OnaError {
  const failed = report.checks.filter((c) => c.required && c.status === 'fail')
  const first = failed[0]
  const message = first
    ? `cannot connect: ${first.target} failed its ${first.kind} check (${first.detail})${failed.length > 1 ? ` and ${failed.length - 1} more check(s) failed` : ''}`
    : 'cannot connect: the preflight failed'
  return new OnaError('ERR_PREFLIGHT_FAILED', message, {
    hint: `${first?.hint ? `${first.hint} ` : ''}Run \`ona preflight\` for the full report, or pass --skip-preflight.`,
    details: {failed: failed.map((c) => c.id)},
  })
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export interface SshConnectOptions {
  id: string
  /** Extra arguments for ssh, passed through untouched after the alias. */
  args?: string[]
  apiUrl: string
  ide?: 'vscode'
  /** Folder VS Code opens on the remote (`code --remote ssh-remote+<alias> <path>`). */
  path?: string
  runner?: RunnerKind
  skipPreflight?: boolean
  timeoutMs?: number
}

/** The ssh arguments for an alias: `-F` only when the SSH config is not the one ssh reads by itself. */
export function sshArgs(ctx: Context, alias: string, extra: string[]): string[] {
  // ssh finds ~/.ssh/config through the passwd entry, not $HOME, so any other file must be named.
  const own = path.join(os.userInfo().homedir, '.ssh', 'config')
  const config = path.resolve(ctx.paths.sshConfig)
  return [...(config === own ? [] : ['-F', config]), alias, ...extra]
}

function run(command: string, args: string[], missing: OnaError, options: {windowsVerbatimArguments?: boolean} = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {stdio: 'inherit', ...options})
    // While ssh owns the terminal, Ctrl-C belongs to it; ona waits for it to finish.
    const ignore = () => {}
    process.on('SIGINT', ignore)
    const done = () => process.off('SIGINT', ignore)
    child.once('error', (error: NodeJS.ErrnoException) => {
      done()
      reject(error.code === 'ENOENT' ? missing : error)
    })
    child.once('exit', (code, signal) => {
      done()
      resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1))
    })
  })
}

/**
 * Preflight (unless skipped), one sync, then ssh (or VS Code) on `<id>.gitpod.environment`.
 * Resolves to the child's exit code; throws OnaError when it cannot get that far.
 */
export async function sshConnect(ctx: Context, options: SshConnectOptions): Promise<number> {
  if (!ID.test(options.id)) {
    throw new OnaError('ERR_USAGE', `"${options.id}" is not an environment id`, {hint: 'Give the id of an environment, e.g. `ona ssh 0199ec15-59d3-7e92-8e22-8cb6c7ba4df7`.'})
  }
  if (options.path !== undefined && /[\0\r\n]/.test(options.path)) {
    throw new OnaError('ERR_USAGE', 'the --path value contains a line break or NUL', {hint: 'Give the remote folder as one line, e.g. --path /workspace/project.'})
  }
  if (options.path?.startsWith('-')) {
    // `code` would read it as one of its own options.
    throw new OnaError('ERR_USAGE', `"${options.path}" is not a folder path`, {hint: 'Give the remote folder as an absolute path, e.g. --path /workspace/project.'})
  }
  if (!options.skipPreflight) {
    const result = await quickPreflight(ctx, {apiUrl: options.apiUrl, ...(options.ide ? {ide: options.ide} : {}), ...(options.runner ? {runner: options.runner} : {}), ...(options.timeoutMs ? {timeoutMs: options.timeoutMs} : {})})
    if (!result.ok && result.report) throw preflightError(result.report)
  }
  const {syncSshConfig} = await import('../sync/sync.js')
  const sync = await syncSshConfig(ctx, {apiUrl: options.apiUrl})
  const id = options.id.toLowerCase()
  const alias = `${id}.gitpod.environment`
  if (sync.pending.some((e) => e.id.toLowerCase() === id)) {
    throw new OnaError('ERR_API_NOT_FOUND', `environment ${options.id} has no address yet (it is still starting)`, {hint: 'Wait until it is running, then run `ona ssh` again.'})
  }
  if (!(await aliasInBlock(ctx, id))) {
    throw new OnaError('ERR_API_NOT_FOUND', `no SSH alias for environment ${options.id}: it is not one of your running environments`, {hint: 'Start the environment, or check the id; `ona ssh-sync --dry-run` lists your environments.'})
  }
  if (options.ide === 'vscode') {
    const {planVsCode} = await import('../platform/vscode.js')
    const missing = new OnaError('ERR_SSH_NOT_FOUND', 'VS Code (`code`) is not on PATH', {hint: 'In VS Code run "Shell Command: Install \'code\' command in PATH", or connect with plain `ona ssh <id>`.'})
    const plan = planVsCode(ctx.platform, {alias, ...(options.path ? {path: options.path} : {})})
    if (!plan) throw missing
    return run(plan.command, plan.args, missing, plan.windowsVerbatimArguments ? {windowsVerbatimArguments: true} : {})
  }
  return run('ssh', sshArgs(ctx, alias, options.args ?? []), new OnaError('ERR_SSH_NOT_FOUND', 'ssh is not on PATH'))
}

async function aliasInBlock(ctx: Context, id: string): Promise<boolean> {
  try {
    const {readBlockEnvironments} = await import('../ssh-config/index.js')
    const text = await readFile(ctx.paths.sshConfig, 'utf8')
    return readBlockEnvironments(text, {file: ctx.paths.sshConfig}).some((e) => e.id.toLowerCase() === id)
  } catch {
    return false
  }
}
