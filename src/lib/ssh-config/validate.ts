/**
 * Values that come from the API are checked here before they can reach the SSH config. OpenSSH gives
 * meaning to whitespace, quotes, `#`, `%`, `=`, `,`, `*`, `?`, `!` and line breaks (a newline in a HostName
 * is a new directive), so only a conservative alphabet passes; anything else is rejected with a reason,
 * never escaped or repaired.
 */
import {isIPv4} from 'node:net'

/** One environment as the block engine needs it (already taken from the API's ssh:// URL). */
export interface SshEnvironment {
  id: string
  host: string
  port: number
  user: string
  /**
   * How fresh the entry is: the environment's statusVersion when the API told what the entry says. Read
   * back from the line above the entry's Host line; undefined when unknown (a block of an earlier ona, a
   * hand edit), and then any answer of the API replaces the entry.
   */
  statusVersion?: bigint
  /** The environment's display name, shown on that line so a person reading the file knows which it is. */
  name?: string
  /** The friendly alias (`<name>.ona`) on the entry's Host line, when it has one (friendly.ts). */
  friendlyAlias?: string
}

/** An environment after validation: aliases are lowercase because ssh lowercases the host it is given. */
export interface ValidEnvironment extends SshEnvironment {
  environmentAlias: string
  remoteAlias: string
}

export interface Rejection {
  id: string
  reason: string
}

export const ENVIRONMENT_SUFFIX = '.gitpod.environment'
export const REMOTE_SUFFIX = '.gitpod.remote'

/** Every alias of an entry: its two `<id>` aliases and, when it has one, its friendly alias. */
export function aliasesOf(env: Pick<ValidEnvironment, 'environmentAlias' | 'remoteAlias' | 'friendlyAlias'>): string[] {
  return env.friendlyAlias === undefined ? [env.environmentAlias, env.remoteAlias] : [env.environmentAlias, env.remoteAlias, env.friendlyAlias]
}

const SAFE = /^[A-Za-z0-9._-]+$/
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/
const USER = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/

/** Shows a rejected value safely: control characters escaped, long values cut. */
export function showValue(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value)
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text)
  return shown
}

export function checkId(id: unknown): string | undefined {
  if (typeof id !== 'string' || id === '') return 'the id is empty'
  if (id.length > 200) return 'the id is longer than 200 characters'
  if (!SAFE.test(id)) return `the id ${showValue(id)} has characters other than letters, digits, '.', '_' and '-'`
  // A leading '-' would make `ssh <alias>` read the alias as an option; a leading '.' makes an odd host name.
  if (id.startsWith('-') || id.startsWith('.')) return `the id ${showValue(id)} starts with '${id[0]}'`
  return undefined
}

/** A host is an IPv4 address, a bracket-free IPv6 address without zone, or a DNS name. */
export function checkHost(host: unknown): string | undefined {
  if (typeof host !== 'string' || host === '') return 'the host is empty'
  if (isIPv4(host)) return undefined
  if (host.includes(':')) {
    // No zone ids: '%' is expanded by OpenSSH inside HostName.
    if (/^[0-9A-Fa-f:.]+$/.test(host) && isIPv6Strict(host)) return undefined
    return `the host ${showValue(host)} is not a valid IP address or DNS name`
  }
  if (!SAFE.test(host)) return `the host ${showValue(host)} has characters other than letters, digits, '.', '_' and '-'`
  const name = host.endsWith('.') ? host.slice(0, -1) : host
  if (name.length > 253) return `the host ${showValue(host)} is longer than 253 characters`
  const labels = name.split('.')
  if (labels.some((label) => !DNS_LABEL.test(label))) return `the host ${showValue(host)} is not a valid DNS name`
  // All-numeric names that are not valid IPv4 (999.1.1.1) are mistakes, not host names.
  if (labels.every((label) => /^\d+$/.test(label))) return `the host ${showValue(host)} is not a valid IPv4 address`
  return undefined
}

function isIPv6Strict(host: string): boolean {
  try {
    // URL parsing normalises and rejects malformed IPv6 literals.
    return new URL(`http://[${host}]/`).hostname.length > 2
  } catch {
    return false
  }
}

export function checkPort(port: unknown): string | undefined {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    return `the port ${showValue(port)} is not a whole number from 1 to 65535`
  }
  return undefined
}

export function checkUser(user: unknown): string | undefined {
  if (typeof user !== 'string' || user === '') return 'the user is empty'
  if (!USER.test(user)) return `the user ${showValue(user)} is not a plain user name`
  return undefined
}

/**
 * Validates a list of environments: each one either becomes a ValidEnvironment or is rejected with the
 * reason. Duplicate aliases (ids differing only in case) keep the first and reject the rest.
 */
export function validateEnvironments(environments: readonly SshEnvironment[]): {valid: ValidEnvironment[]; rejected: Rejection[]} {
  const valid: ValidEnvironment[] = []
  const rejected: Rejection[] = []
  const seen = new Set<string>()
  for (const environment of environments) {
    const id = typeof environment?.id === 'string' ? environment.id : String(environment?.id)
    const reason =
      checkId(environment?.id) ?? checkHost(environment?.host) ?? checkPort(environment?.port) ?? checkUser(environment?.user)
    if (reason) {
      rejected.push({id, reason})
      continue
    }
    const base = environment.id.toLowerCase()
    if (seen.has(base)) {
      rejected.push({id, reason: `another environment already uses the alias ${base}${ENVIRONMENT_SUFFIX}`})
      continue
    }
    seen.add(base)
    valid.push({
      id: environment.id,
      host: environment.host,
      port: environment.port,
      user: environment.user,
      ...(typeof environment.statusVersion === 'bigint' && environment.statusVersion >= 0n ? {statusVersion: environment.statusVersion} : {}),
      ...(typeof environment.name === 'string' && environment.name !== '' ? {name: environment.name} : {}),
      environmentAlias: `${base}${ENVIRONMENT_SUFFIX}`,
      remoteAlias: `${base}${REMOTE_SUFFIX}`,
    })
  }
  return {valid, rejected}
}
