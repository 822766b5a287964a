/**
 * The simulator's EnvironmentService: the environments' state, their wire JSON, and the RPCs that read
 * and change them. Changes happen over time as on the real plane (a start goes STARTING, then RUNNING
 * with an address; a new SSH key is CREATING, then READY), each step bumping statusVersion and announcing
 * an UPDATE_STATUS event.
 */
import {writeFileSync} from 'node:fs'

import type {SeedEnvironment, SimulatorSubject} from './types.js'

export interface EnvState {
  id: string
  name: string
  creatorId: string
  organizationId: string
  phase: string
  statusVersion: bigint
  sshUrl?: string
  /** Where the environment comes up on its next start (its last address unless a test moves it). */
  startUrl?: string
  createdAt: string
  keys: Map<string, string>
  keyPhases: Map<string, string>
  lastActivity?: {source: string; timestamp: string}
  /** Files the simulator keeps equal to the READY keys (an sshd's AuthorizedKeysFile in end-to-end tests). */
  authorizedKeysFiles: Set<string>
  /** The wire JSON as of the last statusVersion change, and as of the one before (a stale copy to serve). */
  current?: Record<string, unknown>
  previous?: Record<string, unknown>
  checkoutFolder?: string
}

export interface Delays {
  startMs: number
  stopMs: number
  keyReadyMs: number
}

export type Result = {status: number; json: unknown}

const DEFAULT_USER_NAME = 'gitpod_devcontainer'
const RUNNER_ID = '0199ec15-0000-7000-8000-00000000beef'
const PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/

export function sshUrl(address: {host: string; port?: number; user?: string}): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host
  return `ssh://${address.user ?? DEFAULT_USER_NAME}@${host}:${address.port ?? 22}`
}

export function isRunningPhase(phase: string): boolean {
  return phase === 'ENVIRONMENT_PHASE_RUNNING' || phase === 'ENVIRONMENT_PHASE_UPDATING'
}

const invalid = (message: string): Result => ({status: 400, json: {code: 'invalid_argument', message}})

export interface EnvironmentStore {
  environments: Map<string, EnvState>
  add(seed: SeedEnvironment): void
  mustGet(id: string): EnvState
  toJson(env: EnvState): Record<string, unknown>
  /** Answers an EnvironmentService RPC, or undefined when the method is not one of them. */
  handle(rpc: string, caller: Required<SimulatorSubject>, body: Record<string, unknown>, query: Record<string, string>, overlap?: {stale?: boolean}): Result | undefined
  bump(env: EnvState): void
  /** Runs `step` after `ms` unless the simulator closes first. */
  later(ms: number, step: () => void): void
  /** Holds every delayed step (phase changes, key READY) until the returned function releases them. */
  hold(): () => void
  writeAuthorizedKeys(env: EnvState): void
  close(): void
}

