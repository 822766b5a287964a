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
import type {EditorId} from '../ide/editors.js'
import {OnaError} from '../errors.js'
import {environmentLabel} from '../environments/resolve.js'
import {sshUserConfig} from '../platform/passwd.js'
import {includeLineFor} from '../ssh-config/tree.js'
import {renameWithRetry} from '../platform/rename.js'
import {apiEndpoint} from '../preflight/api-endpoint.js'
import type {DnsResolver} from '../preflight/dns.js'
import type {RunPreflightOptions, RunnerKind} from '../preflight/run.js'
import type {CheckResult, PreflightReport, ReportCategory} from '../preflight/types.js'

/** How long a passing quick preflight is trusted. Failures are never cached: the next try re-checks. */
export const PREFLIGHT_CACHE_TTL_MS = 5 * 60 * 1000

export interface QuickPreflightOptions {
  apiUrl: string
  ide?: 'vscode' | 'jetbrains'
  runner?: RunnerKind
  timeoutMs?: number
  /** `--resolver`, or tests: the DNS server to ask; the system resolver otherwise. */
  resolver?: DnsResolver
  /** For tests: other ports and CAs, passed through to runPreflight (endpoints on 127.0.0.x). */
  overrides?: Partial<Pick<RunPreflightOptions, 'portMap' | 'ca'>>
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
  // So is another DNS server (--resolver).
  return JSON.stringify([options.apiUrl, options.ide ?? 'none', options.runner ?? 'standard', proxy, options.resolver?.description ?? 'system resolver'])
}

/** The management plane as the user reaches it (also exported here, where `ona ssh`'s callers found it). */
export {apiEndpoint}

/**
 * The catalog's categories `ona ssh` checks besides the API: the gateway (standard runners; plan() skips it
 * for enterprise ones), the release endpoints (where the runner, the CLI and the IDE agents are downloaded
 * from) and, when one is given, the IDE's endpoints.
 */
export function quickPreflightCategories(ide: QuickPreflightOptions['ide']): ReportCategory[] {
  return ['gateway', 'releases', ...(ide ? [ide] : [])]
}

/**
 * What `ona ssh` checks before connecting: the API host, the gateway (standard runners), the release
 * endpoints and the IDE's endpoints when one is given. A pass is cached in the state directory for
 * PREFLIGHT_CACHE_TTL_MS.
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
  const categories = quickPreflightCategories(options.ide)
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
    ...options.overrides,
  })
  const ok = report.exitCode === 0
  if (ok) {
    const {mkdirOwned, ownLikeDirectory} = await import('../fs/safe-write.js')
    await mkdirOwned(ctx.paths.stateDir)
    const temporary = `${file}.${process.pid}.tmp`
    await writeFile(temporary, JSON.stringify({key, passedAt: ctx.clock.now()}), {mode: 0o600})
    await ownLikeDirectory(temporary)
    await renameWithRetry(temporary, file)
  }
  return {ok, fromCache: false, report}
}

/**
 * Turns a failed quick preflight into the error `ona ssh` stops with: the cause and its hint. A failed proxy
 * check is the cause when there is one (the proxy is the path ona's traffic takes; a direct DNS failure beside
 * it is what a proxied network looks like), as in the `ona preflight` table; else the first failure.
 * `checks` narrows which failures count (default: every required one).
 */
export function preflightError(report: PreflightReport, checks: readonly CheckResult[] = report.checks): OnaError {
  const failed = checks.filter((c) => c.required && c.status === 'fail')
  const first = failed.find((c) => c.kind === 'proxy') ?? failed[0]
  const message = first
    ? `cannot connect: ${first.target} failed its ${first.kind} check (${first.detail})${failed.length > 1 ? ` and ${failed.length - 1} more check(s) failed` : ''}`
    : 'cannot connect: the preflight failed'
  return new OnaError('ERR_PREFLIGHT_FAILED', message, {
    hint: `${first?.hint ? `${first.hint} ` : ''}Run \`ona preflight\` for the full report, or pass --skip-preflight.`,
    details: {failed: failed.map((c) => c.id)},
  })
}

/** The endpoint id of the management plane as `ona ssh` reaches it (apiEndpoint). */
export const API_ENDPOINT_ID = 'management.api'

/**
 * The failed required checks of a quick preflight, split by whether they are on this connection's own path.
 * Only the API (which `ona ssh` must ask) is checked here; the environment's SSH address is probed once it is
 * known (banner.ts probeSsh). `blocking` stops the connection; `other` (the gateway, the release endpoints,
 * the IDE's endpoints) are warnings: ona ssh does not use them itself.
 */
