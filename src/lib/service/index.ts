/**
 * `ona service install | uninstall | status`: the watcher as a per-user service that starts at login and
 * restarts on failure. One file per platform (systemd.ts, launchd.ts, task-scheduler.ts) renders the
 * definition; this module writes it, runs the platform's service manager through an injected runner (the
 * real one spawns; tests pass the platform and a runner, so Linux tests cover all three), and reads the
 * watcher's status file for `status`.
 */
import {execFile} from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import type {Context} from '../context.js'
import {OnaError} from '../errors.js'
import {isMac, isWindows} from '../platform/platform.js'
import {readWatcherStatus, runningWatcher, type WatcherStatus} from '../watch/lock.js'
import {launchdCommands, launchdPlistPath, renderLaunchdPlist} from './launchd.js'
import {SERVICE_NAME, serviceSpec, type ServiceSpec} from './spec.js'
import {renderSystemdUnit, systemdCommands, systemdUnitPath} from './systemd.js'
import {renderTaskXml, taskCommands, taskXmlPath} from './task-scheduler.js'
import {MESSAGE_MAX, printable} from '../printable.js'

export {serviceSpec, type ServiceSpec} from './spec.js'

/** Runs one command; resolves with its exit code and output (never rejects on a non-zero exit). */
export type Runner = (command: string, args: string[]) => Promise<{code: number; stdout: string; stderr: string}>

export const spawnRunner: Runner = (command, args) =>
  new Promise((resolve) => {
    execFile(command, args, {timeout: 30_000, windowsHide: true}, (error, stdout, stderr) => {
      const code = error ? (typeof (error as {code?: unknown}).code === 'number' ? ((error as {code: number}).code) : 127) : 0
      resolve({code, stdout: String(stdout), stderr: String(stderr || (error && !stdout ? error.message : ''))})
    })
  })

export interface ServiceDefinition {
  kind: 'systemd' | 'launchd' | 'task'
  name: string
  file: string
  content: string
  /** Commands in order; a leading `-` on the command means its failure is ignored. */
  install: string[][]
  uninstall: string[][]
  status: string[]
  logs: string
}

export function serviceDefinition(spec: ServiceSpec, identity: {uid?: number; user?: string} = {}): ServiceDefinition {
  if (isMac(spec.platform)) {
    const uid = identity.uid ?? 501
    return {kind: 'launchd', name: SERVICE_NAME.launchd, file: launchdPlistPath(spec), content: renderLaunchdPlist(spec), ...launchdCommands(spec, uid), logs: spec.logFile ?? ''}
  }
  if (isWindows(spec.platform)) {
    const user = identity.user ?? 'user'
    return {kind: 'task', name: SERVICE_NAME.task, file: taskXmlPath(spec), content: renderTaskXml(spec, user), ...taskCommands(spec), logs: spec.logFile ?? ''}
  }
  return {kind: 'systemd', name: SERVICE_NAME.systemd, file: systemdUnitPath(spec), content: renderSystemdUnit(spec), ...systemdCommands(), logs: `journalctl --user -u ${SERVICE_NAME.systemd}`}
}

export interface ServiceOptions {
  /** Absolute node and launcher paths (default: the ones running now). */
  node?: string
  script?: string
  sshConfig?: string
  apiUrl?: string
  runner?: Runner
  /** Write the file but run no service manager (tests, or a machine without a user session manager). */
  noStart?: boolean
  dryRun?: boolean
  identity?: {uid?: number; user?: string}
}

export interface ServiceInstallResult {
  kind: ServiceDefinition['kind']
  name: string
  file: string
  written: boolean
  started: boolean
  commands: string[][]
  logs: string
  content?: string
}

async function definitionFor(ctx: Context, options: ServiceOptions): Promise<{def: ServiceDefinition; spec: ServiceSpec}> {
  const {onaLauncher} = await import('../sync/sync.js')
  const node = options.node ?? process.execPath
  const script = options.script ?? onaLauncher()
  const runner = options.runner ?? spawnRunner
  let systemdVersion: number | undefined
  if (!isMac(ctx.platform) && !isWindows(ctx.platform) && !options.dryRun) {
    const version = await runner('systemctl', ['--version']).catch(() => undefined)
    const match = version && /systemd (\d+)/.exec(version.stdout)
    if (match) systemdVersion = Number(match[1])
  }
  const spec = serviceSpec(ctx, {node, script, sshConfig: options.sshConfig, apiUrl: options.apiUrl, systemdVersion})
  const identity = {uid: options.identity?.uid ?? process.getuid?.(), user: options.identity?.user ?? safeUser()}
  return {def: serviceDefinition(spec, identity), spec}
}

function safeUser(): string | undefined {
  try {
    const {username} = os.userInfo()
    return process.env.USERDOMAIN ? `${process.env.USERDOMAIN}\\${username}` : username
  } catch {
    return undefined
  }
}

