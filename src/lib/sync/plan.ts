/**
 * Which environments belong in the block, and what changed: pure functions over the API's listing and the
 * block as it is on disk.
 *
 * - Running (or updating) with an SSH address: written with the current address.
 * - Starting, creating, or running without an address yet: keeps its last known address, if it had one,
 *   until the API gives a new one (so an alias does not flicker away during a restart).
 * - An environment whose address the API sent malformed: keeps its last known address too, with a warning.
 * - Stopping, stopped, deleting, deleted, or absent from the listing: removed.
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
  reason: 'starting' | 'no-address-yet' | 'invalid-address' | 'stopped'
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
}

/** Decides the block's environments from the listing and the environments currently in the block. */
export function planBlock(environments: readonly Environment[], previous: readonly SshEnvironment[], problems: readonly EnvironmentProblem[] = [], options: PlanOptions = {}): Plan {
  const before = new Map(previous.map((p) => [p.id.toLowerCase(), p]))
  const problemIds = new Map(problems.map((p) => [p.environmentId, p]))
  const desired: SshEnvironment[] = []
  const kept: KeptEnvironment[] = []
  const pending: PendingEnvironment[] = []
  const warnings: Warning[] = []
  for (const env of environments) {
    const last = before.get(env.id.toLowerCase())
    const keep = (reason: KeptEnvironment['reason']) => {
      if (!last) {
        if (reason !== 'invalid-address') pending.push({id: env.id, alias: aliasOf(env.id), phase: env.phase})
        return
      }
      desired.push({...last, id: env.id})
      kept.push({id: env.id, alias: aliasOf(env.id), address: formatAddress(last), phase: env.phase, reason})
    }
    if (RUNNING.has(env.phase) && env.ssh) {
      desired.push({id: env.id, host: env.ssh.host, port: env.ssh.port, user: env.ssh.user})
    } else if (problemIds.has(env.id) && (RUNNING.has(env.phase) || ON_THE_WAY.has(env.phase))) {
      const problem = problemIds.get(env.id)!
      warnings.push({code: 'W_INVALID_ADDRESS', message: `${problem.message}${last ? '; keeping its last known address' : ''}`})
      keep('invalid-address')
    } else if (RUNNING.has(env.phase)) {
      keep('no-address-yet')
    } else if (ON_THE_WAY.has(env.phase)) {
      keep('starting')
    } else if (options.keepStopped && STOPPED.has(env.phase)) {
      // The ProxyCommand finds the real address when ssh connects; HostName is only what IDE lists show.
      const held = last ?? {id: env.id, host: aliasOf(env.id), port: 22, user: 'gitpod_devcontainer'}
      desired.push({...held, id: env.id})
      if (last) kept.push({id: env.id, alias: aliasOf(env.id), address: formatAddress(held), phase: env.phase, reason: 'stopped'})
    }
  }
  return {desired, kept, pending, warnings}
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

export interface Changes {
  added: Change[]
  updated: Update[]
  removed: Change[]
  unchanged: number
}

/** Compares the block's environments before and after, by alias. */
export function diffEnvironments(previous: readonly SshEnvironment[], next: readonly SshEnvironment[]): Changes {
  const before = new Map(previous.map((p) => [p.id.toLowerCase(), p]))
  const after = new Map(next.map((n) => [n.id.toLowerCase(), n]))
  const changes: Changes = {added: [], updated: [], removed: [], unchanged: 0}
  for (const [key, env] of [...after].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const old = before.get(key)
    if (!old) changes.added.push({id: env.id, alias: aliasOf(env.id), address: formatAddress(env)})
    else if (formatAddress(old) !== formatAddress(env)) changes.updated.push({id: env.id, alias: aliasOf(env.id), from: formatAddress(old), to: formatAddress(env)})
    else changes.unchanged++
  }
  for (const [key, env] of [...before].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!after.has(key)) changes.removed.push({id: env.id, alias: aliasOf(env.id), address: formatAddress(env)})
  }
  return changes
}
