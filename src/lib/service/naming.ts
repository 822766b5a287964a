/**
 * One service per (API origin, SSH config): each install's watcher of each file is its own unit, agent or
 * task, so installing a second one never replaces the first. The install everyone starts with (the vendor
 * cloud, `~/.ssh/config`) keeps the plain names an earlier ona used (`ona-watch.service`, `dev.ona.watch`,
 * `ona-watch`); any other gets a readable suffix: the API's host (when not the default), the config file's
 * name (when not the default) and a short hash of both, so two pairs never share a name.
 *
 * Every definition ona writes carries one marker line naming what it serves (`ona-service {...}`), so
 * `ona service status` can list them all and `uninstall` never removes another pair's service. A
 * definition without the marker was written by an earlier ona under the single name; what it serves is
 * read back from its environment and arguments (`legacyTarget`).
 */
import {createHash} from 'node:crypto'

import {DEFAULT_API_URL} from '../api/base-url.js'
import {defaultSshConfig, type Platform, pathFor} from '../platform/platform.js'

/** What one service keeps current: this API's part of this SSH config. */
export interface ServiceTarget {
  /** The API URL the watcher uses (normalised, as resolveApiUrl returns it). */
  apiUrl: string
  /** Its origin: what names the install (tokens, the block's parts, the watcher's lock). */
  origin: string
  /** Absolute path of the SSH config. */
  sshConfig: string
}

export const BASE_NAME = {systemd: 'ona-watch', launchd: 'dev.ona.watch', task: 'ona-watch'} as const

export function isDefaultTarget(target: ServiceTarget, platform: Platform): boolean {
  return target.origin === new URL(DEFAULT_API_URL).origin && target.sshConfig === defaultSshConfig(platform)
}

const slug = (text: string, max: number) =>
  text
    .toLowerCase()
    .replaceAll(/[^a-z0-9.]+/g, '-')
    .replaceAll(/^[-.]+|[-.]+$/g, '')
    .slice(0, max)

/** '' for the default install; else `-<host>-<config name>-<hash>` (the parts that differ from the default). */
export function serviceSuffix(target: ServiceTarget, platform: Platform): string {
  if (isDefaultTarget(target, platform)) return ''
  const parts: string[] = []
  if (target.origin !== new URL(DEFAULT_API_URL).origin) parts.push(slug(new URL(target.origin).host, 40))
  if (target.sshConfig !== defaultSshConfig(platform)) parts.push(slug(pathFor(platform).basename(target.sshConfig), 24))
  parts.push(createHash('sha256').update(`${target.origin}\n${target.sshConfig}`).digest('hex').slice(0, 8))
  return `-${parts.filter((p) => p !== '').join('-')}`
}

/** The service's name on each platform: unit, launchd label, task name. */
export function serviceNames(suffix: string): {systemd: string; launchd: string; task: string} {
  return {
    systemd: `${BASE_NAME.systemd}${suffix}.service`,
    launchd: suffix ? `${BASE_NAME.launchd}.${suffix.slice(1)}` : BASE_NAME.launchd,
    task: `${BASE_NAME.task}${suffix}`,
  }
}

/** Names of definition files ona may have written, in the directory each platform keeps them. */
export const DEFINITION_FILE = {
  systemd: /^ona-watch(-[a-z0-9.-]+)?\.service$/,
  launchd: /^dev\.ona\.watch(\.[a-z0-9.-]+)?\.plist$/,
  task: /^ona-watch(-[a-z0-9.-]+)?\.xml$/,
} as const

/**
 * The marker's text: `ona-service {json}`. Dashes in the JSON are escaped (`\u002d`, still JSON) because an
 * XML comment may not contain `--`.
 */
export function markerText(target: ServiceTarget): string {
  return `ona-service ${JSON.stringify({apiUrl: target.apiUrl, origin: target.origin, sshConfig: target.sshConfig}).replaceAll('-', '\\u002d')}`
}

/** The target a definition's marker names; undefined when it has none (an earlier ona's) or it is unreadable. */
export function parseMarker(content: string): ServiceTarget | undefined {
  const match = /ona-service (\{[^\n]*?\})(?: -->)?\r?$/m.exec(content)
  if (!match) return undefined
  try {
    const value = JSON.parse(match[1]!) as Partial<ServiceTarget>
    if (typeof value.apiUrl === 'string' && typeof value.origin === 'string' && typeof value.sshConfig === 'string') return {apiUrl: value.apiUrl, origin: value.origin, sshConfig: value.sshConfig}
  } catch {
    // An edited marker: treated as none.
  }
  return undefined
}

const xmlText = (value: string) => value.replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')

/**
 * The environment and arguments of a definition an earlier ona wrote (no marker): systemd's quoted
 * `Environment=` and `ExecStart=` words, the plist's EnvironmentVariables and ProgramArguments, the task's
 * `set "K=V" &&` prefix and quoted words.
 */
export function legacyCommand(kind: 'systemd' | 'launchd' | 'task', content: string): {env: Record<string, string>; args: string[]} {
  const env: Record<string, string> = {}
  let args: string[] = []
  if (kind === 'systemd') {
    const words = (line: string) => [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replaceAll(/\\(.)/g, '$1').replaceAll('%%', '%').replaceAll('$$', '$'))
    for (const m of content.matchAll(/^Environment=(.*)$/gm)) {
      const [pair] = words(m[1]!)
      if (pair?.includes('=')) env[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1)
    }
    const exec = /^ExecStart=(.*)$/m.exec(content)
    if (exec) args = words(exec[1]!)
  } else if (kind === 'launchd') {
    const vars = /<key>EnvironmentVariables<\/key>\s*<dict>([\s\S]*?)<\/dict>/.exec(content)
    if (vars) for (const m of vars[1]!.matchAll(/<key>([^<]*)<\/key>\s*<string>([^<]*)<\/string>/g)) env[xmlText(m[1]!)] = xmlText(m[2]!)
    const program = /<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(content)
    if (program) args = [...program[1]!.matchAll(/<string>([^<]*)<\/string>/g)].map((m) => xmlText(m[1]!))
  } else {
    const element = /<Arguments>([^<]*)<\/Arguments>/.exec(content)
    const command = element ? xmlText(element[1]!) : ''
    for (const m of command.matchAll(/set "([^="]+)=([^"]*)" && /g)) env[m[1]!] = m[2]!
    const line = command.replace(/^\/d \/c "/, '').replaceAll(/set "[^"]*" && /g, '').replace(/ >> [\s\S]*$/, '')
    args = [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]!.replaceAll('""', '"'))
  }
  return {env, args}
}
