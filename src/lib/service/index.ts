/**
 * `ona service install | uninstall | status`: the watcher as a per-user service that starts at login and
 * restarts on failure, one per (API origin, SSH config) (naming.ts). One file per platform (systemd.ts,
 * launchd.ts, task-scheduler.ts) renders the definition; this module writes it, runs the platform's service
 * manager through an injected runner (the real one spawns; tests pass the platform and a runner, so Linux
 * tests cover all three), and reads the manager's state, the watcher's status file and its socket for
 * `status`. A manager that cannot be reached is a typed error with a hint for the case (manager.ts);
 * `uninstall` removes what `install` wrote even then, and says what it could not do.
 */
import {execFile} from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'

import {DEFAULT_API_URL, resolveApiUrl} from '../api/base-url.js'
import type {Context} from '../context.js'
import {OnaError, isOnaError} from '../errors.js'
import {defaultSshConfig, expandHome, isMac, isWindows, pathFor} from '../platform/platform.js'
import {MESSAGE_MAX, printable} from '../printable.js'
import {maskCredentials, maskedEnvironment} from './environment.js'
import {clearServiceExit, readServiceExit, type ServiceExit} from './exit-record.js'
import {launchAgentsDir, launchdCommands, launchdPlistPath, renderLaunchdPlist} from './launchd.js'
import {managerError, parseManagerState, type ManagerKind, type ManagerState} from './manager.js'
import {DEFINITION_FILE, legacyCommand, parseMarker, type ServiceTarget} from './naming.js'
import {serviceSpec, type ServiceSpec} from './spec.js'
import {decodeDefinition} from './supervisor.js'
import {renderSystemdUnit, systemdCommands, systemdUnitDir, systemdUnitPath} from './systemd.js'
import {expandedByTaskScheduler, renderTaskXml, taskCommands, taskXmlPath} from './task-scheduler.js'

export {serviceSpec, type ServiceSpec} from './spec.js'
export type {ServiceTarget} from './naming.js'

/** Runs one command; resolves with its exit code and output (never rejects on a non-zero exit). */
export type Runner = (command: string, args: string[]) => Promise<{code: number; stdout: string; stderr: string}>

export function spawnRunnerWith(timeoutMs: number): Runner {
  return (command, args) =>
    new Promise((resolve) => {
      execFile(command, args, {timeout: timeoutMs, windowsHide: true}, (error, stdout, stderr) => {
        const code = error ? (typeof (error as {code?: unknown}).code === 'number' ? (error as {code: number}).code : 127) : 0
        resolve({code, stdout: String(stdout), stderr: String(stderr || (error && !stdout ? error.message : ''))})
      })
    })
}

export const spawnRunner: Runner = spawnRunnerWith(30_000)

export interface ServiceDefinition {
  kind: ManagerKind
  name: string
  file: string
  content: string
  target: ServiceTarget
  /** Commands in order; a leading `-` on the command means its failure is ignored. */
  install: string[][]
  uninstall: string[][]
  /** Run after the file is gone (failures ignored). */
  afterRemove: string[][]
  status: string[]
  logs: string
}

function kindOf(platform: Context['platform']): ManagerKind {
  return isMac(platform) ? 'launchd' : isWindows(platform) ? 'task' : 'systemd'
}

/** The commands of the service called `name` whose file is `file` (also for an earlier ona's definition). */
function commandsFor(kind: ManagerKind, name: string, file: string, uid: number): Pick<ServiceDefinition, 'install' | 'uninstall' | 'afterRemove' | 'status'> {
  if (kind === 'launchd') return launchdCommands(name, file, uid)
  if (kind === 'task') return taskCommands(name, file)
  return systemdCommands(name)
}

export function serviceDefinition(spec: ServiceSpec, identity: {uid?: number; user?: string} = {}): ServiceDefinition {
  const uid = identity.uid ?? 501
  const kind = kindOf(spec.platform)
  if (kind === 'launchd') {
    const file = launchdPlistPath(spec)
    return {kind, name: spec.names.launchd, file, target: spec.target, content: renderLaunchdPlist(spec), ...commandsFor(kind, spec.names.launchd, file, uid), logs: spec.logFile ?? ''}
  }
  if (kind === 'task') {
    const file = taskXmlPath(spec)
    return {kind, name: spec.names.task, file, target: spec.target, content: renderTaskXml(spec, identity.user ?? 'user'), ...commandsFor(kind, spec.names.task, file, uid), logs: spec.logFile ?? ''}
  }
  return {kind, name: spec.names.systemd, file: systemdUnitPath(spec), target: spec.target, content: renderSystemdUnit(spec), ...commandsFor(kind, spec.names.systemd, '', uid), logs: `journalctl --user -u ${spec.names.systemd}`}
}

