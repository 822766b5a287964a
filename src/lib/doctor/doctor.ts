/**
 * `ona doctor`: one report of why a connection fails, in the order a connection goes: this ona and Node,
 * which `ona` is first on PATH; the token (where from, valid, whose); the API (DNS, TCP, TLS, proxy, with
 * the preflight's probes); which config ssh reads and whether it reads ona's block, and what other lines
 * decide for ona's aliases, judged by the code `ona ssh-sync` and `--check` use (other tools' blocks and the
 * user's lines from ssh-config/foreign.ts and tree-check.ts, then the real `ssh -G` through verify.ts); per environment:
 * phase, address, key registered and READY, TCP and the SSH banner from here, the host key known under its
 * HostKeyAlias; the watcher and service; VS Code's Remote-SSH settings.
 *
 * Built from the other rooms, reading and connecting only: it writes nothing (no key is created, no token
 * stored, no cache written). Every probe is capped, and all of them share one deadline.
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import type {ApiClient} from '../api/client.js'
import type {Environment} from '../api/types.js'
import type {Context} from '../context.js'
import {isOnaError, type Warning} from '../errors.js'
import {pathFor} from '../platform/platform.js'
import type {DnsResolver} from '../preflight/dns.js'
import {printable} from '../printable.js'
import {reportHeader} from '../report-header.js'
import type {TreeReport} from '../ssh-config/tree-check.js'
import {cliVersion} from '../version.js'
import {commandOnPath, isNullDevice, knownHostsFiles, knownHostsLookup} from './probes.js'
import type {DoctorReport, Finding, FindingStatus, Section} from './types.js'

export type {DoctorReport, Finding, FindingStatus} from './types.js'

export interface DoctorOptions {
  apiUrl: string
  /** One environment (id, id prefix, name or alias); all of this install's otherwise. */
  environment?: string
  /** The whole report's budget (default 30 s); each probe gets at most `probeMs` of it. */
  timeoutMs?: number
  probeMs?: number
  /** Tests inject a resolver; the system resolver otherwise. */
  resolver?: DnsResolver
}

/** At most this many environments are probed when none is named (the rest are listed as not checked). */
export const MAX_ENVIRONMENTS = 10

const RUNNING = new Set(['ENVIRONMENT_PHASE_RUNNING', 'ENVIRONMENT_PHASE_UPDATING'])

const shortPhase = (phase: string) => phase.replace(/^ENVIRONMENT_PHASE_/, '').toLowerCase()

export async function runDoctor(ctx: Context, options: DoctorOptions): Promise<DoctorReport> {
  const started = Date.now()
  const budget = options.timeoutMs ?? 30_000
  const deadline = started + budget
  const probeMs = options.probeMs ?? 5000
  /** A probe's time: its own cap, within what is left of the report's. */
  const cap = (ms = probeMs) => Math.max(1, Math.min(ms, deadline - Date.now()))
  const findings: Finding[] = []
  const add = (section: Section, id: string, status: FindingStatus, message: string, hint: string | null = null, extra: Partial<Finding> = {}) =>
    findings.push({id, section, status, message, hint, ...extra})
  const origin = new URL(options.apiUrl).origin
  const [{onaLauncher}, {sshUserConfig, passwdOf}] = await Promise.all([import('../sync/sync.js'), import('../platform/passwd.js')])
  const launcher = onaLauncher()

  // 1. This ona, and the one a user gets by typing `ona`.
  add('ona', 'ona.version', 'pass', `ona ${cliVersion()} on Node.js ${process.version} (${launcher})`)
  await checkPath(ctx, launcher, add)

  // 2 and 3 at once: the token (and whose it is) and the API's network path.
  const [client] = await Promise.all([checkToken(ctx, options.apiUrl, origin, cap, add), checkApi(ctx, options, cap, add)])

  // 4. The SSH config: which file ssh reads, whether it reads the block, who else decides for the aliases.
  const config = await checkSshConfig(ctx, origin, sshUserConfig(ctx.platform), passwdOf(ctx.platform), add)

  // 5. Environments: the API's view, the block's, and the network path from here.
  const listed = await listEnvironments(ctx, client, options, config, cap, add)
  const sshG = await verifyListed(ctx, listed, config, sshUserConfig(ctx.platform), passwdOf(ctx.platform), cap, add)
  await Promise.all(listed.map((env) => checkEnvironment(ctx, env, config, sshG.get(`${env.id.toLowerCase()}.gitpod.environment`), cap, add)))

  // 6. The watcher and the service.
  await checkWatcher(ctx, options.apiUrl, origin, add)

  // 7. VS Code's Remote-SSH.
  await checkEditors(ctx, config, listed, add)

  sortFindings(findings, listed)
  const counts: Record<FindingStatus, number> = {pass: 0, warn: 0, fail: 0, skip: 0}
  for (const f of findings) counts[f.status] += 1
  return {
    ...reportHeader({started, timeoutMs: budget, failed: counts.fail > 0, warned: counts.warn > 0}),
    version: cliVersion(),
    node: process.version,
    apiUrl: options.apiUrl,
    origin,
    sshConfig: ctx.paths.sshConfig,
    userSshConfig: sshUserConfig(ctx.platform),
    environment: options.environment ?? null,
    counts,
    findings,
  }
}

