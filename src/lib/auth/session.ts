/**
 * `ona login`, `ona logout` and `ona whoami` as library functions: the commands only parse flags.
 * Human lines go to stderr through ctx.io; the returned objects are what `--json` prints. None of them
 * ever contains the token.
 */
import type {Context} from '../context.js'
import {createApiClient, type ApiClientOptions} from '../api/client.js'
import {apiHostKey, apiOriginKey, insecureHttpRefusal, legacyStoredHostKey, tokenPageUrl} from '../api/base-url.js'
import type {DisplayNames} from '../api/identity.js'
import type {Identity} from '../api/types.js'
import {checkToken, promptHidden, readTokenFromStream, type TokenInput} from './prompt.js'
import {envToken, resolveToken, type TokenSource} from './token.js'
import {fileDelete, fileSet, keychainDelete, keychainSet, keychainTimeoutError, oldKeychainService, tokenFilePath} from './token-store.js'
import {OnaError} from '../errors.js'
import {printable} from '../printable.js'

export interface SessionOptions {
  apiUrl: string
  userAgent?: string
  timeoutMs?: number
}

export interface LoginOptions extends SessionOptions {
  /** Read the token from `stdin` (preferred for scripts). */
  tokenStdin?: boolean
  stdin?: TokenInput
}

/** Whom a token belongs to, as login and whoami report it. */
export interface TokenOwner {
  apiUrl: string
  host: string
  subjectId: string
  principal: string
  organizationId?: string
  /** The user's display name, when the plane gives it. */
  userName?: string
  /** The organisation's name, when the plane gives it. */
  organizationName?: string
}

export interface LoginResult extends TokenOwner {
  /** Where the token was put. */
  storage: 'keychain' | 'file'
  tokenFile?: string
  /** Where the token came from. */
  input: 'stdin' | 'prompt' | 'env'
}

/** The client options that tie API calls to the command: its deadline, and the terminal's status line. */
export async function waitOptions(ctx: Context): Promise<Pick<ApiClientOptions, 'deadline' | 'onWait'>> {
  const onWait = ctx.status ? (await import('../status-line.js')).apiWaitReporter(ctx.status) : undefined
  return {...(ctx.deadline ? {deadline: ctx.deadline} : {}), ...(onWait ? {onWait} : {})}
}

/** `ONA_DEBUG=1`: one line per request on stderr (never headers or bodies). */
export function debugSink(ctx: Context): ((line: string) => void) | undefined {
  const value = ctx.env.ONA_DEBUG
  if (!value || value === '0' || value === 'false') return undefined
  return (line) => ctx.io.info(`debug: ${line}`)
}

async function verify(ctx: Context, options: SessionOptions, token: string): Promise<Identity & DisplayNames> {
  const debug = debugSink(ctx)
  const api = await createApiClient({
    baseUrl: options.apiUrl,
    token,
    userAgent: options.userAgent,
    timeoutMs: options.timeoutMs,
    retries: 2,
    env: ctx.env,
    ...(debug ? {debug} : {}),
    ...(await waitOptions(ctx)),
  })
  const identity = await api.getAuthenticatedIdentity()
  return {...identity, ...(await api.getDisplayNames(identity))}
}

/** `Sam Newcomer (user f53d2330-...) in Acme Corp (0198ec0e-...)`; ids alone where the plane gives no names. */
/** The owner fields of login's and whoami's results (optional names only where the plane gives them). */
function tokenOwner(apiUrl: string, identity: Identity & DisplayNames): TokenOwner {
  return {
    apiUrl,
    host: apiHostKey(apiUrl),
    subjectId: identity.subjectId,
    principal: identity.principal,
    ...(identity.organizationId ? {organizationId: identity.organizationId} : {}),
    ...(identity.userName ? {userName: identity.userName} : {}),
    ...(identity.organizationName ? {organizationName: identity.organizationName} : {}),
  }
}

function describeIdentity(identity: Identity & DisplayNames): string {
  const kind = printable(identity.principal.replace(/^PRINCIPAL_/, '').toLowerCase().replace(/_/g, ' '))
  const who = identity.userName ? `${printable(identity.userName, 80)} (${kind} ${printable(identity.subjectId)})` : `${printable(identity.subjectId)} (${kind})`
  const org = identity.organizationId
    ? ` in ${identity.organizationName ? `${printable(identity.organizationName, 80)} (${printable(identity.organizationId)})` : `organization ${printable(identity.organizationId)}`}`
    : ''
  return `${who}${org}`
}