export interface ServiceOptions {
  /** Absolute node and launcher paths (default: the ones running now). */
  node?: string
  script?: string
  /** The API (default: ONA_API_URL..., as resolveApiUrl reads it). */
  apiUrl?: string
  /** The SSH config (default ctx.paths.sshConfig: --ssh-config, ONA_SSH_CONFIG or ~/.ssh/config). */
  sshConfig?: string
  runner?: Runner
  /** Write the file but run no service manager (tests, or a machine without a user session manager). */
  noStart?: boolean
  dryRun?: boolean
  identity?: {uid?: number; user?: string}
}

/** The (API, SSH config) pair a command is about. */
export function serviceTarget(ctx: Context, options: {apiUrl?: string; sshConfig?: string} = {}): ServiceTarget {
  const apiUrl = resolveApiUrl(options.apiUrl, ctx.env)
  return {apiUrl, origin: new URL(apiUrl).origin, sshConfig: options.sshConfig ?? ctx.paths.sshConfig}
}

/**
 * The pair a command is about, the way the watcher itself decides its file: without `--ssh-config` (or
 * ONA_SSH_CONFIG), the file this API's block lives in as settings remember it (`ona ssh-sync --ssh-config
 * ... --add-include` once), not `~/.ssh/config`. Otherwise a plain `ona service install` would pin the
 * watcher to `~/.ssh/config` and write a second block there, and status/uninstall would look for a service
 * the user never meant.
 */
export async function resolveServiceTarget(ctx: Context, options: {apiUrl?: string; sshConfig?: string} = {}): Promise<ServiceTarget> {
  if (options.sshConfig === undefined) {
    const {useManagedFileSetting} = await import('../settings.js')
    await useManagedFileSetting(ctx, resolveApiUrl(options.apiUrl, ctx.env))
  }
  return serviceTarget(ctx, options)
}

const sameTarget = (a: ServiceTarget, b: ServiceTarget) => a.origin === b.origin && a.sshConfig === b.sshConfig

/**
 * Whether `other` is what an earlier plain `ona service install` wrote for `target`'s API: pinned to
 * `~/.ssh/config` while this install's block lives in the file its setting names. That service's watcher
 * writes a second block into `~/.ssh/config`, so it is replaced (install) and removed (uninstall) as this
 * install's own.
 */
function pinnedByEarlierInstall(ctx: Context, other: ServiceTarget, target: ServiceTarget): boolean {
  const fromSetting = ctx.paths.sshConfigFrom === 'setting' || ctx.paths.sshConfigFrom === 'found'
  return fromSetting && other.origin === target.origin && other.sshConfig === ctx.paths.userSshConfig && target.sshConfig !== ctx.paths.userSshConfig
}

function identityOf(options: ServiceOptions): {uid?: number; user?: string} {
  return {uid: options.identity?.uid ?? process.getuid?.(), user: options.identity?.user ?? safeUser()}
}

async function definitionFor(ctx: Context, target: ServiceTarget, options: ServiceOptions, askVersion: boolean): Promise<{def: ServiceDefinition; spec: ServiceSpec}> {
  const {onaLauncher} = await import('../sync/sync.js')
  const node = options.node ?? process.execPath
  const script = options.script ?? onaLauncher()
  let systemdVersion: number | undefined
  if (askVersion && kindOf(ctx.platform) === 'systemd') {
    const version = await (options.runner ?? spawnRunner)('systemctl', ['--version']).catch(() => undefined)
    const match = version && /systemd (\d+)/.exec(version.stdout)
    if (match) systemdVersion = Number(match[1])
  }
  const spec = serviceSpec(ctx, {node, script, target, systemdVersion})
  return {def: serviceDefinition(spec, identityOf(options)), spec}
}