type Add = (section: Section, id: string, status: FindingStatus, message: string, hint?: string | null, extra?: Partial<Finding>) => void

async function checkPath(ctx: Context, launcher: string, add: Add): Promise<void> {
  const [ona, onaSsh] = await Promise.all([commandOnPath(ctx.platform, 'ona', launcher), commandOnPath(ctx.platform, 'ona-ssh', launcher)])
  const dir = pathFor(ctx.platform).dirname(launcher)
  if (ona.kind === 'this') add('ona', 'ona.path', 'pass', `\`ona\` on PATH is this one (${ona.found})`)
  else if (ona.kind === 'other') {
    const instead = onaSsh.kind === 'this' ? `Run this one as \`ona-ssh\` (${onaSsh.found}), or put` : 'Put'
    add('ona', 'ona.path', 'warn', `\`ona\` first on PATH is ${ona.found}, a different program (the vendor's CLI from its Homebrew tap is also called \`ona\`)`,
      `${instead} the directory of ona-ssh's \`ona\` (\`npm prefix -g\`/bin) before ${pathFor(ctx.platform).dirname(ona.found!)} on PATH. What ona writes names its own files by absolute path and keeps working either way.`)
  } else if (ona.kind === 'other-copy') {
    add('ona', 'ona.path', 'warn', `\`ona\` first on PATH is ${ona.found}, another install of ona-ssh, not this one (${dir})`, 'Keep one install (`npm uninstall -g ona-ssh` with the other Node), or put the one you want first on PATH.')
  } else {
    add('ona', 'ona.path', onaSsh.kind === 'this' ? 'pass' : 'warn', onaSsh.kind === 'this' ? `\`ona\` is not on PATH; \`ona-ssh\` is this one (${onaSsh.found})` : `no \`ona\` on PATH (this one runs from ${launcher})`,
      onaSsh.kind === 'this' ? null : 'Install with `npm install -g ona-ssh` and put `npm prefix -g`/bin on PATH.')
  }
}

async function checkToken(ctx: Context, apiUrl: string, origin: string, cap: (ms?: number) => number, add: Add): Promise<ApiClient | undefined> {
  const [{resolveToken}, {createApiClient}] = await Promise.all([import('../auth/token.js'), import('../api/client.js')])
  let token: string
  try {
    const found = await resolveToken(ctx, apiUrl)
    token = found.token
    const from = found.source === 'env' ? `the environment (${found.variable})` : found.source === 'keychain' ? 'the OS keychain' : 'the token file'
    add('token', 'auth.token', 'pass', `token for ${origin} from ${from}`)
  } catch (error) {
    if (!isOnaError(error)) throw error
    add('token', 'auth.token', 'fail', error.message, error.hint)
    return undefined
  }
  let client: ApiClient
  try {
    const {rememberingListings} = await import('../completion/environments.js')
    // Its listing feeds shell completion too, like every other.
    client = rememberingListings(ctx.platform, apiUrl, await createApiClient({baseUrl: apiUrl, token, env: ctx.env, retries: 0, timeoutMs: cap()}))
    const identity = await client.getAuthenticatedIdentity()
    const org = identity.organizationId ? `, organization ${printable(identity.organizationId)}` : ''
    if (identity.principal === 'PRINCIPAL_USER') {
      const names = await client.getDisplayNames(identity)
      const name = names.userName ? printable(names.userName) : '(no display name)'
      const orgName = names.organizationName ? ` (${printable(names.organizationName)})` : ''
      add('token', 'auth.user', 'pass', `valid: ${name} (user ${printable(identity.subjectId)}${org}${orgName})`)
    } else {
      const kind = printable(identity.principal.replace(/^PRINCIPAL_/, '').toLowerCase().replace(/_/g, ' '))
      add('token', 'auth.user', 'pass', `valid: ${kind} ${printable(identity.subjectId)}${org}`)
    }
    return client
  } catch (error) {
    if (!isOnaError(error)) throw error
    const network = !['ERR_AUTH_EXPIRED', 'ERR_PERMISSION_DENIED', 'ERR_INSECURE_HTTP'].includes(error.code)
    add('token', 'auth.user', 'fail', network ? `the token could not be checked: ${error.message}` : error.message, network ? 'See the API checks below for where the network path breaks.' : error.hint)
    return undefined
  }
}

async function checkApi(ctx: Context, options: DoctorOptions, cap: (ms?: number) => number, add: Add): Promise<void> {
  const [{runPreflight}, {createDnsResolver}, {apiEndpoint}, {hostsFile}] = await Promise.all([
    import('../preflight/run.js'),
    import('../preflight/dns.js'),
    import('../ssh/connect.js'),
    import('../platform/platform.js'),
  ])
  const report = await runPreflight({
    catalog: {version: 1, sources: {}, categories: {}, endpoints: []},
    extraEndpoints: [apiEndpoint(options.apiUrl)],
    timeoutMs: cap(),
    ide: 'none',
    resolver: options.resolver ?? createDnsResolver(undefined, {hostsFile: hostsFile(ctx.platform)}),
    env: ctx.env,
    onAws: false,
    only: ['management'],
  })
  for (const check of report.checks) {
    const status: FindingStatus = check.status === 'unknown' ? 'warn' : check.status
    const what = check.kind === 'dns' ? 'DNS' : check.kind === 'tcp' ? 'TCP' : check.kind === 'tls' ? 'TLS' : check.kind === 'proxy' ? 'proxy' : check.kind.toUpperCase()
    add('api', `api.${check.kind}`, status, `${what} ${check.target}: ${check.detail}`, status === 'fail' || status === 'warn' ? check.hint : null)
  }
}