export function splitPreflightFailures(report: PreflightReport): {blocking: CheckResult[]; other: CheckResult[]} {
  const failed = report.checks.filter((c) => c.required && c.status === 'fail')
  return {blocking: failed.filter((c) => c.endpoint === API_ENDPOINT_ID), other: failed.filter((c) => c.endpoint !== API_ENDPOINT_ID)}
}

/** One warning line per failure off the connection's path, each hint said once (the first time it applies). */
export function offPathWarnings(checks: readonly CheckResult[]): string[] {
  const said = new Set<string>()
  return checks.map((check) => {
    const hint = check.hint && !said.has(check.hint) ? `. ${check.hint}` : ''
    if (check.hint) said.add(check.hint)
    return `${check.target} failed its ${check.kind} check (${check.detail})${hint}`
  })
}

/** The one summary line after the warnings, once the path has been found working. */
export function offPathSummary(checks: readonly CheckResult[], label: string): string {
  const categories = [...new Set(checks.map((c) => c.category))].join(', ')
  return `${checks.length} network check${checks.length === 1 ? '' : 's'} off this connection's path failed (${categories}); the API and the SSH address of ${label} answer, so ona connects anyway. \`ona preflight\` has the full report.`
}

export interface SshConnectOptions {
  /** Id, alias, unique id prefix or name; absent: a picker on a terminal, a usage error otherwise. */
  target?: string
  /** Extra arguments for ssh, passed through untouched after the alias. */
  args?: string[]
  apiUrl: string
  /** Open this editor on the alias instead of running ssh (ide/editors.ts), or say how to connect JetBrains Gateway. */
  ide?: EditorId | 'jetbrains'
  /** Folder the editor opens on the remote (`code --remote ssh-remote+<alias> <path>`); default the environment's checkout folder. */
  path?: string
  runner?: RunnerKind
  skipPreflight?: boolean
  timeoutMs?: number
  /** Refuse a stopped environment instead of starting it. */
  noStart?: boolean
  /** Bound on starting and waiting for the key. Default 10 minutes. ctx.deadline (--timeout) bounds the rest, and is paused meanwhile. */
  startTimeoutMs?: number
  /** Whether stdin and stderr are a terminal (the picker needs both). Default: the process's. */
  interactive?: boolean
  /** The preflight's resolver (`--resolver`, tests); the system resolver otherwise. */
  resolver?: DnsResolver
  /** For tests: the preflight's ports and CAs (quickPreflight's overrides). */
  preflightOverrides?: QuickPreflightOptions['overrides']
}

/**
 * The `-F` ssh needs, if any. None when the managed file is part of the tree ssh reads by default
 * (`readBySsh`, from the sync's config-tree check: ~/.ssh/config itself, or a file it Includes), since `-F`
 * would make ssh skip the user's own config and /etc/ssh/ssh_config (their IdentityFile, ProxyJump...).
 * Otherwise `-F` names the file, with a warning saying what that skips and how to Include the file instead.
 */
export function sshConfigArgs(ctx: Context, reads: boolean | {readBySsh: boolean; readByHomeConfig?: boolean}): {args: string[]; warning?: string} {
  const {readBySsh, readByHomeConfig = readBySsh} = typeof reads === 'boolean' ? {readBySsh: reads} : reads
  // ssh finds ~/.ssh/config through the passwd entry, not $HOME (sync decides it the same way: checkTree).
  const own = sshUserConfig(ctx.platform)
  const config = path.resolve(ctx.paths.sshConfig)
  const userConfig = path.resolve(ctx.paths.userSshConfig)
  if (config === own || (readBySsh && (userConfig === own || typeof reads !== 'boolean'))) return {args: []}
  // $HOME is not the passwd home (a container, sudo -E): its ~/.ssh/config, which reads the managed file, is named.
  if (readByHomeConfig) {
    return {args: ['-F', userConfig], ...(typeof reads === 'boolean' ? {} : {warning: `ssh is run with -F ${userConfig}: ssh itself reads ${own} (from this user's home in the password database), not the one under $HOME, which reads ${config}`})}
  }
  return {
    args: ['-F', config],
    warning: `ssh is run with -F ${config} because ssh does not read it by itself: your own ${own} and /etc/ssh/ssh_config are skipped for this connection; add \`${includeLineFor(config, ctx.paths.home)}\` at the top of ${own} (or run \`ona ssh-sync --add-include\`) and ona ssh will not need -F`,
  }
}

/** The ssh arguments for an alias (see sshConfigArgs for when `-F` is given). */
export function sshArgs(ctx: Context, alias: string, extra: string[], readBySsh = false): string[] {
  return [...sshConfigArgs(ctx, readBySsh).args, alias, ...extra]
}