function safeUser(): string | undefined {
  try {
    const {username} = os.userInfo()
    return process.env.USERDOMAIN ? `${process.env.USERDOMAIN}\\${username}` : username
  } catch {
    return undefined
  }
}

/** A definition file found on disk: what it serves, and whether an earlier ona wrote it (no marker). */
export interface InstalledDefinition {
  kind: ManagerKind
  name: string
  file: string
  target: ServiceTarget
  legacy: boolean
}

function definitionDir(ctx: Context, kind: ManagerKind): string {
  if (kind === 'launchd') return launchAgentsDir(ctx.paths.home)
  if (kind === 'task') return ctx.paths.stateDir
  return systemdUnitDir(ctx.env, ctx.paths.home)
}


/** What an earlier ona's single-name definition served, from its environment and arguments. */
function legacyTarget(ctx: Context, kind: ManagerKind, content: string): ServiceTarget {
  const {env, args} = legacyCommand(kind, content)
  let apiUrl: string
  try {
    apiUrl = resolveApiUrl(undefined, env)
  } catch {
    apiUrl = resolveApiUrl(undefined, {})
  }
  const at = args.indexOf('--ssh-config')
  const given = at === -1 ? env.ONA_SSH_CONFIG : args[at + 1]
  const sshConfig = given ? expandHome(ctx.platform, given, ctx.paths.home) : defaultSshConfig(ctx.platform)
  return {apiUrl, origin: new URL(apiUrl).origin, sshConfig}
}

/** Every service definition ona wrote for this user, sorted by name. */
export async function installedServices(ctx: Context): Promise<InstalledDefinition[]> {
  const kind = kindOf(ctx.platform)
  const dir = definitionDir(ctx, kind)
  const names = await fs.readdir(dir).catch(() => [] as string[])
  const found: InstalledDefinition[] = []
  for (const entry of names.sort()) {
    if (!DEFINITION_FILE[kind].test(entry)) continue
    const file = pathFor(ctx.platform).join(dir, entry)
    const bytes = await fs.readFile(file).catch(() => undefined)
    if (!bytes) continue
    const content = decodeDefinition(bytes)
    const marked = parseMarker(content)
    const name = kind === 'systemd' ? entry : entry.replace(/\.(plist|xml)$/, '')
    found.push({kind, name, file, target: marked ?? legacyTarget(ctx, kind, content), legacy: marked === undefined})
  }
  return found
}

/** Runs commands in order; the first failure of one without a `-` throws (managerError). */
async function runAll(kind: ManagerKind, runner: Runner, commands: string[][], what: string): Promise<void> {
  for (const [first, ...args] of commands) {
    const optional = first!.startsWith('-')
    const command = optional ? first!.slice(1) : first!
    const result = await runner(command, args)
    if (result.code !== 0 && !optional) throw managerError(kind, [command, ...args], result, what)
  }
}

/** Runs every command, whatever fails; returns what could not be done, one sentence each. */
async function runEach(kind: ManagerKind, runner: Runner, commands: string[][], what: string): Promise<string[]> {
  const failures: string[] = []
  for (const [first, ...args] of commands) {
    const optional = first!.startsWith('-')
    const command = optional ? first!.slice(1) : first!
    const result = await runner(command, args)
    if (result.code !== 0 && !optional) failures.push(managerError(kind, [command, ...args], result, what).message)
  }
  return failures
}

/** The bytes of the definition file: schtasks reads the XML as the UTF-16 (with BOM) its declaration names. */
export function definitionBytes(def: Pick<ServiceDefinition, 'kind' | 'content'>): Buffer {
  return def.kind === 'task' ? Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(def.content, 'utf16le')]) : Buffer.from(def.content, 'utf8')
}

/** Writes the definition through safe-write (atomic, locked), private to the user: it may hold proxy credentials. */
async function writeDefinition(def: ServiceDefinition): Promise<void> {
  // safe-write takes one char per byte.
  const bytes = definitionBytes(def)
  const {updateFile} = await import('../fs/safe-write.js')
  try {
    await updateFile(def.file, {transform: () => bytes.toString('latin1'), backup: false})
    await fs.chmod(def.file, 0o600)
  } catch (error) {
    if (isOnaError(error)) throw new OnaError('ERR_SERVICE', `could not write ${def.file}: ${error.message}`, {hint: 'Check the permissions of that directory; nothing was installed.', details: {file: def.file}})
    throw error
  }
}