interface ConfigState {
  /** The managed file's text ('' when it does not exist). */
  text: string
  exists: boolean
  readBySsh: boolean
  /** This install's entries in the block, by lowercased environment id (`friendly`: its `<name>.ona` alias there). */
  entries: Map<string, {host: string; port: number; user: string; friendly?: string}>
  resolveOnConnect: boolean
  /** Friendly aliases are on for this origin (`ona ssh-sync --friendly-aliases`). */
  friendlyAliases: boolean
  /** The config tree and what it means for the block (tree-check.ts, the same check `ona ssh-sync` runs). */
  tree?: TreeReport
  /** What the block says for each alias (ssh -G's lowercase keywords). */
  written: Map<string, Map<string, string[]>>
  blockLine?: number
}

async function checkSshConfig(ctx: Context, origin: string, ownConfig: string, userHome: (name: string) => string | undefined, add: Add): Promise<ConfigState> {
  const [{resolveTarget}, {readBlockEnvironments, validateEnvironments}, {checkConfigTree}, {writtenValues}, {readSettings, resolveOnConnectFor, friendlyAliasesFor}, {findBlock}] = await Promise.all([
    import('../fs/safe-write.js'),
    import('../ssh-config/index.js'),
    import('../ssh-config/tree-check.js'),
    import('../ssh-config/verify.js'),
    import('../settings.js'),
    import('../ssh-config/block.js'),
  ])
  // The file this install's block lives in, as sync and `ona ssh` decide it (a saved --ssh-config, or found).
  const {useManagedFileSetting} = await import('../settings.js')
  try {
    await useManagedFileSetting(ctx, origin)
  } catch (error) {
    if (!isOnaError(error)) throw error
    add('ssh-config', 'ssh.settings', 'fail', error.message, `Fix or remove ${error.details?.file ?? 'the settings file'}; \`ona ssh-sync\` cannot run while it is unreadable either.`)
  }
  const file = ctx.paths.sshConfig
  const state: ConfigState = {text: '', exists: false, readBySsh: false, entries: new Map(), resolveOnConnect: false, friendlyAliases: false, written: new Map()}
  state.resolveOnConnect = await readSettings(ctx).then((s) => resolveOnConnectFor(s, `${origin}/api`) || Object.entries(s.origins).some(([o, v]) => o === origin && v.resolveOnConnect === true), () => false)
  state.friendlyAliases = await readSettings(ctx).then((s) => friendlyAliasesFor(s, `${origin}/api`), () => false)

  if (path.resolve(ownConfig) !== path.resolve(ctx.paths.userSshConfig)) {
    add('ssh-config', 'ssh.home', 'warn', `$HOME's ${ctx.paths.userSshConfig} is not the config a plain \`ssh\` reads: ssh reads ${ownConfig} (your account's home)`,
      `ona writes for ${ctx.paths.home}; run ona with HOME set to your account's home, or have ${ownConfig} Include ${file}.`)
  } else add('ssh-config', 'ssh.home', 'pass', `a plain \`ssh\` reads ${ownConfig}`)

  let realPath = file
  try {
    const target = await resolveTarget(file)
    realPath = target.realPath
    if (target.stat) {
      state.text = (await readFile(realPath)).toString('latin1')
      state.exists = true
    }
  } catch (error) {
    add('ssh-config', 'ssh.managed', 'fail', isOnaError(error) ? error.message : `cannot read ${file}: ${(error as Error).message}`, isOnaError(error) ? error.hint : null)
    return state
  }
  let environments: ReturnType<typeof validateEnvironments>['valid'] = []
  try {
    const own = readBlockEnvironments(state.text, {file, origin})
    for (const e of own) state.entries.set(e.id.toLowerCase(), {host: e.host, port: e.port, user: e.user, ...(e.friendlyAlias === undefined ? {} : {friendly: e.friendlyAlias})})
    // Each with its friendly alias as the block has it: the tree check judges that name too.
    environments = validateEnvironments(own).valid.map((e) => {
      const friendly = state.entries.get(e.id.toLowerCase())?.friendly
      return friendly === undefined ? e : {...e, friendlyAlias: friendly}
    })
    state.written = writtenValues(state.text)
    state.blockLine = findBlock(state.text, file)?.beginLine
  } catch (error) {
    if (!isOnaError(error)) throw error
    add('ssh-config', 'ssh.managed', 'fail', error.message, error.hint)
    return state
  }
  if (!state.exists) add('ssh-config', 'ssh.managed', 'warn', `${file} does not exist yet`, 'Run `ona ssh-sync` to write the aliases.')
  else if (state.entries.size === 0) add('ssh-config', 'ssh.managed', 'warn', `${file} has no aliases of ${origin}`, 'Run `ona ssh-sync` (with --api-url for another install) to write them.')
  else add('ssh-config', 'ssh.managed', 'pass', `${file} holds ${state.entries.size} alias${state.entries.size === 1 ? '' : 'es'} of ${origin}${state.blockLine ? ` (block at line ${state.blockLine})` : ''}`)

  const report = await checkConfigTree({
    userHome,
    home: ctx.paths.home,
    managedFile: file,
    managedRealPath: realPath,
    managedText: state.text,
    environments,
    userConfig: ctx.paths.userSshConfig,
    systemConfig: ctx.paths.systemSshConfig,
  })
  state.tree = report
  state.readBySsh = report.readBySsh
  if (report.readBySsh) add('ssh-config', 'ssh.reads-managed', 'pass', file === ctx.paths.userSshConfig ? `the block is in ${file} itself` : `ssh reads ${file} (Included from ${ctx.paths.userSshConfig})`)
  else {
    add('ssh-config', 'ssh.reads-managed', 'fail', `ssh does not read ${file}: nothing in ${ctx.paths.userSshConfig} Includes it, so \`ssh <alias>\` does not know ona's aliases`,
      `Add \`${report.includeLine}\` at the top of ${ctx.paths.userSshConfig} (\`ona ssh-sync --add-include\` does it).`, {file})
  }
  for (const w of report.warnings) {
    // Other tools' blocks and the user's lines for what ona's entries do not set: below, from foreign.ts's findings.
    if (w.code === 'W_NOT_INCLUDED' || w.fix !== undefined) continue
    add('ssh-config', findingId(w.code), w.option !== undefined && STOPS.has(w.option) ? 'fail' : 'warn', located(w), TREE_HINTS[w.code] ?? null, location(w))
  }
  // What `ona ssh-sync` warns about and `--check` fails on, judged by the same code (ssh-config/foreign.ts).
  for (const f of report.connection) {
    const status: FindingStatus = f.code === 'W_FOREIGN_CONFIG' || f.settings.some((x) => STOPS.has(x.option)) ? 'fail' : 'warn'
    add('ssh-config', findingId(f.code), status, located(f, f.summary), `${f.fix.charAt(0).toUpperCase()}${f.fix.slice(1)}.`, location(f))
  }
  return state
}