interface RunOptions {
  windowsVerbatimArguments?: boolean
  env?: NodeJS.ProcessEnv
  /**
   * Pass the child's stderr through ona (to `to`), handing each line to `onLine` as well. Only where no
   * terminal is involved: on one, ssh's prompts and progress must reach it untouched.
   */
  stderrLines?: {to: NodeJS.WritableStream; onLine: (line: string) => void}
}

function run(command: string, args: string[], missing: OnaError, options: RunOptions = {}): Promise<number> {
  const {stderrLines, ...spawnOptions} = options
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {stdio: ['inherit', 'inherit', stderrLines ? 'pipe' : 'inherit'], ...spawnOptions})
    let pending = ''
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderrLines!.to.write(chunk)
      pending += chunk
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const line of lines) stderrLines!.onLine(line.replace(/\r$/, ''))
    })
    // While ssh owns the terminal, Ctrl-C belongs to it; ona waits for it to finish.
    const ignore = () => {}
    process.on('SIGINT', ignore)
    const done = () => process.off('SIGINT', ignore)
    child.once('error', (error: NodeJS.ErrnoException) => {
      done()
      reject(error.code === 'ENOENT' ? missing : error)
    })
    // 'close', not 'exit': every line ssh wrote has been seen.
    child.once('close', (code, signal) => {
      done()
      if (pending !== '') stderrLines?.onLine(pending)
      resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1))
    })
  })
}

/**
 * What to do after ssh stopped with "Host key verification failed." and could not ask (no terminal): a
 * first connection to an environment has no known host key yet (ona records it under the alias, through
 * HostKeyAlias, so it is asked for once per environment, not once per IP).
 */
export function hostKeyHint(target: string, alias: string): string {
  return `hint: ssh has not seen the host key of ${alias} yet and, with no terminal, could not ask you to confirm it. Run \`ona ssh ${target}\` once on a terminal and answer yes, or let ssh record the first key it sees: \`ona ssh ${target} -- -o StrictHostKeyChecking=accept-new ...\`.\n`
}

/**
 * Preflight (unless skipped); the environment found by id, prefix or name (or picked); started and
 * waited for, with the key registered and READY; one sync; then ssh (or VS Code) on
 * `<id>.gitpod.environment`. Resolves to the child's exit code; throws OnaError when it cannot get that far.
 */