async function runAll(runner: Runner, commands: string[][], what: string): Promise<void> {
  for (const [first, ...args] of commands) {
    const optional = first!.startsWith('-')
    const command = optional ? first!.slice(1) : first!
    const result = await runner(command, args)
    if (result.code !== 0 && !optional) {
      throw new OnaError('ERR_SERVICE', `${what}: \`${[command, ...args].join(' ')}\` failed (exit ${result.code}): ${(result.stderr || result.stdout).trim().slice(0, 400)}`, {
        details: {command, code: result.code},
      })
    }
  }
}

/** Writes the service definition and starts it (unless dryRun / noStart). */
export async function installService(ctx: Context, options: ServiceOptions = {}): Promise<ServiceInstallResult> {
  const {def, spec} = await definitionFor(ctx, options)
  const result: ServiceInstallResult = {kind: def.kind, name: def.name, file: def.file, written: false, started: false, commands: def.install, logs: def.logs}
  if (options.dryRun) return {...result, content: def.content}
  await fs.mkdir(path.dirname(def.file), {recursive: true, mode: 0o700})
  if (spec.logFile) await fs.mkdir(path.dirname(spec.logFile), {recursive: true, mode: 0o700})
  // schtasks reads the XML as the UTF-16 its declaration names.
  const bytes = def.kind === 'task' ? Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(def.content, 'utf16le')]) : Buffer.from(def.content, 'utf8')
  const temp = `${def.file}.${process.pid}.tmp`
  await fs.writeFile(temp, bytes, {mode: 0o644})
  await fs.rename(temp, def.file)
  result.written = true
  if (options.noStart) return result
  await runAll(options.runner ?? spawnRunner, def.install, `installed ${def.file} but could not start the service`)
  result.started = true
  return result
}

export interface ServiceUninstallResult {
  kind: ServiceDefinition['kind']
  name: string
  file: string
  removed: boolean
  commands: string[][]
}

export async function uninstallService(ctx: Context, options: ServiceOptions = {}): Promise<ServiceUninstallResult> {
  const {def} = await definitionFor(ctx, {...options, dryRun: true})
  const exists = await fs.stat(def.file).then(() => true, () => false)
  const result: ServiceUninstallResult = {kind: def.kind, name: def.name, file: def.file, removed: false, commands: def.uninstall}
  if (options.dryRun || !exists) return result
  if (!options.noStart) await runAll(options.runner ?? spawnRunner, def.uninstall, `could not stop the service ${def.name}`)
  await fs.rm(def.file, {force: true})
  result.removed = true
  return result
}

export interface ServiceStatusResult {
  kind: ServiceDefinition['kind']
  name: string
  file: string
  installed: boolean
  /** A watcher answers on its socket for this SSH config (whether the service or a terminal runs it). */
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
  logs: string
}

export async function serviceStatus(ctx: Context, options: ServiceOptions = {}): Promise<ServiceStatusResult> {
  const {def} = await definitionFor(ctx, {...options, dryRun: true})
  const installed = await fs.stat(def.file).then(() => true, () => false)
  const {removedAt} = await import('../watch/lock.js')
  // The watcher of one install (API origin): each install's watcher keeps its own status.
  const {resolveApiUrl} = await import('../api/base-url.js')
  const origin = new URL(resolveApiUrl(options.apiUrl, ctx.env)).origin
  const [live, status, removed] = await Promise.all([runningWatcher(ctx, origin), readWatcherStatus(ctx, origin), removedAt(ctx, origin)])
  const s: WatcherStatus = status ?? {}
  return {
    kind: def.kind,
    name: def.name,
    file: def.file,
    installed,
    running: live !== undefined,
    ...(live ? {pid: live.pid} : {}),
    ...(s.lastSync ? {lastSync: s.lastSync} : {}),
    ...(s.lastError ? {lastError: s.lastError} : {}),
    ...(s.lastErrorAt ? {lastErrorAt: s.lastErrorAt} : {}),
    ...(removed ? {removedAt: removed} : {}),
    ...(s.startedAt ? {startedAt: s.startedAt} : {}),
    ...(s.stoppedAt && !live ? {stoppedAt: s.stoppedAt} : {}),
    ...(typeof s.environments === 'number' ? {environments: s.environments} : {}),
    logs: def.logs,
  }
}

export function formatServiceStatus(result: ServiceStatusResult, home?: string): string[] {
  const tilde = (p: string) => (home && p.startsWith(`${home}/`) ? `~${p.slice(home.length)}` : p)
  return [
    `service   ${result.installed ? `installed (${tilde(result.file)})` : 'not installed (`ona service install`)'}`,
    `watcher   ${result.running ? `running (pid ${result.pid})` : `not running${result.stoppedAt ? ` (stopped ${result.stoppedAt})` : ''}`}`,
    `last sync ${result.lastSync ?? 'never'}${typeof result.environments === 'number' ? ` (${result.environments} environment${result.environments === 1 ? '' : 's'})` : ''}`,
    `last error ${result.lastError ? `${printable(result.lastError, MESSAGE_MAX)}${result.lastErrorAt ? ` (${printable(result.lastErrorAt)})` : ''}` : 'none'}`,
    ...(result.removedAt ? [`removed   the block was removed by \`ona ssh-sync --remove\` (${result.removedAt}); the service does not put it back until \`ona ssh-sync\``] : []),
    `logs      ${tilde(result.logs)}`,
  ]
}