/** `ssh.override`, `ssh.foreign-config`, ... for a warning code (W_OVERRIDE, W_FOREIGN_CONFIG). */
const findingId = (code: string) => `ssh.${code.slice(2).toLowerCase().replace(/_/g, '-')}`

/** Options whose other value makes ssh connect elsewhere, or through something else: a failure, not a warning. */
const STOPS = new Set(['HostName', 'Port', 'ProxyCommand'])

/** A warning's message with its file:line first, as `ona ssh-sync` prints it. */
function located(w: Pick<Warning, 'file' | 'line' | 'message'>, message = w.message): string {
  return w.file !== undefined && w.line !== undefined ? `${w.file}:${w.line}: ${message}` : message
}

const TREE_HINTS: Record<string, string> = {
  W_OVERRIDE: 'Limit that section so it does not match *.gitpod.environment / *.gitpod.remote, or have ssh read the ona block first.',
  W_ALIAS_CLAIMED: 'Remove your own entry for the alias, or rename it; ona keeps the alias current.',
  W_STALE_BLOCK: 'Take the old block out with `ona ssh-sync --ssh-config <that file> --remove --all`.',
  W_INCLUDE_CONDITIONAL: 'Move the Include above every Host and Match line.',
  W_SSH_CONFIG_TREE: 'Fix or remove the named Include.',
}

function location(w: Pick<Warning, 'file' | 'line'>): Partial<Finding> {
  return {...(w.file ? {file: w.file} : {}), ...(w.line ? {line: w.line} : {})}
}

interface Listed {
  id: string
  name?: string
  /** From the API; absent when it could not be asked (then the block's entry is all there is). */
  api?: Environment
}

