import {OnaError} from '../errors.js'

/** The vendor's current cloud. */
export const DEFAULT_API_URL = 'https://app.ona.com/api'

/**
 * Picks the management-plane base URL: `--api-url` flag, then `ONA_API_URL`, then the SDK's
 * `ONA_BASE_URL` and `GITPOD_BASE_URL`, then the vendor cloud. Empty values count as unset. The result
 * has no trailing slash, no query, no fragment and no credentials.
 */
export function resolveApiUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const candidates: Array<[string, string | undefined]> = [
    ['--api-url', flag],
    ['ONA_API_URL', env.ONA_API_URL],
    ['ONA_BASE_URL', env.ONA_BASE_URL],
    ['GITPOD_BASE_URL', env.GITPOD_BASE_URL],
  ]
  for (const [source, value] of candidates) {
    if (value !== undefined && value.trim() !== '') return normalizeApiUrl(value.trim(), source)
  }
  return DEFAULT_API_URL
}

/** Validates one API URL; `source` names where it came from for the error message. */
export function normalizeApiUrl(value: string, source = 'API URL'): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new OnaError('ERR_API_URL', `${source} is not a URL: "${value}"`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new OnaError('ERR_API_URL', `${source} must use http or https, not "${url.protocol.replace(/:$/, '')}"`)
  }
  if (url.username !== '' || url.password !== '') {
    // A token in the URL would end up in logs and error messages.
    throw new OnaError('ERR_API_URL', `${source} must not contain credentials`)
  }
  if (url.search !== '' || url.hash !== '') {
    throw new OnaError('ERR_API_URL', `${source} must not contain a query or fragment`)
  }
  return url.toString().replace(/\/+$/, '')
}

/** True for names that never leave the machine: localhost, 127.0.0.0/8 and ::1 (the bundled simulator). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '')
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true
  return /^127(\.\d{1,3}){3}$/.test(host)
}

/**
 * Whether a bearer token may be sent to `apiUrl`: always over https, over plain http only to a loopback
 * host, unless `ONA_ALLOW_INSECURE_HTTP=1` opts in. Returns the refusal instead of throwing it.
 */
export function insecureHttpRefusal(apiUrl: string, env: NodeJS.ProcessEnv): OnaError | undefined {
  const url = new URL(apiUrl)
  if (url.protocol !== 'http:' || isLoopbackHost(url.hostname) || env.ONA_ALLOW_INSECURE_HTTP === '1') return undefined
  return new OnaError('ERR_INSECURE_HTTP', `refusing to send the token over plain http to ${url.origin}${url.pathname.replace(/\/+$/, '')}`, {
    details: {apiUrl: url.toString().replace(/\/+$/, '')},
  })
}

/** The host (with a non-default port) that names an API install in messages and `--json` output. */
export function apiHostKey(apiUrl: string): string {
  return new URL(apiUrl).host.toLowerCase()
}

/**
 * The origin (scheme, host and port; the scheme's default port left out) that stored tokens are keyed
 * by: a token stored for https://app.gitpod.io is never offered to http://app.gitpod.io or
 * https://app.gitpod.io:8443.
 */
export function apiOriginKey(apiUrl: string): string {
  return new URL(apiUrl).origin.toLowerCase()
}

/**
 * The host key ona 0.1 stored tokens under, for the one origin such an entry may be read for: https on
 * the default port. Any other origin gets `undefined` (a legacy `app.gitpod.io` entry may have been
 * stored for http://app.gitpod.io, and must not reach https, nor the other way round).
 */
export function legacyHostKey(apiUrl: string): string | undefined {
  const url = new URL(apiUrl)
  return url.protocol === 'https:' && url.port === '' ? url.host.toLowerCase() : undefined
}

/**
 * The key ona 0.1 stored a token for `apiUrl` under (`new URL(url).host`: the host, with a non-default
 * port, whatever the scheme). For REMOVING only: logout and a new login delete it so no old token is
 * stranded. Never read it for any origin but the one legacyHostKey names.
 */
export function legacyStoredHostKey(apiUrl: string): string {
  return new URL(apiUrl).host.toLowerCase()
}

/** Where the vendor's dashboard lists and creates personal access tokens: a path on the install's own origin. */
export const TOKEN_PAGE_PATH = '/projects#/settings/personal-access-tokens'

/**
 * Where to create a personal access token for `apiUrl`: its dashboard's token page (an enterprise install's
 * on its own host), or, for the local simulator (loopback), undefined: it prints its token when it starts.
 */
export function tokenPageUrl(apiUrl: string): string | undefined {
  const url = new URL(apiUrl)
  if (isLoopbackHost(url.hostname)) return undefined
  return `${url.origin}${TOKEN_PAGE_PATH}`
}