/**
 * Takes a token from stdin (`tokenStdin`), a hidden prompt on a terminal, or the environment, checks it
 * with GetAuthenticatedIdentity, and only then stores it: in the OS keychain, or in a 0600 file when
 * there is no keychain (saying so).
 */
export async function login(ctx: Context, options: LoginOptions): Promise<LoginResult> {
  // Refused before the token is even asked for (the transport checks again before any request).
  const refusal = insecureHttpRefusal(options.apiUrl, ctx.env)
  if (refusal) throw refusal
  const stdin = options.stdin ?? (process.stdin as TokenInput)
  const fromEnv = envToken(ctx.env)
  let token: string
  let input: LoginResult['input']
  // Time spent typing or pasting is the user's: the deadline bounds the waits on the system only.
  const userTime = <T>(fn: () => Promise<T>) => (ctx.deadline ? ctx.deadline.paused(fn) : fn())
  if (options.tokenStdin) {
    token = await userTime(() => readTokenFromStream(stdin))
    input = 'stdin'
  } else if (stdin.isTTY && typeof stdin.setRawMode === 'function') {
    const page = tokenPageUrl(options.apiUrl)
    if (page) ctx.io.err.write(`Create a personal access token at ${page} (Settings > Personal access tokens).\n`)
    token = await userTime(() => promptHidden(`Paste a personal access token for ${apiOriginKey(options.apiUrl)} (input is hidden): `, stdin, ctx.io.err))
    input = 'prompt'
  } else if (fromEnv) {
    token = checkToken(fromEnv.token)
    input = 'env'
  } else {
    throw new OnaError('ERR_TOKEN_EMPTY', 'no token: standard input is not a terminal and --token-stdin was not given')
  }

  const identity = await verify(ctx, options, token).catch((error: unknown) => {
    // A token just typed or pasted that the server refuses is most likely mistyped or cut short, not
    // "expired or revoked" (the hint for a stored token that stopped working).
    if (error instanceof OnaError && error.code === 'ERR_AUTH_EXPIRED') {
      throw new OnaError('ERR_AUTH_EXPIRED', `${apiHostKey(options.apiUrl)} did not accept this token; nothing was stored`, {
        hint: 'Check that you pasted the whole personal access token (no missing characters) and that it is for this install (--api-url); it may also have expired.',
        details: {...error.details, host: apiHostKey(options.apiUrl)},
      })
    }
    throw error
  })
  const result: LoginResult = {
    ...tokenOwner(options.apiUrl, identity),
    storage: 'keychain',
    input,
  }

  const stored = await keychainSet(ctx, options.apiUrl, token)
  if (stored.ok) {
    // A stale copy in the file would come back after a logout that only cleared the keychain.
    await fileDelete(ctx, options.apiUrl).catch(() => undefined)
  } else {
    result.storage = 'file'
    result.tokenFile = await fileSet(ctx, options.apiUrl, token)
    if (stored.reason !== 'disabled') {
      ctx.io.warn(`no usable OS keychain (${stored.detail}); the token is stored in ${result.tokenFile} (mode 0600) instead`)
    }
  }

  ctx.io.info(`Logged in to ${apiOriginKey(options.apiUrl)} as ${describeIdentity(identity)}; token stored in ${result.storage === 'keychain' ? 'the OS keychain' : result.tokenFile}.`)
  if (fromEnv && input !== 'env') {
    ctx.io.warn(`${fromEnv.variable} is set in your environment and takes precedence over the stored token`)
  }
  return result
}

export interface LogoutResult {
  host: string
  /** The API origin whose token was removed (tokens are stored per origin). */
  origin: string
  /** Stores the token was removed from (empty when there was nothing to remove). */
  removed: Array<'keychain' | 'file'>
  /**
   * Stores ona 0.1's token for this origin (keyed by host[:port], `legacyKey`) was removed from; such a
   * token is only ever read for https on the default port, so elsewhere logout is what removes it.
   */
  legacyRemoved: Array<'keychain' | 'file'>
  legacyKey: string
  /** A token variable that still authenticates after logout. */
  envVariable?: string
}

