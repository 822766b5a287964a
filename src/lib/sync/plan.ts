/**
 * Which environments belong in the block, and what changed: pure functions over what a writer knows from
 * the API and the block as it is on disk now (read under the write lock). Every writer of the block
 * (`ona ssh-sync`, watch mode, `ona ssh`, the ProxyCommand) goes through decideEntry, the one place that
 * decides an entry's fate:
 *
 * - Freshness: an entry is replaced only by strictly newer information (a higher statusVersion than the
 *   one its freshness line records); equal or older information never overwrites what is in the file.
 *   An entry of unknown freshness (no freshness line) is replaced by any answer of the API.
 * - Running (or updating) with an SSH address: written with the current address.
 * - Starting, creating, or running without an address yet: keeps its last known address, if it had one,
 *   until the API gives a new one (so an alias does not flicker away during a restart).
 * - An environment whose address the API sent malformed: keeps its last known address too, with a warning.
 * - "Could not read" is never "deleted": an environment whose record failed validation keeps its entry as
 *   it was, with a warning naming it and the field.
 * - Stopping, stopped, deleting, deleted: removed (stopped ones stay with resolve-on-connect).
 * - Absent from a complete listing: removed, unless the entry changed since the writer's baseline (the
 *   block as read before the listing was requested): then another writer knows something newer, and the
 *   entry stays (`unsure`). A listing holding a record whose id could not be read removes nothing.
 */
import type {Warning} from '../errors.js'
import type {Environment, EnvironmentProblem} from '../api/types.js'
import type {SshEnvironment} from '../ssh-config/validate.js'
import {ENVIRONMENT_SUFFIX} from '../ssh-config/validate.js'

const RUNNING = new Set(['ENVIRONMENT_PHASE_RUNNING', 'ENVIRONMENT_PHASE_UPDATING'])
const ON_THE_WAY = new Set(['ENVIRONMENT_PHASE_CREATING', 'ENVIRONMENT_PHASE_STARTING', 'ENVIRONMENT_PHASE_UNSPECIFIED'])

export interface KeptEnvironment {
  id: string
  alias: string
  address: string
  phase: string
  reason: 'starting' | 'no-address-yet' | 'invalid-address' | 'stopped' | 'unreadable'
}

/** On its way up, with no address known yet: no alias until the API gives one. */
export interface PendingEnvironment {
  id: string
  alias: string
  phase: string
}

export interface Plan {
  desired: SshEnvironment[]
  kept: KeptEnvironment[]
  pending: PendingEnvironment[]
  warnings: Warning[]
  /**
   * Entries kept although the listing did not have their environment, because another writer wrote them
   * after the baseline: the caller may ask the API about them again (watch mode does).
   */
  unsure: string[]
}

export function formatAddress(env: {user: string; host: string; port: number}): string {
  const host = env.host.includes(':') ? `[${env.host}]` : env.host
  return `${env.user}@${host}:${env.port}`
}

export function aliasOf(id: string): string {
  return `${id.toLowerCase()}${ENVIRONMENT_SUFFIX}`
}

const STOPPED = new Set(['ENVIRONMENT_PHASE_STOPPING', 'ENVIRONMENT_PHASE_STOPPED'])

export interface PlanOptions {
  /**
   * Resolve-on-connect: entries connect through ona, which starts a stopped environment, so stopped ones keep
   * their entry (their last known address, or, never seen running, their alias as a placeholder HostName).
   */
  keepStopped?: boolean
  /**
   * Whether an environment missing from the listing is gone (default true: a complete listing). False for
   * what is not a listing of everything (one environment's answer): entries of others are kept.
   */
  complete?: boolean
  /**
   * The block's entries as read before the listing was requested. An environment missing from a complete
   * listing loses its entry only while the file still holds what the baseline held for it; an entry
   * written or changed since is kept (`unsure`). Undefined: the block as it is now is the baseline.
   */
  baseline?: readonly SshEnvironment[]
  /** Environments known to be deleted (watch mode's tombstones): their entries go whatever else is known. */
  deleted?: Iterable<string>
}

/** What a writer knows about one environment. */
export type Observation =
  /** The API's record: its phase, address and statusVersion (`problem`: its address did not parse). */
  | {kind: 'record'; env: Environment; problem?: EnvironmentProblem}
  /** Listed, but its record failed validation: nothing is known about it now. */
  | {kind: 'unreadable'; problem: EnvironmentProblem}
  /** Not in a complete listing; `unchanged`: the file holds for it what it held before the listing was asked. */
  | {kind: 'absent'; unchanged: boolean}
  | {kind: 'deleted'}

