/**
 * Validation of management-plane responses (protobuf JSON). Unknown fields are tolerated (stripped); wrong
 * types and missing required fields are rejected with the path of the field. Protobuf JSON omits default
 * values, so a missing enum is UNSPECIFIED and a missing int64 is 0; protobuf JSON also allows `null` for
 * any field, read as its default (withoutNulls). The checks are check.ts's (zod's semantics and messages,
 * without loading zod at start-up).
 */
import {OnaError} from '../errors.js'
import {array, nonNegativeInteger, nullable, object, optional, safeParse, string, union, unknown, type Issue} from './check.js'
import {parseSshUrl} from './ssh-url.js'
import type {Environment, EnvironmentProblem, Identity, WatchEvent} from './types.js'

// int64 is a decimal string in protobuf JSON; parsers also accept a JSON number.
const int64 = union(string({pattern: /^\d{1,20}$/, patternMessage: 'expected a decimal integer string'}), nonNegativeInteger())

const identitySchema = object({
  subject: object({
    id: string({min: 1}),
    principal: optional(string()),
  }),
  organizationId: optional(string()),
})

const environmentSchema = object({
  id: string({min: 1}),
  metadata: optional(
    object({
      name: optional(string()),
      creator: optional(object({id: optional(string()), principal: optional(string())})),
      organizationId: optional(string()),
    }),
  ),
  spec: optional(
    object({
      desiredPhase: optional(string()),
      sshPublicKeys: optional(array(object({id: optional(string()), value: optional(nullable(string()))}))),
    }),
  ),
  status: optional(
    object({
      statusVersion: optional(int64),
      phase: optional(string()),
      sshPublicKeys: optional(array(object({id: optional(string()), phase: optional(string())}))),
      content: optional(object({contentLocationInMachine: optional(string())})),
      environmentUrls: optional(
        object({
          ssh: optional(object({url: optional(string())})),
        }),
      ),
    }),
  ),
})

const listSchema = object({
  pagination: optional(object({nextToken: optional(string())})),
  environments: optional(array(unknown())),
})

const getSchema = object({environment: unknown()})

const eventSchema = object({
  operation: optional(string()),
  resourceType: optional(string()),
  resourceId: optional(string()),
})

/**
 * `value` with every object member whose value is `null` left out, at any depth: protobuf JSON accepts
 * `null` for any field and reads it as the field's default, which is what an absent member reads as here.
 * A `null` element of a list stays (protobuf JSON does not allow one there).
 */
export function withoutNulls(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  // A value with no null anywhere in it is returned as it is (what follows only reads it): a listing of
  // 100 environments was copied whole, member by member, which was half the cost of checking it.
  if (Array.isArray(value)) {
    let out: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const member: unknown = value[i]
      const cleaned = withoutNulls(member)
      if (out === undefined && cleaned !== member) out = value.slice(0, i)
      out?.push(cleaned)
    }
    return out ?? value
  }
  const input = value as Record<string, unknown>
  const keys = Object.keys(input)
  let out: Record<string, unknown> | undefined
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const member = input[key]
    const cleaned = member === null ? undefined : withoutNulls(member)
    if (out === undefined && cleaned !== member) {
      out = {}
      for (let j = 0; j < i; j++) out[keys[j]!] = input[keys[j]!]
    }
    if (out !== undefined && member !== null) out[key] = cleaned
  }
  return out ?? value
}

/** `a.b[2].c: message; ...` from the issues, prefixed with where the object sits in the response. */
export function describeIssues(issues: readonly Issue[], prefix = ''): string {
  return issues
    .slice(0, 5)
    .map((issue) => {
      let where = prefix
      for (const key of issue.path) {
        where += typeof key === 'number' ? `[${key}]` : where === '' ? String(key) : `.${String(key)}`
      }
      return `${where === '' ? '(response)' : where}: ${issue.message}`
    })
    .join('; ')
}

function badResponse(rpc: string, detail: string): OnaError {
  return new OnaError('ERR_API_BAD_RESPONSE', `unexpected response from ${rpc}: ${detail}`, {details: {rpc}})
}

export function parseIdentity(rpc: string, body: unknown): Identity {
  const parsed = safeParse(identitySchema, withoutNulls(body))
  if (!parsed.success) throw badResponse(rpc, describeIssues(parsed.issues))
  const {subject, organizationId} = parsed.data
  return {
    subjectId: subject.id,
    principal: subject.principal ?? 'PRINCIPAL_UNSPECIFIED',
    ...(organizationId ? {organizationId} : {}),
  }
}

/**
 * Turns one wire environment into an Environment. A bad SSH url is a problem of that environment only:
 * it comes back without `ssh`. A shape error (no id, wrong types) makes the environment unreadable: it
 * comes back as an `unreadable` problem and no environment. Nulls read as defaults (withoutNulls).
 */