export interface ServiceInstallResult {
  kind: ServiceDefinition['kind']
  name: string
  file: string
  apiUrl: string
  sshConfig: string
  written: boolean
  started: boolean
  commands: string[][]
  logs: string
  /** The variables the service runs with (credentials in URLs masked). */
  environment: Record<string, string>
  /** Variables of the shell left out (a value with a newline or other control character). */
  skippedEnvironment: string[]
  /** Definitions an earlier ona wrote for this same API and config under another name: removed. */
  replaced: string[]
  /** What could not be done while removing those (the manager could not be reached...). */
  notDone: string[]
  /** With --dry-run: the definition, credentials masked. */
  content?: string
}

/** Writes the service definition and starts it (unless dryRun / noStart). */
export async function installService(ctx: Context, options: ServiceOptions = {}): Promise<ServiceInstallResult> {
  const target = await resolveServiceTarget(ctx, options)
  const runner = options.runner ?? spawnRunner
  const {def, spec} = await definitionFor(ctx, target, options, !options.dryRun)
  const existing = await installedServices(ctx)
  const occupant = existing.find((e) => e.file === def.file && !sameTarget(e.target, target))
  if (occupant) {
    throw new OnaError('ERR_SERVICE_CONFLICT', `${def.file} keeps ${occupant.target.origin} current in ${occupant.target.sshConfig} (written by an earlier ona, when every install shared one service); it was left alone`, {
      hint: `Run \`ona service install --api-url ${occupant.target.apiUrl} --ssh-config ${occupant.target.sshConfig}\` first (that service moves to a name of its own), then run this command again.`,
      details: {file: def.file},
    })
  }
  const expanded = def.kind === 'task' ? expandedByTaskScheduler(spec) : undefined
  if (expanded !== undefined) {
    throw new OnaError('ERR_SERVICE', `${expanded} holds a %NAME% sequence, which Task Scheduler replaces by that variable's value in a task's command (there is no escape for it); nothing was installed`, {
      hint: 'Install node and ona under a path without `%`, or run `ona ssh-sync --watch` in a terminal.',
      details: {path: expanded},
    })
  }
  const older = existing.filter((e) => e.file !== def.file && (sameTarget(e.target, target) || pinnedByEarlierInstall(ctx, e.target, target)))
  const masked = {...spec, env: maskedEnvironment(spec.env)}
  const result: ServiceInstallResult = {
    kind: def.kind,
    name: def.name,
    file: def.file,
    apiUrl: target.apiUrl,
    sshConfig: target.sshConfig,
    written: false,
    started: false,
    commands: def.install,
    logs: def.logs,
    environment: masked.env,
    skippedEnvironment: spec.skippedEnv,
    replaced: older.map((e) => e.file),
    notDone: [],
  }
  if (options.dryRun) return {...result, content: serviceDefinition(masked, identityOf(options)).content}
  await writeDefinition(def)
  result.written = true
  // launchd opens StandardOutPath but does not create its directory: without it the agent logs nowhere.
  if (spec.logFile) {
    const {mkdirOwned} = await import('../fs/safe-write.js')
    await mkdirOwned(pathFor(ctx.platform).dirname(spec.logFile)).catch(() => undefined)
  }
  // An earlier ona's service for the same pair goes first: two would fight over one lock, one restarting forever.
  for (const old of older) result.notDone.push(...(await removeDefinition(ctx, old, options.noStart ? undefined : runner, identityOf(options).uid)))
  if (options.noStart) return result
  const [end, ...start] = def.kind === 'task' ? def.install : [undefined, ...def.install]
  if (end) {
    await runAll(def.kind, runner, [end], '')
    await stopTaskWatcher(ctx, def.kind, target)
  }
  await runAll(def.kind, runner, start as string[][], `wrote ${def.file}, but could not start ${def.name}`)
  await clearServiceExit(ctx.paths.stateDir, target)
  result.started = true
  return result
}

/**
 * Windows: ending a task (`schtasks /End`) ends its process, the supervisor, but not the watcher it
 * started, which would keep writing after an uninstall (or beside the reinstalled task's own). It is asked
 * to stop through its socket, as `ona ssh-sync --remove` does (it exits 0, so nothing restarts it).
 */