/** An entry's fate: written from the API, kept as it is in the file, removed, or (no entry) nothing. */
export type EntryFate =
  | {action: 'write'; entry: SshEnvironment}
  | {action: 'keep'; reason?: KeptEnvironment['reason'] | 'newer-in-file' | 'unsure'}
  | {action: 'remove'}
  | {action: 'none'; pending?: boolean}

/** True when information at statusVersion `version` may replace `entry` (none, unknown freshness, or older). */
export function isNewer(version: bigint, entry: SshEnvironment | undefined): boolean {
  return entry === undefined || entry.statusVersion === undefined || version > entry.statusVersion
}

function sameEntry(a: SshEnvironment, b: SshEnvironment): boolean {
  return a.host === b.host && a.port === b.port && a.user === b.user && a.statusVersion === b.statusVersion
}

/**
 * The one place that decides what becomes of one environment's entry, given the entry in the file now
 * (`onFile`, read under the write lock) and what the writer knows. See the header for the rules.
 */
export function decideEntry(onFile: SshEnvironment | undefined, seen: Observation, options: {keepStopped?: boolean} = {}): EntryFate {
  const held = (reason?: KeptEnvironment['reason'] | 'newer-in-file' | 'unsure'): EntryFate => (onFile ? {action: 'keep', ...(reason ? {reason} : {})} : {action: 'none'})
  switch (seen.kind) {
    case 'deleted':
      return onFile ? {action: 'remove'} : {action: 'none'}
    case 'absent':
      return !onFile ? {action: 'none'} : seen.unchanged ? {action: 'remove'} : {action: 'keep', reason: 'unsure'}
    case 'unreadable':
      return held('unreadable')
    case 'record':
      break
  }
  const {env, problem} = seen
  // Equal or older information never overwrites what is in the file (what it says is still reported).
  if (!isNewer(env.statusVersion, onFile)) return held(keptBecause(env, problem, options) ?? 'newer-in-file')
  const fresh = {statusVersion: env.statusVersion, ...(env.name ? {name: env.name} : {})}
  if (RUNNING.has(env.phase) && env.ssh) {
    const entry: SshEnvironment = {id: env.id, host: env.ssh.host, port: env.ssh.port, user: env.ssh.user, ...fresh}
    // The same address (and name) as the file says: left as it is, so a status change that moved nothing
    // (a key turning READY) is not a write. An entry of unknown freshness gets its freshness line.
    if (onFile && onFile.statusVersion !== undefined && formatAddress(onFile) === formatAddress(entry) && onFile.name === entry.name) return {action: 'keep'}
    return {action: 'write', entry}
  }
  const reason = keptBecause(env, problem, options)
  if (onFile && reason) return {action: 'keep', reason}
  if (reason === 'no-address-yet' || reason === 'starting') return {action: 'none', pending: true}
  // The ProxyCommand finds the real address when ssh connects; HostName is only what IDE lists show.
  if (reason === 'stopped') return {action: 'write', entry: {id: env.id, host: aliasOf(env.id), port: 22, user: 'gitpod_devcontainer', ...fresh}}
  return onFile ? {action: 'remove'} : {action: 'none'}
}

/** Why a record that does not give an address keeps the entry's last known one (undefined: it gives one, or it removes). */
function keptBecause(env: Environment, problem: EnvironmentProblem | undefined, options: {keepStopped?: boolean}): KeptEnvironment['reason'] | undefined {
  if (RUNNING.has(env.phase) && env.ssh) return undefined
  if (problem && (RUNNING.has(env.phase) || ON_THE_WAY.has(env.phase))) return 'invalid-address'
  if (RUNNING.has(env.phase)) return 'no-address-yet'
  if (ON_THE_WAY.has(env.phase)) return 'starting'
  if (options.keepStopped && STOPPED.has(env.phase)) return 'stopped'
  return undefined
}

/**
 * Decides the block's environments from what the writer knows (a listing, or watch mode's view) and the
 * environments currently in the block (`previous`, read under the write lock), one decideEntry each.
 */