async function listEnvironments(ctx: Context, client: ApiClient | undefined, options: DoctorOptions, config: ConfigState, cap: (ms?: number) => number, add: Add): Promise<Listed[]> {
  let all: Listed[]
  if (client) {
    try {
      const listing = await client.listEnvironments()
      all = listing.environments.map((e) => ({id: e.id, ...(e.name ? {name: e.name} : {}), api: e}))
    } catch (error) {
      if (!isOnaError(error)) throw error
      add('environment', 'env.list', 'fail', `could not list the environments: ${error.message}`, error.hint)
      all = [...config.entries.keys()].map((id) => ({id}))
    }
  } else {
    all = [...config.entries.keys()].map((id) => ({id}))
    if (all.length > 0) add('environment', 'env.list', 'skip', 'the environments were not listed (no valid token): only the block\'s entries are checked', null)
  }
  if (options.environment !== undefined) {
    const wanted = options.environment.replace(/\.gitpod\.(environment|remote)$/i, '')
    const withApi = all.filter((e) => e.api).map((e) => e.api!)
    if (withApi.length > 0) {
      const {resolveEnvironment} = await import('../environments/resolve.js')
      try {
        const found = resolveEnvironment(withApi, wanted)
        return all.filter((e) => e.id === found.id)
      } catch (error) {
        if (!isOnaError(error)) throw error
        add('environment', 'env.find', 'fail', error.message, error.hint)
        return []
      }
    }
    const match = all.filter((e) => e.id.toLowerCase().startsWith(wanted.toLowerCase()))
    if (match.length !== 1) add('environment', 'env.find', 'fail', `no single environment in the block matches ${printable(options.environment)}`, 'Give the full id; `ona environment list` shows them.')
    return match.length === 1 ? match : []
  }
  // Without a name: what ssh could connect to now (running ones) and what the block holds.
  const relevant = all.filter((e) => (e.api ? RUNNING.has(e.api.phase) : true) || config.entries.has(e.id.toLowerCase()))
  if (relevant.length === 0 && all.length > 0) add('environment', 'env.list', 'pass', `none of your ${all.length} environment${all.length === 1 ? ' is' : 's are'} running`, 'Name one to check it anyway: `ona doctor <id or name>`.')
  if (relevant.length === 0 && all.length === 0 && client) add('environment', 'env.list', 'pass', 'you have no environments', null)
  if (relevant.length > MAX_ENVIRONMENTS) {
    add('environment', 'env.list', 'skip', `${relevant.length - MAX_ENVIRONMENTS} more environments not checked`, 'Name one: `ona doctor <id or name>`.')
  }
  return relevant.slice(0, MAX_ENVIRONMENTS)
}

type Resolved = Map<string, string[]> | {error: string}

/** An environment's aliases: both of its id's, and (unless `friendly` is false) its `<name>.ona` as the block has it. */
function aliasesIn(e: Listed, config: ConfigState, friendly = true): string[] {
  const id = e.id.toLowerCase()
  const alias = friendly ? config.entries.get(id)?.friendly : undefined
  return [`${id}.gitpod.environment`, `${id}.gitpod.remote`, ...(alias === undefined ? [] : [alias])]
}

/**
 * `ssh -G` for the aliases of each listed environment (its friendly one too), as a plain `ssh` resolves
 * them (with -F when $HOME is not the account's home), through verify.ts as `ona ssh-sync` runs it: what
 * differs from the block, grouped per line, and not repeated where a finding above already names the line. Returns what ssh -G
 * printed per alias (the host key check reads it), or why there is nothing.
 */
async function verifyListed(ctx: Context, listed: Listed[], config: ConfigState, ownConfig: string, userHome: (name: string) => string | undefined, cap: (ms?: number) => number, add: Add): Promise<Map<string, Resolved>> {
  const result = new Map<string, Resolved>()
  const report = config.tree
  const aliases = listed.flatMap((e) => aliasesIn(e, config))
  if (!report || aliases.length === 0) return result
  const [{configFileFor, groupDifferences, verifyAliases}, {attributeLines, TOOLS}] = await Promise.all([import('../ssh-config/verify.js'), import('../ssh-config/foreign.js')])
  const verified = await verifyAliases({
    text: config.text,
    aliases,
    tree: report.tree,
    configFile: configFileFor(ctx.paths.userSshConfig, ownConfig),
    home: ctx.paths.home,
    userHome,
    env: ctx.env,
    timeoutMs: cap(),
    budgetMs: cap(Number.POSITIVE_INFINITY),
  })
  if (verified.skipped) add('ssh-config', 'ssh.verify', 'skip', verified.skipped, null)
  const owners = attributeLines(report.tree)
  const ownerOf = (w: Warning) => {
    const index = report.tree.lines.findIndex((l) => l.file === w.file && l.line === w.line)
    const owner = index === -1 ? undefined : owners[index]
    return owner === undefined || owner === 'ona' ? undefined : TOOLS[owner].name
  }
  for (const w of groupDifferences(verified.warnings, report.covered)) {
    if (w.code === 'W_SSH_DIFFERS') {
      const tool = w.file === undefined ? undefined : ownerOf(w)
      const hint = w.file === undefined
        ? `Run \`ssh -G ${w.aliases?.[0] ?? w.alias ?? '<alias>'}\` to see where it comes from.`
        : tool
          ? `That line is ${tool}'s: move the Include of its file below ona's block, or remove it.`
          : "Limit that section so it does not match ona's aliases, or move ona's block (or its Include) above it."
      add('ssh-config', 'ssh.decides', w.option !== undefined && STOPS.has(w.option) ? 'fail' : 'warn', located(w), hint, location(w))
    } else if (w.code === 'W_SSH_UNKNOWN_USER') {
      add('ssh-config', 'ssh.unknown-user', 'fail', located(w), 'Name a user this machine knows, or an absolute path.', location(w))
    } else {
      add('ssh-config', 'ssh.verify', 'warn', located(w), null, location(w))
    }
  }
  for (const alias of aliases) {
    const failed = verified.warnings.find((w) => w.code === 'W_SSH_G_FAILED' && w.alias === alias)
    result.set(alias, verified.resolved.get(alias) ?? {error: failed?.message ?? verified.skipped ?? `not checked with ssh -G (${alias} is not in the block)`})
  }
  return result
}