export function createEnvironmentStore(options: {
  subject: Required<SimulatorSubject>
  pageSizeMax: number
  delays: Delays
  emit: (operation: string, resourceId: string) => void
}): EnvironmentStore {
  const {subject, pageSizeMax, delays, emit} = options
  const environments = new Map<string, EnvState>()
  const timers = new Set<NodeJS.Timeout>()
  let clock = Date.parse('2026-01-01T00:00:00Z')
  let closed = false

  function add(seed: SeedEnvironment): void {
    const ssh = seed.ssh === undefined ? undefined : typeof seed.ssh === 'string' ? seed.ssh : sshUrl(seed.ssh)
    const phase = seed.phase ?? (ssh ? 'ENVIRONMENT_PHASE_RUNNING' : 'ENVIRONMENT_PHASE_STOPPED')
    const keys = new Map((seed.sshPublicKeys ?? []).map((k) => [k.id, k.value]))
    environments.set(seed.id, {
      id: seed.id,
      name: seed.name ?? seed.id.slice(0, 8),
      creatorId: seed.creatorId ?? subject.id,
      organizationId: seed.organizationId ?? subject.organizationId,
      phase,
      statusVersion: BigInt(seed.statusVersion ?? 1),
      ...(ssh && isRunningPhase(phase) ? {sshUrl: ssh} : {}),
      ...(ssh ? {startUrl: ssh} : {}),
      createdAt: new Date((clock += 60_000)).toISOString(),
      keys,
      keyPhases: new Map([...keys.keys()].map((id) => [id, 'CONTENT_PHASE_READY'])),
      authorizedKeysFiles: new Set(),
      ...(seed.checkoutFolder === undefined ? {} : {checkoutFolder: seed.checkoutFolder}),
    })
    const added = environments.get(seed.id)!
    added.current = toJson(added)
  }

  function mustGet(id: string): EnvState {
    const env = environments.get(id)
    if (!env) throw new Error(`simulator: no environment ${id}`)
    return env
  }

  function toJson(env: EnvState): Record<string, unknown> {
    const status: Record<string, unknown> = {
      statusVersion: env.statusVersion.toString(),
      phase: env.phase,
      machine: {phase: isRunningPhase(env.phase) ? 'PHASE_RUNNING' : 'PHASE_STOPPED'},
    }
    if (env.sshUrl !== undefined) {
      status.environmentUrls = {ssh: {url: env.sshUrl}, ports: [], logs: `https://logs.invalid/${env.id}`}
    }
    if (env.checkoutFolder !== undefined) status.content = {contentLocationInMachine: env.checkoutFolder}
    if (env.keyPhases.size > 0) status.sshPublicKeys = [...env.keyPhases].map(([id, phase]) => ({id, phase}))
    const heading = isRunningPhase(env.phase) || env.phase === 'ENVIRONMENT_PHASE_STARTING' || env.phase === 'ENVIRONMENT_PHASE_CREATING'
    const spec: Record<string, unknown> = {desiredPhase: heading ? 'ENVIRONMENT_PHASE_RUNNING' : 'ENVIRONMENT_PHASE_STOPPED', specVersion: '1'}
    if (env.keys.size > 0) spec.sshPublicKeys = [...env.keys].map(([id, value]) => ({id, value}))
    return {
      id: env.id,
      metadata: {
        name: env.name,
        creator: {id: env.creatorId, principal: 'PRINCIPAL_USER'},
        organizationId: env.organizationId,
        runnerId: RUNNER_ID,
        createdAt: env.createdAt,
      },
      spec,
      status,
    }
  }

  function bump(env: EnvState): void {
    env.previous = env.current ?? env.previous
    env.statusVersion += 1n
    env.current = toJson(env)
    emit('RESOURCE_OPERATION_UPDATE_STATUS', env.id)
  }

  // While held, delayed steps wait here; released, each runs `ms` after the release.
  let held: Array<{ms: number; step: () => void}> | undefined
  function later(ms: number, step: () => void): void {
    if (closed) return
    if (held) {
      held.push({ms, step})
      return
    }
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!closed) step()
    }, ms)
    timers.add(timer)
  }

  function writeAuthorizedKeys(env: EnvState): void {
    const ready = [...env.keys].filter(([id]) => env.keyPhases.get(id) === 'CONTENT_PHASE_READY').map(([, value]) => `${value}\n`)
    for (const file of env.authorizedKeysFiles) writeFileSync(file, ready.join(''), {mode: 0o600})
  }

  function listEnvironments(caller: Required<SimulatorSubject>, body: Record<string, unknown>, query: Record<string, string>, overlap?: {stale?: boolean}): Result {
    const pagination = (body.pagination ?? {}) as {pageSize?: unknown; token?: unknown}
    const filter = (body.filter ?? {}) as {creatorIds?: unknown; statusPhases?: unknown}
    const requestedSize = Number(query.pageSize ?? pagination.pageSize ?? 25)
    const pageSize = Math.min(pageSizeMax, Number.isInteger(requestedSize) && requestedSize > 0 ? requestedSize : 25)
    const pageToken = String(query.token ?? pagination.token ?? '')
    let offset = 0
    if (pageToken !== '') {
      const decoded = /^o:(\d+)$/.exec(Buffer.from(pageToken, 'base64url').toString('utf8'))
      if (!decoded) return invalid('invalid pagination token')
      offset = Number(decoded[1])
    }
    let list = [...environments.values()].filter((env) => env.organizationId === caller.organizationId)
    if (Array.isArray(filter.creatorIds) && filter.creatorIds.length > 0) {
      const ids = new Set(filter.creatorIds.map(String))
      list = list.filter((env) => ids.has(env.creatorId))
    }
    if (Array.isArray(filter.statusPhases) && filter.statusPhases.length > 0) {
      const phases = new Set(filter.statusPhases.map(String))
      list = list.filter((env) => phases.has(env.phase))
    }
    const page = list.slice(offset, offset + pageSize)
    const next = offset + pageSize < list.length ? Buffer.from(`o:${offset + pageSize}`).toString('base64url') : ''
    const json = page.map(toJson)
    if (overlap) {
      // The environment before this page (or this page's first, on a first page that is also the last) again.
      const again = offset > 0 ? list[offset - 1] : next === '' ? page[0] : undefined
      if (again) json.push(overlap.stale ? (again.previous ?? toJson(again)) : toJson(again))
    }
    return {status: 200, json: {pagination: {nextToken: next}, environments: json}}
  }

  function updateKeys(env: EnvState, keys: unknown): Result {
    if (keys === undefined) return {status: 200, json: {}}
    if (!Array.isArray(keys)) return invalid('spec.sshPublicKeys must be a list')
    for (const [index, key] of keys.entries()) {
      const k = key as {id?: unknown; value?: unknown}
      if (typeof k?.id !== 'string' || k.id === '') return invalid(`spec.sshPublicKeys[${index}].id is required`)
      if (k.value !== undefined && k.value !== null && k.value !== '' && (typeof k.value !== 'string' || !PUBLIC_KEY.test(k.value))) {
        return invalid(`spec.sshPublicKeys[${index}].value is not a public key in OpenSSH format`)
      }
    }
    let changed = false
    const added: string[] = []
    for (const key of keys as Array<{id: string; value?: string | null}>) {
      if (typeof key.value === 'string' && key.value !== '') {
        if (env.keys.get(key.id) === key.value) continue
        env.keys.set(key.id, key.value)
        env.keyPhases.set(key.id, 'CONTENT_PHASE_CREATING')
        added.push(key.id)
        changed = true
      } else if (env.keys.delete(key.id)) {
        env.keyPhases.delete(key.id)
        changed = true
      }
    }
    if (!changed) return {status: 200, json: {}}
    writeAuthorizedKeys(env)
    bump(env)
    later(delays.keyReadyMs, () => {
      let ready = false
      for (const id of added) {
        if (env.keyPhases.get(id) !== 'CONTENT_PHASE_CREATING') continue
        env.keyPhases.set(id, 'CONTENT_PHASE_READY')
        ready = true
      }
      if (!ready) return
      writeAuthorizedKeys(env)
      bump(env)
    })
    return {status: 200, json: {}}
  }

  function start(env: EnvState): Result {
    if (env.phase !== 'ENVIRONMENT_PHASE_STOPPED' && env.phase !== 'ENVIRONMENT_PHASE_STOPPING') return {status: 200, json: {}}
    env.phase = 'ENVIRONMENT_PHASE_STARTING'
    delete env.sshUrl
    bump(env)
    later(delays.startMs, () => {
      if (env.phase !== 'ENVIRONMENT_PHASE_STARTING') return
      env.phase = 'ENVIRONMENT_PHASE_RUNNING'
      env.sshUrl = env.startUrl ?? sshUrl({host: '127.0.0.1'})
      bump(env)
    })
    return {status: 200, json: {}}
  }

  function stop(env: EnvState): Result {
    if (!isRunningPhase(env.phase) && env.phase !== 'ENVIRONMENT_PHASE_STARTING') return {status: 200, json: {}}
    env.phase = 'ENVIRONMENT_PHASE_STOPPING'
    if (env.sshUrl) env.startUrl = env.sshUrl
    delete env.sshUrl
    bump(env)
    later(delays.stopMs, () => {
      if (env.phase !== 'ENVIRONMENT_PHASE_STOPPING') return
      env.phase = 'ENVIRONMENT_PHASE_STOPPED'
      bump(env)
    })
    return {status: 200, json: {}}
  }

  function handle(rpc: string, caller: Required<SimulatorSubject>, body: Record<string, unknown>, query: Record<string, string>, overlap?: {stale?: boolean}): Result | undefined {
    if (rpc === 'ListEnvironments') return listEnvironments(caller, body, query, overlap)
    if (!['GetEnvironment', 'UpdateEnvironment', 'StartEnvironment', 'StopEnvironment', 'MarkEnvironmentActive'].includes(rpc)) return undefined
    const id = body.environmentId
    if (typeof id !== 'string' || id === '') return invalid('environmentId is required')
    const env = environments.get(id)
    if (!env || env.organizationId !== caller.organizationId) return {status: 404, json: {code: 'not_found', message: `environment ${id} not found`}}
    switch (rpc) {
      case 'GetEnvironment':
        return {status: 200, json: {environment: toJson(env)}}
      case 'UpdateEnvironment': {
        const spec = (body.spec ?? {}) as {sshPublicKeys?: unknown}
        if (typeof spec !== 'object' || spec === null) return invalid('spec must be an object')
        return updateKeys(env, spec.sshPublicKeys)
      }
      case 'StartEnvironment':
        return start(env)
      case 'StopEnvironment':
        return stop(env)
      default: {
        const signal = body.activitySignal as {source?: unknown; timestamp?: unknown} | undefined
        if (signal !== undefined && (typeof signal !== 'object' || signal === null)) return invalid('activitySignal must be an object')
        if (signal?.timestamp !== undefined && (typeof signal.timestamp !== 'string' || Number.isNaN(Date.parse(signal.timestamp)))) {
          return invalid('activitySignal.timestamp is not an RFC 3339 timestamp')
        }
        env.lastActivity = {source: String(signal?.source ?? ''), timestamp: String(signal?.timestamp ?? new Date().toISOString())}
        return {status: 200, json: {}}
      }
    }
  }

  return {
    environments,
    add,
    mustGet,
    toJson,
    handle,
    bump,
    later,
    hold() {
      held ??= []
      return () => {
        const queued = held ?? []
        held = undefined
        for (const {ms, step} of queued) later(ms, step)
      }
    },
    writeAuthorizedKeys,
    close() {
      closed = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
    },
  }
}

/** Sets `path` (dotted, `metadata.name`) in a wire environment, creating the objects on the way. */
export function setField(json: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.')
  let at: Record<string, unknown> = json
  for (const key of keys.slice(0, -1)) {
    const next = at[key]
    if (next === null || typeof next !== 'object') at[key] = {}
    at = at[key] as Record<string, unknown>
  }
  at[keys.at(-1)!] = value
}