export async function stopTaskWatcher(ctx: Context, kind: ManagerKind, target: ServiceTarget): Promise<void> {
  if (kind !== 'task') return
  const {tellWatcher} = await import('../watch/lock.js')
  const watchCtx: Context = {...ctx, paths: {...ctx.paths, sshConfig: target.sshConfig}}
  await tellWatcher(watchCtx, target.origin, {action: 'stop', reason: 'its service was ended (ona service install or uninstall)'}).catch(() => undefined)
}

/** Stops (when a runner is given) and deletes one definition; the file goes whatever the manager says. */
async function removeDefinition(ctx: Context, entry: InstalledDefinition, runner: Runner | undefined, uid: number | undefined): Promise<string[]> {
  const commands = commandsFor(entry.kind, entry.name, entry.file, uid ?? 501)
  const notDone = runner ? await runEach(entry.kind, runner, commands.uninstall, `could not stop ${entry.name}`) : []
  if (runner) await stopTaskWatcher(ctx, entry.kind, entry.target)
  await fs.rm(entry.file, {force: true})
  if (runner) await runEach(entry.kind, runner, commands.afterRemove, '')
  return notDone
}

export interface ServiceUninstallResult {
  kind: ServiceDefinition['kind']
  name: string
  file: string
  apiUrl: string
  sshConfig: string
  /** Whether a definition was found and deleted. */
  removed: boolean
  /** Every definition file deleted (an earlier ona's single-name one for this pair included). */
  files: string[]
  commands: string[][]
  /** What could not be done (the service manager could not be reached...): the files are gone all the same. */
  notDone: string[]
}

/**
 * Stops and deletes the service of one (API, SSH config), or of every one (`all`). The definition is deleted
 * even when the service manager cannot be reached (nothing it runs then), and `notDone` says what failed.
 */
export async function uninstallServices(ctx: Context, options: ServiceOptions & {all?: boolean} = {}): Promise<ServiceUninstallResult[]> {
  const existing = await installedServices(ctx)
  const runner = options.noStart ? undefined : options.runner ?? spawnRunner
  const targets = options.all ? unique(existing.map((e) => e.target)) : [await resolveServiceTarget(ctx, options)]
  const results: ServiceUninstallResult[] = []
  for (const target of targets) {
    const {def} = await definitionFor(ctx, target, options, false)
    const entries = existing.filter((e) => sameTarget(e.target, target) || (!options.all && pinnedByEarlierInstall(ctx, e.target, target)))
    const result: ServiceUninstallResult = {kind: def.kind, name: entries[0]?.name ?? def.name, file: entries[0]?.file ?? def.file, apiUrl: target.apiUrl, sshConfig: target.sshConfig, removed: false, files: [], commands: def.uninstall, notDone: []}
    if (!options.dryRun) {
      for (const entry of entries) {
        result.notDone.push(...(await removeDefinition(ctx, entry, runner, identityOf(options).uid)))
        result.files.push(entry.file)
      }
      result.removed = entries.length > 0
    }
    results.push(result)
  }
  return results
}

/** One service, as `uninstallServices` does it (the shape earlier versions returned). */
export async function uninstallService(ctx: Context, options: ServiceOptions = {}): Promise<ServiceUninstallResult> {
  const [result] = await uninstallServices(ctx, options)
  return result!
}

function unique(targets: ServiceTarget[]): ServiceTarget[] {
  return targets.filter((t, i) => targets.findIndex((u) => sameTarget(u, t)) === i)
}

export interface ServiceStatusResult {
  kind: ServiceDefinition['kind']
  name: string
  file: string
  apiUrl: string
  origin: string
  sshConfig: string
  installed: boolean
  /** not installed; installed, not running; running (the manager says so, or, when it cannot tell, a watcher answers). */
  state: 'not installed' | 'installed, not running' | 'running'
  /** What the service manager said (absent when nothing is installed). */
  manager?: ManagerState
  /** Why it stopped for good, when it can tell: the token expired or was revoked (exit 4), so it is not restarted. */
  stoppedBecause?: {code: string; exit: number; message: string; hint: string; at?: string}
  /** A watcher answers on its socket for this SSH config and API (whether the service or a terminal runs it). */
  running: boolean
  pid?: number
  lastSync?: string
  lastError?: string
  lastErrorAt?: string
  /** `ona ssh-sync --remove` took the block out then: the service does not put it back. */
  removedAt?: string
  startedAt?: string
  stoppedAt?: string
  environments?: number
  /** Where the logs are (absent when nothing is installed). */
  logs?: string
}