export function planBlock(environments: readonly Environment[], previous: readonly SshEnvironment[], problems: readonly EnvironmentProblem[] = [], options: PlanOptions = {}): Plan {
  const key = (id: string) => id.toLowerCase()
  const before = new Map(previous.map((p) => [key(p.id), p]))
  const baseline = options.baseline === undefined ? before : new Map(options.baseline.map((p) => [key(p.id), p]))
  const seen = new Map<string, Observation>()
  for (const env of environments) {
    const had = seen.get(key(env.id))
    // One record per environment: of two (pages that repeat one), the newer.
    if (had?.kind === 'record' && had.env.statusVersion >= env.statusVersion) continue
    seen.set(key(env.id), {kind: 'record', env})
  }
  const warnings: Warning[] = []
  let anonymous = false
  for (const problem of problems) {
    if (problem.idUnknown) {
      anonymous = true
      warnings.push({code: 'W_UNREADABLE', message: `${problem.message}; its id could not be read, so no environment missing from this listing loses its entry`})
      continue
    }
    const had = seen.get(key(problem.environmentId))
    if (problem.unreadable) {
      // A record known from before (watch mode's view) stands; without one, nothing is known now.
      if (!had) seen.set(key(problem.environmentId), {kind: 'unreadable', problem})
      const last = before.get(key(problem.environmentId))
      warnings.push({code: 'W_UNREADABLE', message: `${problem.message}; could not read its ${problem.field}, so ${last ? 'its entry is kept as it was' : 'it gets no entry now'}`})
    } else if (had?.kind === 'record') {
      had.problem = problem
    }
  }
  for (const id of options.deleted ?? []) seen.set(key(id), {kind: 'deleted'})
  const desired: SshEnvironment[] = []
  const kept: KeptEnvironment[] = []
  const pending: PendingEnvironment[] = []
  const unsure: string[] = []
  const ids = new Set([...seen.keys(), ...before.keys()])
  for (const id of ids) {
    const onFile = before.get(id)
    let observation = seen.get(id)
    if (!observation) {
      // Not known to this writer: kept, unless a complete listing (without unreadable ids) says it is gone.
      if (options.complete === false || anonymous) {
        if (onFile) desired.push(onFile)
        continue
      }
      const base = baseline.get(id)
      observation = {kind: 'absent', unchanged: base !== undefined && onFile !== undefined && sameEntry(base, onFile)}
    }
    const fate = decideEntry(onFile, observation, options)
    if (fate.action === 'write') desired.push(fate.entry)
    else if (fate.action === 'keep' && onFile) {
      desired.push(onFile)
      const env = observation.kind === 'record' ? observation.env : undefined
      if (fate.reason === 'unsure') unsure.push(onFile.id)
      else if (fate.reason !== undefined && fate.reason !== 'newer-in-file') {
        kept.push({id: env?.id ?? onFile.id, alias: aliasOf(onFile.id), address: formatAddress(onFile), phase: env?.phase ?? 'ENVIRONMENT_PHASE_UNSPECIFIED', reason: fate.reason})
      }
      if (fate.reason === 'invalid-address' && observation.kind === 'record' && observation.problem) {
        warnings.push({code: 'W_INVALID_ADDRESS', message: `${observation.problem.message}; keeping its last known address`})
      }
    } else if (fate.action === 'none' && observation.kind === 'record') {
      if (fate.pending) pending.push({id: observation.env.id, alias: aliasOf(observation.env.id), phase: observation.env.phase})
      if (observation.problem && (RUNNING.has(observation.env.phase) || ON_THE_WAY.has(observation.env.phase))) {
        warnings.push({code: 'W_INVALID_ADDRESS', message: observation.problem.message})
      }
    }
  }
  return {desired, kept, pending, warnings, unsure}
}

export interface Change {
  id: string
  alias: string
  address: string
}

export interface Update {
  id: string
  alias: string
  from: string
  to: string
}

/** An entry whose friendly alias (`<name>.ona`) came, moved or went; `from`/`to` absent: it had or has none. */
export interface FriendlyChange {
  id: string
  alias: string
  from?: string
  to?: string
}

export interface Changes {
  added: Change[]
  updated: Update[]
  removed: Change[]
  unchanged: number
  /** Friendly aliases that changed on entries the block holds after (an entry removed takes its own with it). */
  aliased: FriendlyChange[]
}

/** Compares the block's environments before and after, by alias. */
export function diffEnvironments(previous: readonly SshEnvironment[], next: readonly SshEnvironment[]): Changes {
  const before = new Map(previous.map((p) => [p.id.toLowerCase(), p]))
  const after = new Map(next.map((n) => [n.id.toLowerCase(), n]))
  const changes: Changes = {added: [], updated: [], removed: [], unchanged: 0, aliased: []}
  for (const [key, env] of [...after].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const old = before.get(key)
    if (old?.friendlyAlias !== env.friendlyAlias) {
      changes.aliased.push({id: env.id, alias: aliasOf(env.id), ...(old?.friendlyAlias === undefined ? {} : {from: old.friendlyAlias}), ...(env.friendlyAlias === undefined ? {} : {to: env.friendlyAlias})})
    }
    if (!old) changes.added.push({id: env.id, alias: aliasOf(env.id), address: formatAddress(env)})
    else if (formatAddress(old) !== formatAddress(env)) changes.updated.push({id: env.id, alias: aliasOf(env.id), from: formatAddress(old), to: formatAddress(env)})
    else changes.unchanged++
  }
  for (const [key, env] of [...before].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!after.has(key)) changes.removed.push({id: env.id, alias: aliasOf(env.id), address: formatAddress(env)})
  }
  return changes
}