async function checkEnvironment(ctx: Context, env: Listed, config: ConfigState, got: Map<string, string[]> | {error: string} | undefined, cap: (ms?: number) => number, add: Add): Promise<void> {
  const id = env.id
  const label = {environment: id}
  const e = env.api
  const entry = config.entries.get(id.toLowerCase())
  const alias = `${id.toLowerCase()}.gitpod.environment`
  // Phase.
  if (e) {
    const phase = shortPhase(e.phase)
    const named = e.name ? `${printable(JSON.stringify(e.name))} is ` : ''
    if (RUNNING.has(e.phase)) add('environment', 'env.phase', 'pass', `${named}${phase}`, null, label)
    else if (e.phase === 'ENVIRONMENT_PHASE_STOPPED') add('environment', 'env.phase', 'warn', `${named}stopped`, config.resolveOnConnect ? 'ssh starts it through ona (resolve-on-connect).' : `\`ona ssh ${id}\` starts it and connects.`, label)
    else add('environment', 'env.phase', 'warn', `${named}${phase}`, 'Wait until it is running, or check it in the dashboard.', label)
  }
  // Address: the API's against the block's.
  const address = e?.ssh ?? entry
  const shown = (a: {user: string; host: string; port: number}) => `${a.user}@${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`
  if (e?.ssh && entry) {
    if (e.ssh.host.toLowerCase() === entry.host.toLowerCase() && e.ssh.port === entry.port && e.ssh.user === entry.user) add('environment', 'env.address', 'pass', `${alias} -> ${printable(shown(e.ssh))}`, null, label)
    else add('environment', 'env.address', 'warn', `the block has ${printable(shown(entry))}, the API ${printable(shown(e.ssh))}`, 'Run `ona ssh-sync` (or keep `ona ssh-sync --watch` running).', label)
  } else if (e?.ssh) add('environment', 'env.address', 'fail', `${alias} is not in ${ctx.paths.sshConfig} (the API has ${printable(shown(e.ssh))})`, 'Run `ona ssh-sync`.', label)
  else if (entry) add('environment', 'env.address', e ? 'warn' : 'pass', `${alias} -> ${printable(shown(entry))}${e ? ' (last known; the API has no SSH address now)' : ' (from the block)'}`, null, label)
  else add('environment', 'env.address', 'skip', 'no SSH address yet', null, label)

  // The key the entry names, registered and READY.
  await checkKey(ctx, e, config.written.get(alias)?.get('identityfile')?.[0], add, label)

  // TCP and the SSH banner from this machine.
  if (address && !(e && !RUNNING.has(e.phase))) {
    const {probeSsh} = await import('../ssh/banner.js')
    const probe = await probeSsh(address.host, address.port, cap(3000))
    const tcpHint = probe.tcp.ok ? null : probe.tcp.code === 'ECONNREFUSED'
      ? 'Nothing listens there: the environment\'s sshd is not up yet, or the address is stale (`ona ssh-sync` brings the current one).'
      : 'A firewall, VPN or proxy between here and the environment drops SSH; `ona preflight` checks the path to the gateway.'
    add('environment', 'env.tcp', probe.tcp.ok ? 'pass' : 'fail', `TCP ${printable(probe.target)}: ${probe.tcp.detail}`, tcpHint, label)
    if (probe.banner) add('environment', 'env.banner', probe.banner.ok ? 'pass' : 'fail', `SSH banner: ${printable(probe.banner.detail)}`, probe.banner.ok ? null : 'Something answers on that port but not sshd (a proxy, a captive portal): check the network path.', label)
  } else if (address) add('environment', 'env.tcp', 'skip', 'not probed: the environment is not running', null, label)

  // The host key, known under the HostKeyAlias ssh will use.
  if (!got) return
  if (!(got instanceof Map)) {
    add('environment', 'env.host-key', 'skip', got.error, null, label)
    return
  }
  const files = knownHostsFiles([...(got.get('userknownhostsfile') ?? []), ...(got.get('globalknownhostsfile') ?? [])], ctx.paths.home, ctx.platform)
  if (files.some((f) => isNullDevice(f))) {
    add('environment', 'env.host-key', 'warn', 'host key checking is off for it (UserKnownHostsFile /dev/null): see the config findings', null, label)
    return
  }
  const name = got.get('hostkeyalias')?.[0] ?? got.get('hostname')?.[0] ?? alias
  let state: 'known' | 'revoked' | 'unknown' = 'unknown'
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '')
    const found = knownHostsLookup(text, name)
    if (found === 'revoked') state = 'revoked'
    if (found === 'known' && state === 'unknown') state = 'known'
  }
  if (state === 'known') add('environment', 'env.host-key', 'pass', `host key known as ${printable(name)}`, null, label)
  else if (state === 'revoked') add('environment', 'env.host-key', 'fail', `the host key of ${printable(name)} is marked @revoked in a known_hosts file`, 'Remove the @revoked line if the key is the environment\'s, or ask your administrator.', label)
  else add('environment', 'env.host-key', 'pass', `host key not known yet as ${printable(name)} (the first connection asks to confirm it, once)`, null, label)
}