/**
 * The status of one service (`apiUrl` / `sshConfig` given, or `explicit`), or of every installed one (at
 * least the current API's and config's, installed or not).
 */
export async function serviceStatuses(ctx: Context, options: ServiceOptions & {explicit?: boolean} = {}): Promise<ServiceStatusResult[]> {
  const existing = await installedServices(ctx)
  const runner = options.runner ?? spawnRunnerWith(10_000)
  const targets = options.explicit || existing.length === 0 ? [await resolveServiceTarget(ctx, options)] : unique(existing.map((e) => e.target))
  return Promise.all(targets.map((target) => statusOf(ctx, target, existing, runner, options)))
}

/** One service's status (the current API and config unless given). */
export async function serviceStatus(ctx: Context, options: ServiceOptions = {}): Promise<ServiceStatusResult> {
  const [result] = await serviceStatuses(ctx, {...options, explicit: true})
  return result!
}

async function statusOf(ctx: Context, target: ServiceTarget, existing: InstalledDefinition[], runner: Runner, options: ServiceOptions): Promise<ServiceStatusResult> {
  const {def} = await definitionFor(ctx, target, options, false)
  const entry = existing.find((e) => e.file === def.file && sameTarget(e.target, target)) ?? existing.find((e) => sameTarget(e.target, target))
  const name = entry?.name ?? def.name
  const file = entry?.file ?? def.file
  const commands = commandsFor(def.kind, name, file, identityOf(options).uid ?? 501)
  const manager = entry ? parseManagerState(def.kind, await runner(commands.status[0]!, commands.status.slice(1))) : undefined
  // The watcher's files are per SSH config and origin (watch/lock.ts).
  const watchCtx: Context = {...ctx, paths: {...ctx.paths, sshConfig: target.sshConfig}}
  const {readWatcherStatus, removedAt, runningWatcher} = await import('../watch/lock.js')
  const [live, status, removed, exit] = await Promise.all([
    runningWatcher(watchCtx, target.origin).catch(() => undefined),
    readWatcherStatus(watchCtx, target.origin).catch(() => undefined),
    removedAt(watchCtx, target.origin).catch(() => undefined),
    readServiceExit(ctx.paths.stateDir, target),
  ])
  const s = status ?? {}
  const managerRuns = manager?.state === 'running'
  const managerCannotTell = manager?.state === 'unreachable' || manager?.state === 'unknown'
  const state: ServiceStatusResult['state'] = !entry ? 'not installed' : managerRuns || (managerCannotTell && live !== undefined) ? 'running' : 'installed, not running'
  const stoppedBecause = entry && state !== 'running' ? whyStopped(manager, exit, s.startedAt) : undefined
  return {
    kind: def.kind,
    name,
    file,
    apiUrl: target.apiUrl,
    origin: target.origin,
    sshConfig: target.sshConfig,
    installed: entry !== undefined,
    state,
    ...(manager ? {manager} : {}),
    ...(stoppedBecause ? {stoppedBecause} : {}),
    running: live !== undefined,
    ...(live ? {pid: live.pid} : {}),
    ...(s.lastSync ? {lastSync: s.lastSync} : {}),
    ...(s.lastError ? {lastError: s.lastError} : {}),
    ...(s.lastErrorAt ? {lastErrorAt: s.lastErrorAt} : {}),
    ...(removed ? {removedAt: removed} : {}),
    ...(s.startedAt ? {startedAt: s.startedAt} : {}),
    ...(s.stoppedAt && !live ? {stoppedAt: s.stoppedAt} : {}),
    ...(typeof s.environments === 'number' ? {environments: s.environments} : {}),
    ...(entry ? {logs: def.kind === 'systemd' ? `journalctl --user -u ${name}` : def.logs} : {}),
  }
}

