/**
 * Validation of management-plane responses (protobuf JSON). Loaded lazily by the client because zod is
 * heavy. Unknown fields are tolerated (stripped); wrong types and missing required fields are rejected
 * with the path of the field. Protobuf JSON omits default values, so a missing enum is UNSPECIFIED and a
 * missing int64 is 0.
 */
import {z} from 'zod'

import {OnaError} from '../errors.js'
import {parseSshUrl} from './ssh-url.js'
import type {Environment, EnvironmentProblem, Identity, WatchEvent} from './types.js'

// int64 is a decimal string in protobuf JSON; parsers also accept a JSON number.
const int64 = z.union([z.string().regex(/^\d{1,20}$/, 'expected a decimal integer string'), z.number().int().nonnegative()])

const identitySchema = z.object({
  subject: z.object({
    id: z.string().min(1),
    principal: z.string().optional(),
  }),
  organizationId: z.string().optional(),
})

const environmentSchema = z.object({
  id: z.string().min(1),
  metadata: z
    .object({
      name: z.string().optional(),
      creator: z.object({id: z.string().optional(), principal: z.string().optional()}).optional(),
      organizationId: z.string().optional(),
    })
    .optional(),
  spec: z
    .object({
      desiredPhase: z.string().optional(),
      sshPublicKeys: z.array(z.object({id: z.string().optional(), value: z.string().nullable().optional()})).optional(),
    })
    .optional(),
  status: z
    .object({
      statusVersion: int64.optional(),
      phase: z.string().optional(),
      sshPublicKeys: z.array(z.object({id: z.string().optional(), phase: z.string().optional()})).optional(),
      environmentUrls: z
        .object({
          ssh: z.object({url: z.string().optional()}).optional(),
        })
        .optional(),
    })
    .optional(),
})

const listSchema = z.object({
  pagination: z.object({nextToken: z.string().optional()}).optional(),
  environments: z.array(z.unknown()).optional(),
})

const getSchema = z.object({environment: z.unknown()})

const eventSchema = z.object({
  operation: z.string().optional(),
  resourceType: z.string().optional(),
  resourceId: z.string().optional(),
})

/** `a.b[2].c: message; ...` from zod issues, prefixed with where the object sits in the response. */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
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
  const parsed = identitySchema.safeParse(body)
  if (!parsed.success) throw badResponse(rpc, describeIssues(parsed.error))
  const {subject, organizationId} = parsed.data
  return {
    subjectId: subject.id,
    principal: subject.principal ?? 'PRINCIPAL_UNSPECIFIED',
    ...(organizationId ? {organizationId} : {}),
  }
}

/**
 * Turns one wire environment into an Environment. A bad SSH url is a problem of that environment only:
 * it comes back without `ssh`. A shape error (no id, wrong types) makes the environment unusable: it
 * comes back as a problem and no environment.
 */
export function parseEnvironment(raw: unknown, where: string): {environment?: Environment; problems: EnvironmentProblem[]} {
  const parsed = environmentSchema.safeParse(raw)
  if (!parsed.success) {
    const id = raw && typeof raw === 'object' && typeof (raw as {id?: unknown}).id === 'string' ? (raw as {id: string}).id : where
    return {problems: [{environmentId: id, field: describeIssues(parsed.error, where).split(':')[0] ?? where, message: describeIssues(parsed.error, where)}]}
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
  const parsed = listSchema.safeParse(body)
  if (!parsed.success) throw badResponse(rpc, describeIssues(parsed.error))
  return {nextToken: parsed.data.pagination?.nextToken ?? '', rawEnvironments: parsed.data.environments ?? []}
}

export function parseGetEnvironment(rpc: string, body: unknown): Environment & {problems: EnvironmentProblem[]} {
  const parsed = getSchema.safeParse(body)
  if (!parsed.success || parsed.data.environment === undefined || parsed.data.environment === null) {
    throw badResponse(rpc, parsed.success ? 'environment: missing' : describeIssues(parsed.error))
  }
  const {environment, problems} = parseEnvironment(parsed.data.environment, 'environment')
  if (!environment) throw badResponse(rpc, problems.map((p) => p.message).join('; '))
  return {...environment, problems}
}

const emptySchema = z.object({})

/** The mutating calls answer `{}`; anything that is not a JSON object is a broken response. */
export function parseEmpty(rpc: string, body: unknown): void {
  const parsed = emptySchema.safeParse(body)
  if (!parsed.success) throw badResponse(rpc, describeIssues(parsed.error))
}

/** Validates one streamed event; events that are not about anything (no id) are dropped by the caller. */
export function parseEvent(raw: unknown): WatchEvent | undefined {
  const parsed = eventSchema.safeParse(raw)
  if (!parsed.success) throw badResponse('WatchEvents', describeIssues(parsed.error, 'event'))
  const {operation, resourceType, resourceId} = parsed.data
  if (!resourceId) return undefined
  return {
    operation: operation ?? 'RESOURCE_OPERATION_UNSPECIFIED',
    resourceType: resourceType ?? 'RESOURCE_TYPE_UNSPECIFIED',
    resourceId,
  }
}