/**
 * Removes the origin's token, and the one ona 0.1 would have stored for it, from the keychain and the
 * file, wherever they are. A keychain that does not answer is an error (ERR_KEYCHAIN_TIMEOUT) unless a
 * token was removed from the file: then the file was where ona kept it (a login that reached the
 * keychain removes the file's copy), so that is reported and the keychain problem is a warning.
 */
export async function logout(ctx: Context, options: SessionOptions): Promise<LogoutResult> {
  const host = apiHostKey(options.apiUrl)
  const origin = apiOriginKey(options.apiUrl)
  const legacyKey = legacyStoredHostKey(options.apiUrl)
  const removed: LogoutResult['removed'] = []
  const legacyRemoved: LogoutResult['legacyRemoved'] = []
  const fromKeychain = await keychainDelete(ctx, options.apiUrl)
  if (fromKeychain.ok && fromKeychain.value.origin) removed.push('keychain')
  if (fromKeychain.ok && fromKeychain.value.legacy) legacyRemoved.push('keychain')
  const fromFile = await fileDelete(ctx, options.apiUrl)
  if (fromFile.origin) removed.push('file')
  if (fromFile.legacy) legacyRemoved.push('file')
  const timedOut = !fromKeychain.ok && fromKeychain.reason === 'timeout' ? fromKeychain.detail : undefined
  if (timedOut !== undefined && removed.length === 0 && legacyRemoved.length === 0) {
    throw keychainTimeoutError(ctx, `${timedOut}; nothing was removed, and a token for ${origin} may remain there`)
  }
  const result: LogoutResult = {host, origin, removed, legacyRemoved, legacyKey}
  const where = (stores: Array<'keychain' | 'file'>, key: string) =>
    stores.map((r) => (r === 'keychain' ? `the OS keychain (${key})` : tokenFilePath(ctx))).join(' and ')
  const parts: string[] = []
  if (removed.length > 0) parts.push(`token removed from ${removed.map((r) => (r === 'keychain' ? 'the OS keychain' : tokenFilePath(ctx))).join(' and ')}`)
  if (legacyRemoved.length > 0) parts.push(`ona 0.1's token for ${legacyKey} removed from ${where(legacyRemoved, oldKeychainService(options.apiUrl))}`)
  if (parts.length === 0) ctx.io.info(`No stored token for ${origin}; nothing to do.`)
  else ctx.io.info(`Logged out of ${origin}: ${parts.join('; ')}.`)
  if (timedOut !== undefined) ctx.io.warn(`${timedOut}; a token for ${origin} may remain in the OS keychain: run \`ona logout\` again when it answers`)
  const fromEnv = envToken(ctx.env)
  if (fromEnv) {
    result.envVariable = fromEnv.variable
    ctx.io.warn(`${fromEnv.variable} is still set in your environment and keeps authenticating; unset it to log out completely`)
  }
  return result
}

export interface WhoamiResult extends TokenOwner {
  tokenSource: TokenSource
  /** The variable, when tokenSource is `env`. */
  tokenVariable?: string
}

/** Resolves the token and asks the management plane who it belongs to. */
export async function whoami(ctx: Context, options: SessionOptions): Promise<WhoamiResult> {
  const {token, source, variable} = await resolveToken(ctx, options.apiUrl)
  const identity = await verify(ctx, options, token)
  const result: WhoamiResult = {
    ...tokenOwner(options.apiUrl, identity),
    tokenSource: source,
    ...(variable ? {tokenVariable: variable} : {}),
  }
  return result
}

/** The human form of whoami (stdout: it is the command's data). */
export function formatWhoami(result: WhoamiResult): string[] {
  const source = result.tokenSource === 'env' ? `environment (${result.tokenVariable})` : result.tokenSource === 'keychain' ? 'OS keychain' : 'token file'
  return [
    `host:         ${result.host}`,
    ...(result.userName ? [`name:         ${printable(result.userName, 80)}`] : []),
    `subject:      ${printable(result.subjectId)}`,
    `principal:    ${printable(result.principal)}`,
    `organization: ${result.organizationId ? `${result.organizationName ? `${printable(result.organizationName, 80)} (${printable(result.organizationId)})` : printable(result.organizationId)}` : '(none)'}`,
    `token from:   ${source}`,
  ]
}