export async function sshConnect(ctx: Context, options: SshConnectOptions): Promise<number> {
  if (options.path !== undefined && /[\0\r\n]/.test(options.path)) {
    throw new OnaError('ERR_USAGE', 'the --path value contains a line break or NUL', {hint: 'Give the remote folder as one line, e.g. --path /workspace/project.'})
  }
  if (options.path?.startsWith('-')) {
    // `code` would read it as one of its own options.
    throw new OnaError('ERR_USAGE', `"${options.path}" is not a folder path`, {hint: 'Give the remote folder as an absolute path, e.g. --path /workspace/project.'})
  }
  const interactive = options.interactive ?? Boolean(process.stdin.isTTY && (ctx.io.err as {isTTY?: boolean}).isTTY)
  if (options.target === undefined && !interactive) {
    throw new OnaError('ERR_USAGE', 'no environment given', {hint: 'Name one: `ona ssh <id, id prefix or name>`; `ona environment list` shows them. Without an argument, `ona ssh` offers a picker on a terminal.'})
  }
  // Its checks run at once, each within the per-check timeout: the deadline caps that timeout.
  const perCheck = () => Math.max(1, Math.min(options.timeoutMs ?? 3000, ctx.deadline?.remaining() ?? Number.POSITIVE_INFINITY))
  let offPath: CheckResult[] = []
  if (!options.skipPreflight) {
    // VS Code's own endpoints (marketplace, server downloads) are in the catalog; the forks download from their own.
    const ide = options.ide === 'vscode' || options.ide === 'code-insiders' ? 'vscode' : options.ide === 'jetbrains' ? 'jetbrains' : undefined
    const result = await quickPreflight(ctx, {apiUrl: options.apiUrl, ...(ide ? {ide} : {}), ...(options.runner ? {runner: options.runner} : {}), ...(options.resolver ? {resolver: options.resolver} : {}), ...(options.preflightOverrides ? {overrides: options.preflightOverrides} : {}), timeoutMs: perCheck()})
    if (!result.ok && result.report) {
      // Only this connection's own path stops it; the rest is said, with its hints, and ona goes on.
      const {blocking, other} = splitPreflightFailures(result.report)
      if (blocking.length > 0) throw preflightError(result.report, blocking)
      offPath = other
      for (const line of offPathWarnings(other)) ctx.io.warn(line)
    }
  }
  // The file this install's block lives in, as `ona ssh-sync` decides it (--ssh-config chosen once is remembered).
  const {useManagedFileSetting, rememberManagedFile} = await import('../settings.js')
  await useManagedFileSetting(ctx, options.apiUrl)
  const [{applyListing, connect, originOf, readBaseline}, environments] = await Promise.all([import('../sync/sync.js'), import('../environments/index.js')])
  const client = await connect(ctx, options.apiUrl)
  const baseline = await readBaseline(ctx, originOf(options.apiUrl))
  const listing = await client.listEnvironments()
  let chosen
  if (options.target === undefined) {
    const {pickEnvironment} = await import('../environments/picker.js')
    // The user's time at the picker does not count against the deadline.
    const pick = () => pickEnvironment(listing.environments, process.stdin, ctx.io.err)
    chosen = await (ctx.deadline ? ctx.deadline.paused(pick) : pick())
  } else {
    chosen = environments.resolveEnvironment(listing.environments, options.target)
  }
  const ready = await environments.prepareConnection(ctx, client, chosen, {
    start: !options.noStart,
    ...(options.startTimeoutMs ? {timeoutMs: options.startTimeoutMs} : {}),
    progressTo: ctx.io.err,
  })
  for (const w of ready.warnings) ctx.io.warn(w.message)
  const label = environmentLabel(ready.environment)
  if (!options.skipPreflight && ready.environment.ssh) {
    // The other half of this connection's path: the environment's sshd, as this network reaches it.
    const {host, port} = ready.environment.ssh
    const {probeSsh, sshProbeFailure} = await import('./banner.js')
    const failure = sshProbeFailure(await probeSsh(host, port, perCheck()))
    if (failure !== undefined) {
      throw new OnaError('ERR_PREFLIGHT_FAILED', `cannot connect: the SSH address of ${label} does not answer: ${failure}`, {
        hint: `The environment runs, but its sshd is not reachable from this network on port ${port}: a firewall, VPN or security group may block it. Pass --skip-preflight if you reach it some other way (a ProxyJump in your SSH config).`,
        details: {environmentId: ready.environment.id, address: `${host}:${port}`},
      })
    }
    if (offPath.length > 0) ctx.io.warn(offPathSummary(offPath, label))
  }
  // The listing from before the start does not have the new address: sync with the environment as it is now.
  const current = listing.environments.map((e) => (e.id === ready.environment.id ? ready.environment : e))
  const synced = await applyListing(ctx, {environments: current, problems: listing.problems}, {client, apiUrl: options.apiUrl, origin: originOf(options.apiUrl), baseline})
  // Chosen with --ssh-config (or found in the tree): remembered as `ona ssh-sync --ssh-config` remembers it.
  await rememberManagedFile(ctx, options.apiUrl)
  const id = ready.environment.id.toLowerCase()
  const alias = `${id}.gitpod.environment`
  if (!(await aliasInBlock(ctx, id))) {
    throw new OnaError('ERR_INTERNAL', `environment ${ready.environment.id} is running but its alias is not in ${ctx.paths.sshConfig}`, {hint: 'Run `ona ssh-sync` and read its warnings.'})
  }
  await environments.markActive(client, ready.environment.id)
  if (options.ide !== undefined) {
    const {openIde} = await import('../ide/open.js')
    const opened = await openIde(ctx, {ide: options.ide, alias, environment: ready.environment, ...(options.path ? {path: options.path} : {})})
    if (opened.plan) return run(opened.plan.command, opened.plan.args, opened.missing, opened.plan.windowsVerbatimArguments ? {windowsVerbatimArguments: true} : {})
    return 0
  }
  const configArgs = sshConfigArgs(ctx, {readBySsh: synced.readBySsh, readByHomeConfig: synced.readByHomeConfig})
  if (configArgs.warning) ctx.io.warn(configArgs.warning)
  // ONA_SSH: the OpenSSH client to run (the same one the ssh -G check uses), default `ssh` on PATH.
  const ssh = ctx.env.ONA_SSH || 'ssh'
  // ssh sees the environment ona was given (its HOME is where an Include's `~` points).
  // With no terminal, ssh cannot ask about a host key it has not seen: ona reads its stderr to say what to do.
  let hostKeyFailed = false
  const watchStderr = !(options.interactive ?? Boolean(process.stdin.isTTY))
  const code = await run(ssh, [...configArgs.args, alias, ...(options.args ?? [])], new OnaError('ERR_SSH_NOT_FOUND', `${ssh} is not on PATH`), {
    env: ctx.env,
    ...(watchStderr ? {stderrLines: {to: ctx.io.err, onLine: (line: string) => (hostKeyFailed ||= line.trim() === 'Host key verification failed.')}} : {}),
  })
  if (code === 255 && hostKeyFailed) ctx.io.err.write(hostKeyHint(options.target ?? ready.environment.id, alias))
  return code
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