export function parseEnvironment(wire: unknown, where: string): {environment?: Environment; problems: EnvironmentProblem[]} {
  const raw = withoutNulls(wire)
  const parsed = safeParse(environmentSchema, raw)
  if (!parsed.success) {
    const rawId = raw && typeof raw === 'object' ? (raw as {id?: unknown}).id : undefined
    const known = typeof rawId === 'string' && rawId !== ''
    const message = describeIssues(parsed.issues, where)
    const field = describeIssues(parsed.issues.slice(0, 1)).split(':')[0] ?? where
    return {problems: [{environmentId: known ? rawId : where, field, message: `environment ${known ? rawId : where}: ${message}`, unreadable: true, ...(known ? {} : {idUnknown: true})}]}
  }
  const data = parsed.data
  const environment: Environment = {
    id: data.id,
    phase: data.status?.phase ?? 'ENVIRONMENT_PHASE_UNSPECIFIED',
    statusVersion: BigInt(data.status?.statusVersion ?? 0),
  }
  if (data.metadata?.name) environment.name = data.metadata.name
  if (data.metadata?.creator?.id) environment.creatorId = data.metadata.creator.id
  if (data.metadata?.organizationId) environment.organizationId = data.metadata.organizationId
  if (data.spec?.desiredPhase) environment.desiredPhase = data.spec.desiredPhase
  // Keys without an id cannot be told apart or replaced: they are not ona's and are left out of the view.
  const specKeys = (data.spec?.sshPublicKeys ?? []).filter((k): k is {id: string; value?: string | null} => typeof k.id === 'string' && k.id !== '')
  if (specKeys.length > 0) environment.sshPublicKeys = specKeys.map((k) => (typeof k.value === 'string' ? {id: k.id, value: k.value} : {id: k.id}))
  const statusKeys = (data.status?.sshPublicKeys ?? []).filter((k): k is {id: string; phase?: string} => typeof k.id === 'string' && k.id !== '')
  if (statusKeys.length > 0) environment.sshKeyStatus = statusKeys.map((k) => ({id: k.id, phase: k.phase ?? 'CONTENT_PHASE_UNSPECIFIED'}))
  // Only a plain absolute POSIX path: it becomes an editor's argument (`code --remote ... <folder>`).
  const checkout = data.status?.content?.contentLocationInMachine
  if (checkout !== undefined && /^\/[^\0-\x1f\x7f]*$/.test(checkout)) environment.checkoutFolder = checkout
  const problems: EnvironmentProblem[] = []
  const url = data.status?.environmentUrls?.ssh?.url
  if (url !== undefined && url !== '') {
    const result = parseSshUrl(url)
    if (result.ok) environment.ssh = result.address
    else {
      problems.push({
        environmentId: data.id,
        field: 'status.environmentUrls.ssh.url',
        message: `environment ${data.id}: status.environmentUrls.ssh.url ${result.reason}`,
      })
    }
  }
  return {environment, problems}
}

export function parseListPage(rpc: string, body: unknown): {nextToken: string; rawEnvironments: unknown[]} {
  // Each environment is read (nulls and all) by parseEnvironment: copying them all here first without
  // their nulls cost a third of a 100-environment listing's validation.
  const items = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as {environments?: unknown}).environments : undefined
  const page = Array.isArray(items) ? {...(body as object), environments: []} : body
  const parsed = safeParse(listSchema, withoutNulls(page))
  if (!parsed.success) throw badResponse(rpc, describeIssues(parsed.issues))
  return {nextToken: parsed.data.pagination?.nextToken ?? '', rawEnvironments: Array.isArray(items) ? items : []}
}

export function parseGetEnvironment(rpc: string, body: unknown): Environment & {problems: EnvironmentProblem[]} {
  const parsed = safeParse(getSchema, withoutNulls(body))
  if (!parsed.success || parsed.data.environment === undefined || parsed.data.environment === null) {
    throw badResponse(rpc, parsed.success ? 'environment: missing' : describeIssues(parsed.issues))
  }
  const {environment, problems} = parseEnvironment(parsed.data.environment, 'environment')
  if (!environment) {
    const error = badResponse(rpc, problems.map((p) => p.message).join('; '))
    // Which environment could not be read, and where: a caller may keep what it knew of it.
    const unreadable = problems.find((p) => !p.idUnknown)
    if (unreadable) Object.assign(error.details!, {environmentId: unreadable.environmentId, field: unreadable.field})
    throw error
  }
  return {...environment, problems}
}

const emptySchema = object({})

/** The mutating calls answer `{}`; anything that is not a JSON object is a broken response. */
export function parseEmpty(rpc: string, body: unknown): void {
  const parsed = safeParse(emptySchema, body)
  if (!parsed.success) throw badResponse(rpc, describeIssues(parsed.issues))
}

/** Validates one streamed event; events that are not about anything (no id) are dropped by the caller. */
export function parseEvent(raw: unknown): WatchEvent | undefined {
  const parsed = safeParse(eventSchema, withoutNulls(raw))
  if (!parsed.success) throw badResponse('WatchEvents', describeIssues(parsed.issues, 'event'))
  const {operation, resourceType, resourceId} = parsed.data
  if (!resourceId) return undefined
  return {
    operation: operation ?? 'RESOURCE_OPERATION_UNSPECIFIED',
    resourceType: resourceType ?? 'RESOURCE_TYPE_UNSPECIFIED',
    resourceId,
  }
}
