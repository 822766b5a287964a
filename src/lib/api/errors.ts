/**
 * Maps what the management plane answers (Connect error codes and HTTP statuses) and what the network
 * does to the project's typed errors. Messages never include request options or headers, so a token
 * cannot leak through them.
 */
import {OnaError, type ErrorCode} from '../errors.js'

/** Connect's code for each HTTP status, used when the body carries no code of its own. */
const STATUS_TO_CONNECT: Record<number, string> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  403: 'permission_denied',
  404: 'not_found',
  408: 'deadline_exceeded',
  409: 'aborted',
  429: 'resource_exhausted',
  499: 'canceled',
  500: 'internal',
  501: 'unimplemented',
  502: 'unavailable',
  503: 'unavailable',
  504: 'unavailable',
}

export function connectCodeForStatus(status: number): string {
  return STATUS_TO_CONNECT[status] ?? (status >= 500 ? 'unknown' : 'unknown')
}

/** Whether a failed attempt may be repeated: network errors, 408, 429 and 5xx, never auth errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

/** Parses a Connect error body `{"code":"...","message":"..."}`; anything else yields undefined fields. */
export function parseConnectErrorBody(body: string): {code?: string; message?: string} {
  try {
    const parsed: unknown = JSON.parse(body)
    if (parsed && typeof parsed === 'object') {
      const {code, message} = parsed as Record<string, unknown>
      return {
        code: typeof code === 'string' ? code : undefined,
        message: typeof message === 'string' ? message.slice(0, 500) : undefined,
      }
    }
  } catch {
    // Not JSON (a proxy's HTML error page, say): the status alone decides.
  }
  return {}
}

/** Builds the typed error for a Connect error code returned by `rpc`. */
export function connectError(rpc: string, code: string, serverMessage: string | undefined, status?: number): OnaError {
  const said = serverMessage ? `: ${serverMessage}` : ''
  const details = {rpc, connectCode: code, ...(status === undefined ? {} : {status})}
  const table: Record<string, {code: ErrorCode; message: string; hint?: string}> = {
    unauthenticated: {code: 'ERR_AUTH_EXPIRED', message: `the management plane did not accept the token (${rpc})${said}`, hint: 'Your token expired or was revoked: run `ona login`.'},
    permission_denied: {code: 'ERR_PERMISSION_DENIED', message: `permission denied for ${rpc}${said}`},
    not_found: {code: 'ERR_API_NOT_FOUND', message: `not found (${rpc})${said}`},
    resource_exhausted: {code: 'ERR_API_RATE_LIMITED', message: `rate limited by the management plane (${rpc})${said}`},
    unavailable: {code: 'ERR_API_UNAVAILABLE', message: `the management plane is unavailable (${rpc})${said}`},
    internal: {code: 'ERR_API_UNAVAILABLE', message: `the management plane failed with an internal error (${rpc})${said}`},
    unknown: {code: 'ERR_API_UNAVAILABLE', message: `the management plane failed (${rpc}${status === undefined ? '' : `, HTTP ${status}`})${said}`},
    deadline_exceeded: {code: 'ERR_API_TIMEOUT', message: `the management plane timed out (${rpc})${said}`},
  }
  const entry = table[code] ?? {code: 'ERR_API_REQUEST' as const, message: `the management plane rejected ${rpc} with "${code}"${said}`}
  return new OnaError(entry.code, entry.message, {hint: entry.hint, details})
}

/** Node's codes for a certificate it cannot trust: retrying cannot help, a CA bundle can. */
const TLS_CERT_ERRORS = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

/** Builds the typed error for a network failure (no HTTP response), naming the host but nothing else. */
export function networkError(rpc: string, host: string, error: unknown, viaProxy: boolean): OnaError {
  const code = (error as {code?: unknown})?.code
  const name = (error as {name?: unknown})?.name
  const errno = typeof code === 'string' ? code : typeof name === 'string' ? name : 'network error'
  if (TLS_CERT_ERRORS.has(errno)) {
    return new OnaError('ERR_API_TLS', `the TLS certificate of ${host} cannot be verified (${errno}) (${rpc})`, {details: {rpc, host, errno}})
  }
  if (errno === 'ETIMEDOUT' || name === 'TimeoutError') {
    return new OnaError('ERR_API_TIMEOUT', `no answer from ${host} in time (${rpc})`, {details: {rpc, host, errno}})
  }
  if (viaProxy && (errno === 'ERR_GOT_REQUEST_ERROR' || /proxy/i.test(String((error as Error)?.message ?? '')))) {
    return new OnaError('ERR_PROXY', `the proxy refused or failed the connection to ${host} (${rpc})`, {details: {rpc, host, errno}})
  }
  return new OnaError('ERR_API_UNAVAILABLE', `cannot reach ${host} (${rpc}): ${errno}`, {details: {rpc, host, errno}})
}
