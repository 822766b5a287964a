/**
 * EnvironmentService: listing and reading environments, and the calls that change one (SSH keys, start,
 * stop, activity). Every response is validated before it is returned, including the empty `{}` the
 * mutating calls answer with.
 */
import {OnaError} from '../errors.js'
import type {IdentityCalls} from './identity.js'
import type {CallOptions, Transport} from './transport.js'
import type {Environment, EnvironmentProblem, ListEnvironmentsResult, SshPublicKeySpec} from './types.js'

/** Pages are fetched until nextToken is empty; this bounds a server that keeps handing out tokens. */
const MAX_PAGES = 1000

export interface EnvironmentCalls {
  /**
   * All pages of the caller's own environments (`creatorId` defaults to the authenticated subject), each
   * id once (the record with the highest statusVersion, when pages repeat one). An environment whose SSH
   * url does not parse is returned without `ssh` and named in `problems`; one that cannot be read at all
   * is left out and named in `problems` as `unreadable`.
   */
  listEnvironments(options?: CallOptions & {creatorId?: string; pageSize?: number}): Promise<ListEnvironmentsResult>
  getEnvironment(environmentId: string, options?: CallOptions): Promise<{environment: Environment; problems: EnvironmentProblem[]}>
  /**
   * `UpdateEnvironment` with `spec.sshPublicKeys` only: each key given replaces the key of that id (or is
   * added); a key without `value` is removed; keys not named are left alone.
   */
  updateSshPublicKeys(environmentId: string, keys: readonly SshPublicKeySpec[], options?: CallOptions): Promise<void>
  startEnvironment(environmentId: string, options?: CallOptions): Promise<void>
  stopEnvironment(environmentId: string, options?: CallOptions): Promise<void>
  /** Reports use (e.g. an SSH session) so the environment is not stopped for inactivity. */
  markEnvironmentActive(environmentId: string, activity: {source: string; at: Date}, options?: CallOptions): Promise<void>
}

/** What a listing holds for one id: the readable record with the highest statusVersion, or why none is. */
interface ListedRecord {
  environment?: Environment
  problems: EnvironmentProblem[]
}

function addRecord(records: Map<string, ListedRecord>, parsed: {environment?: Environment; problems: EnvironmentProblem[]}): void {
  const id = (parsed.environment?.id ?? parsed.problems[0]?.environmentId ?? '').toLowerCase()
  const held = records.get(id)
  // A readable record wins over an unreadable one; of two readable ones, the newer (a tie keeps the first).
  const better = !held || (parsed.environment && (!held.environment || parsed.environment.statusVersion > held.environment.statusVersion))
  if (better) records.set(id, {...(parsed.environment ? {environment: parsed.environment} : {}), problems: parsed.problems})
}

/**
 * One environment per id, however many pages showed it (the highest statusVersion), with the problems
 * of the record kept; an unreadable record counts only where no readable record of its id was listed.
 */
function collapseListing(records: ReadonlyMap<string, ListedRecord>, anonymous: readonly EnvironmentProblem[] = []): ListEnvironmentsResult {
  const environments: Environment[] = []
  const problems: EnvironmentProblem[] = []
  for (const record of records.values()) {
    if (record.environment) environments.push(record.environment)
    problems.push(...record.problems)
  }
  return {environments, problems: [...problems, ...anonymous]}
}

export function environmentCalls(t: Transport, identity: IdentityCalls): EnvironmentCalls {
  const {schema} = t

  async function listEnvironments(callOptions: CallOptions & {creatorId?: string; pageSize?: number} = {}): Promise<ListEnvironmentsResult> {
    const creatorId = callOptions.creatorId ?? (await identity.getAuthenticatedIdentity(callOptions)).subjectId
    const pageSize = callOptions.pageSize ?? 100
    // Per id, in the order first seen: a list that changes while it is paged can show one environment on
    // two pages; the record with the highest statusVersion is the environment (collapseListing).
    const records = new Map<string, ListedRecord>()
    const anonymous: EnvironmentProblem[] = []
    const seenTokens = new Set<string>()
    let token = ''
    let index = 0
    for (let page = 0; page < MAX_PAGES; page++) {
      // The body carries the pagination as the Connect API defines it; the query repeats it as the Stainless SDKs send it.
      const body = {pagination: {pageSize, token}, filter: {creatorIds: [creatorId]}}
      const raw = await t.call('EnvironmentService/ListEnvironments', body, {pageSize: String(pageSize), token}, callOptions)
      const {nextToken, rawEnvironments} = schema.parseListPage('ListEnvironments', raw)
      for (const item of rawEnvironments) {
        const parsed = schema.parseEnvironment(item, `environments[${index++}]`)
        // The server filters by creator already; checking again keeps a misbehaving filter from adding others' hosts.
        if (parsed.environment && parsed.environment.creatorId !== undefined && parsed.environment.creatorId !== creatorId) continue
        if (!parsed.environment && parsed.problems.some((p) => p.idUnknown)) anonymous.push(...parsed.problems)
        else addRecord(records, parsed)
      }
      if (nextToken === '') return collapseListing(records, anonymous)
      if (seenTokens.has(nextToken)) {
        throw new OnaError('ERR_API_BAD_RESPONSE', 'ListEnvironments returned the same page token twice (pagination loop)', {details: {rpc: 'ListEnvironments'}})
      }
      seenTokens.add(nextToken)
      token = nextToken
    }
    throw new OnaError('ERR_API_BAD_RESPONSE', `ListEnvironments did not finish within ${MAX_PAGES} pages`, {details: {rpc: 'ListEnvironments'}})
  }

  async function getEnvironment(environmentId: string, callOptions: CallOptions = {}) {
    const raw = await t.call('EnvironmentService/GetEnvironment', {environmentId}, undefined, callOptions)
    const {problems, ...environment} = schema.parseGetEnvironment('GetEnvironment', raw)
    return {environment, problems}
  }

  async function empty(rpc: string, body: unknown, callOptions: CallOptions | undefined): Promise<void> {
    schema.parseEmpty(rpc, await t.call(`EnvironmentService/${rpc}`, body, undefined, callOptions))
  }

  return {
    listEnvironments,
    getEnvironment,
    updateSshPublicKeys: (environmentId, keys, callOptions) =>
      empty('UpdateEnvironment', {environmentId, spec: {sshPublicKeys: keys.map((k) => (k.value === undefined ? {id: k.id} : {id: k.id, value: k.value}))}}, callOptions),
    startEnvironment: (environmentId, callOptions) => empty('StartEnvironment', {environmentId}, callOptions),
    stopEnvironment: (environmentId, callOptions) => empty('StopEnvironment', {environmentId}, callOptions),
    markEnvironmentActive: (environmentId, activity, callOptions) =>
      empty('MarkEnvironmentActive', {environmentId, activitySignal: {source: activity.source, timestamp: activity.at.toISOString()}}, callOptions),
  }
}