const AUTH_STOP = {code: 'ERR_AUTH_EXPIRED', exit: 4, message: 'the token expired or was revoked (exit 4), so the service is not restarted', hint: 'Run `ona login`, then `ona service install` again to start it.'}

/** Exit 4 as the manager kept it, or as the watcher recorded it (newer than its last start). */
function whyStopped(manager: ManagerState | undefined, exit: ServiceExit | undefined, startedAt: string | undefined): ServiceStatusResult['stoppedBecause'] {
  if (exit && exit.exit === 4 && (!startedAt || exit.at >= startedAt)) return {...AUTH_STOP, code: exit.code, message: `${AUTH_STOP.message}: ${exit.message}`, at: exit.at}
  if (manager?.lastExit === 4) return AUTH_STOP
  return undefined
}

const MANAGER_WORDS: Record<ManagerState['state'], string> = {
  running: 'running',
  stopped: 'stopped',
  failed: 'failed',
  'not-loaded': 'not loaded (it starts at the next login, or run `ona service install` again)',
  unreachable: 'cannot be reached',
  unknown: 'did not say',
}

export function formatServiceStatus(result: ServiceStatusResult, home?: string): string[] {
  const tilde = (p: string) => (home && p.startsWith(`${home}/`) ? `~${p.slice(home.length)}` : p)
  const lines = [
    result.installed ? `service   ${result.name}: ${result.state} (${tilde(result.file)})` : `service   not installed (\`${installCommand(result, home)}\`)`,
    `serves    ${result.origin} in ${tilde(result.sshConfig)}`,
  ]
  if (result.manager && result.manager.state !== 'running') {
    const exit = result.manager.lastExit !== undefined && result.manager.lastExit !== 0 ? ` (last exit ${result.manager.lastExit})` : ''
    lines.push(`manager   ${MANAGER_WORDS[result.manager.state]}${exit}${result.manager.detail ? `: ${printable(result.manager.detail, MESSAGE_MAX)}` : ''}`)
  }
  if (result.stoppedBecause) lines.push(`stopped   ${printable(result.stoppedBecause.message, MESSAGE_MAX)}; ${result.stoppedBecause.hint}`)
  lines.push(
    `watcher   ${result.running ? `running (pid ${result.pid})` : `not running${result.stoppedAt ? ` (stopped ${result.stoppedAt})` : ''}`}`,
    `last sync ${result.lastSync ?? 'never'}${typeof result.environments === 'number' ? ` (${result.environments} environment${result.environments === 1 ? '' : 's'})` : ''}`,
    `last error ${result.lastError ? `${printable(result.lastError, MESSAGE_MAX)}${result.lastErrorAt ? ` (${printable(result.lastErrorAt)})` : ''}` : 'none'}`,
    ...(result.removedAt ? [`removed   the block was removed by \`ona ssh-sync --remove\` (${result.removedAt}); the service does not put it back until \`ona ssh-sync\``] : []),
    ...(result.logs ? [`logs      ${tilde(result.logs)}`] : []),
  )
  return lines
}

/** The command that installs the service of this result's API and config. */
function installCommand(result: Pick<ServiceStatusResult, 'origin' | 'apiUrl' | 'sshConfig'>, home?: string): string {
  const defaultConfig = home !== undefined && (result.sshConfig === `${home}/.ssh/config` || result.sshConfig === `${home}\\.ssh\\config`)
  return ['ona service install', ...(result.origin === new URL(DEFAULT_API_URL).origin ? [] : [`--api-url ${result.apiUrl}`]), ...(defaultConfig ? [] : [`--ssh-config ${result.sshConfig}`])].join(' ')
}

/** `--dry-run` text: the definition (credentials masked) and the commands. */
export function formatDryRun(result: ServiceInstallResult): string[] {
  return [
    `# ${result.file}`,
    ...(result.content ?? '').trimEnd().split(/\r?\n/),
    '',
    ...(result.replaced.length > 0 ? result.replaced.map((f) => `would remove: ${f} (an earlier ona's service for the same API and config)`) : []),
    ...result.skippedEnvironment.map((n) => `left out: ${n} (its value has a line break or control character)`),
    ...result.commands.map((c) => `would run: ${c.join(' ').replace(/^-/, '')}`),
  ]
}

export {maskCredentials}