async function checkKey(ctx: Context, e: Environment | undefined, identityFile: string | undefined, add: Add, label: Partial<Finding>): Promise<void> {
  const [{readPublicKey, plannedKeyPath, keyDir}, {registeredKeyId, keyPhase}, {readSettings}] = await Promise.all([
    import('../keys/machine-key.js'),
    import('../environments/keys.js'),
    import('../settings.js'),
  ])
  const settings = await readSettings(ctx).catch(() => ({identityFile: undefined, origins: {}}))
  const file = identityFile ? identityFile.replace(/^"|"$/g, '') : plannedKeyPath(ctx, settings.identityFile)
  let publicKey: string
  try {
    publicKey = await readPublicKey(file)
  } catch (error) {
    if (!isOnaError(error)) throw error
    const missing = error.details?.missing === true
    add('environment', 'env.key', missing ? 'warn' : 'fail', error.message, missing ? 'Run `ona ssh-sync` (or `ona ssh`): it creates the key and registers it.' : error.hint, label)
    return
  }
  if (!e) return
  const keyId = await readFile(path.join(keyDir(ctx), 'key-id'), 'utf8').then((t) => t.trim(), () => '')
  const registered = registeredKeyId(e, {publicKey, keyId})
  if (!registered) {
    add('environment', 'env.key', RUNNING.has(e.phase) ? 'fail' : 'warn', `${file} is not registered on it`, 'Run `ona ssh-sync` or `ona ssh <id>`: they register it (a token scoped to one environment cannot).', label)
    return
  }
  const phase = keyPhase(e, registered)
  if (phase === 'CONTENT_PHASE_READY') add('environment', 'env.key', 'pass', `${file} registered and READY`, null, label)
  else if (phase === 'CONTENT_PHASE_FAILED') add('environment', 'env.key', 'fail', `${file} registered, but the environment failed to install it`, 'Remove and add it again: `ona ssh <id>` re-registers it; check the environment\'s logs if it persists.', label)
  else add('environment', 'env.key', RUNNING.has(e.phase) ? 'warn' : 'pass', `${file} registered${phase ? `, ${phase.replace(/^CONTENT_PHASE_/, '').toLowerCase()}` : ''}`, RUNNING.has(e.phase) ? 'It is on its way to the environment\'s sshd; try again in a few seconds.' : null, label)
}

const SECTION_ORDER: Section[] = ['ona', 'token', 'api', 'ssh-config', 'environment', 'watcher', 'vscode']

/**
 * The report's order, whatever order the probes (run at once) finished in: section by section as a
 * connection goes, and each environment's findings together, in the order the environments were listed.
 */
function sortFindings(findings: Finding[], listed: Listed[]): void {
  const order = new Map(listed.map((e, i) => [e.id, i]))
  const rank = (f: Finding) => SECTION_ORDER.indexOf(f.section) * 1000 + (f.environment === undefined ? 0 : 1 + (order.get(f.environment) ?? 0))
  // Array.prototype.sort is stable: within a rank, findings keep the order they were made in.
  findings.sort((a, b) => rank(a) - rank(b))
}

async function checkWatcher(ctx: Context, apiUrl: string, origin: string, add: Add): Promise<void> {
  try {
    const {serviceStatus} = await import('../service/index.js')
    const s = await serviceStatus(ctx, {apiUrl, sshConfig: ctx.paths.sshConfig})
    if (s.running) add('watcher', 'watch.running', s.lastError ? 'warn' : 'pass', `\`ona ssh-sync --watch\` runs (pid ${s.pid})${s.lastSync ? `, last sync ${s.lastSync}` : ''}${s.lastError ? `; last error: ${printable(s.lastError)}` : ''}`, s.lastError ? `See its log: ${s.logs}` : null)
    else add('watcher', 'watch.running', 'skip', `no \`ona ssh-sync --watch\` runs for ${origin}: the block is as current as the last \`ona ssh-sync\` / \`ona ssh\``, null)
    if (s.installed) add('watcher', 'watch.service', s.running ? 'pass' : 'warn', `the user service is installed (${s.file})${s.running ? '' : ' but its watcher does not run'}`, s.running ? null : `Check it: \`ona service status\`; logs: ${s.logs}`)
    else add('watcher', 'watch.service', 'skip', 'no user service installed (`ona service install` keeps the aliases current from login)', null)
    if (s.removedAt) add('watcher', 'watch.removed', 'warn', `\`ona ssh-sync --remove\` took this install's aliases out (${s.removedAt}); the service does not put them back`, 'Run `ona ssh-sync` to bring them back.')
  } catch (error) {
    add('watcher', 'watch.service', 'skip', `the service state could not be read: ${isOnaError(error) ? error.message : (error as Error).message}`, null)
  }
}

/**
 * Each editor `ona ide setup` knows (VS Code, Cursor, Windsurf, VSCodium, VS Code Insiders) whose user
 * settings exist: its remote.SSH values read and judged by ide/settings.ts and setup.ts, as `ona ide setup`
 * reads and judges them, so the two never disagree.
 */
async function checkEditors(ctx: Context, config: ConfigState, listed: Listed[], add: Add): Promise<void> {
  const [{EDITOR_IDS, EDITORS, appDataDir}, {checkRemoteSsh, readEditorSettings, ALIAS_PATTERNS, FRIENDLY_PATTERN, START_CONNECT_TIMEOUT_S}, {configFileReach}] = await Promise.all([
    import('../ide/editors.js'),
    import('../ide/settings.js'),
    import('../ide/setup.js'),
  ])
  // The friendly aliases (as the block has them) when they are on: `ona ide setup` maps *.ona then.
  const hosts = listed.flatMap((e) => aliasesIn(e, config, config.friendlyAliases))
  const patterns = config.friendlyAliases ? [...ALIAS_PATTERNS, FRIENDLY_PATTERN] : ALIAS_PATTERNS
  const shown = (names: string[]) => (names.length === 1 ? names[0] : `${names.length} ona aliases`)
  let any = false
  for (const id of EDITOR_IDS) {
    const {name} = EDITORS[id]
    let settings: Awaited<ReturnType<typeof readEditorSettings>>
    try {
      settings = await readEditorSettings(ctx.platform, id)
    } catch (error) {
      if (!isOnaError(error)) throw error
      any = true
      add('vscode', 'vscode.settings', 'warn', `${name}: ${error.message}; its Remote-SSH settings were not read`, error.hint, typeof error.details?.file === 'string' ? {file: error.details.file} : {})
      continue
    }
    if (!settings.exists) continue
    any = true
    const {file} = settings
    const check = checkRemoteSsh(settings.values, {hosts})
    // remote.SSH.configFile: the file Remote-SSH reads instead of ~/.ssh/config.
    if (check.configFile !== undefined) {
      const {named, reads} = await configFileReach(ctx, check.configFile)
      add('vscode', 'vscode.config-file', reads ? 'pass' : 'fail', `${name} reads ${named} (remote.SSH.configFile)${reads ? ', which has ona\'s aliases' : `, which does not read ${ctx.paths.sshConfig}: ona's aliases are unknown there`}`,
        reads ? null : `Add \`Include ${ctx.paths.sshConfig}\` at the top of ${named}, or run \`ona ssh-sync --ssh-config ${named}\`, or remove the setting.`, {file})
    }
    // remote.SSH.connectTimeout: a start on connect takes longer than the default 15 s; the bar `ona ide setup` writes.
    if (settings.values.connectTimeout !== undefined && typeof settings.values.connectTimeout !== 'number') {
      add('vscode', 'vscode.connect-timeout', 'warn', `${name}'s remote.SSH.connectTimeout is ${printable(JSON.stringify(settings.values.connectTimeout) ?? '')}, not a number: it waits ${check.connectTimeout} s`,
        `Set it to a number of seconds${config.resolveOnConnect ? ` (${START_CONNECT_TIMEOUT_S} for a start on connect)` : ''}; \`ona ide setup\` leaves a value it cannot read alone.`, {file})
    } else if (config.resolveOnConnect && !check.connectTimeoutEnough) {
      add('vscode', 'vscode.connect-timeout', 'warn', `${name} gives up after ${check.connectTimeout} s (remote.SSH.connectTimeout), less than a stopped environment may take to start through ona`, `Run \`ona ide setup ${id}\` (sets it to ${START_CONNECT_TIMEOUT_S} s).`, {file})
    } else add('vscode', 'vscode.connect-timeout', 'pass', `${name} waits ${check.connectTimeout} s to connect (remote.SSH.connectTimeout)`, null, {file})
    // remote.SSH.remotePlatform: without an entry the editor asks on every new host; another platform sets up the wrong server.
    if (hosts.length === 0) continue
    if (check.remotePlatformOther.length > 0) {
      const other = check.remotePlatformOther
      add('vscode', 'vscode.remote-platform', 'fail', `${name}'s remote.SSH.remotePlatform maps ${shown(other.map((o) => o.host))} to ${printable([...new Set(other.map((o) => JSON.stringify(o.platform)))].join(', '))}: ona's environments run Linux`,
        `Change that entry to "linux" in ${file} (\`ona ide setup\` keeps a platform you set).`, {file})
    } else if (check.remotePlatformMissing.length > 0) {
      add('vscode', 'vscode.remote-platform', 'warn', `${name} has no remote.SSH.remotePlatform entry for ${shown(check.remotePlatformMissing)}: it asks for the platform on every new host`,
        `Run \`ona ide setup ${id}\` (maps ${patterns.join(' and ')} to linux).`, {file})
    } else add('vscode', 'vscode.remote-platform', 'pass', `${name} knows the platform of ona's aliases (remote.SSH.remotePlatform)`, null, {file})
  }
  const names = EDITOR_IDS.map((e) => EDITORS[e].name)
  if (!any) add('vscode', 'vscode.settings', 'skip', `no user settings of ${names.slice(0, -1).join(', ')} or ${names.at(-1)} found (${appDataDir(ctx.platform)})`, null)
}
