/**
 * The transport every service family shares: Connect RPC over JSON (`POST {base}/gitpod.v1.<Service>/<Method>`)
 * on Node's http/https (http.ts), with the project's own retry loop, proxy choice and error rebuilding.
 *
 * hpagent and the schema are loaded on first use so that importing this module costs nothing at start-up.
 * No network error, request option or header is ever passed on: errors are rebuilt from the status, the
 * Connect code and the errno, so the bearer token cannot reach a message, a `cause` or a crash report.
 */
import type {Agent as HttpAgent} from 'node:http'
import type {Agent as HttpsAgent} from 'node:https'

import type {Deadline} from '../deadline.js'
import {OnaError, isOnaError} from '../errors.js'
import {proxyForUrl} from '../net/no-proxy.js'
import {redact, redactBearer} from '../redact.js'
import {defaultUserAgent} from '../version.js'
import {insecureHttpRefusal, normalizeApiUrl} from './base-url.js'
import {backoffDelay, parseRetryAfter, sleep, type BackoffOptions} from './backoff.js'
import {formatDuration} from '../deadline.js'
import {connectCodeForStatus, connectError, isRetryableStatus, networkError, parseConnectErrorBody} from './errors.js'

export interface ApiClientOptions {
  /** e.g. `https://app.ona.com/api`; validated, trailing slash ignored. */
  baseUrl: string
  token: string
  userAgent?: string
  /** Per attempt, for unary calls and for the response headers of a stream. Default 30 s. */
  timeoutMs?: number
  /** Retries after the first attempt of a unary call. Default 3. */
  retries?: number
  /** Proxy variables are read from here (default process.env). */
  env?: NodeJS.ProcessEnv
  /** Backoff between retries; tests shrink it. Default 500 ms doubling to 8 s, half of it random. */
  backoff?: Partial<BackoffOptions>
  /** A `Retry-After` longer than this is not waited for: the call fails with the rate-limit error. Default 60 s. */
  maxRetryAfterMs?: number
  /** Wire form asked for by `watchEvents`. Default `jsonl`, as the vendor SDKs do; the reply's type decides decoding. */
  streamFormat?: 'jsonl' | 'connect'
  /** Told about each retry (debug output); never receives the token. */
  onRetry?: (info: {rpc: string; attempt: number; delayMs: number; reason: string}) => void
  /**
   * Receives one line per request attempt (method, status, time, proxy) for `ONA_DEBUG` output. Lines are
   * built without headers or bodies and pass through redaction, so they never hold the token.
   */
  debug?: (line: string) => void
  random?: () => number
  /**
   * The command's overall deadline (deadline.ts): no attempt outlives it (each is given the lesser of
   * `timeoutMs` and the time left), no retry is waited for past it, and hitting it fails the call with
   * ERR_DEADLINE_EXCEEDED naming the RPC and the API. Absent (watch mode, the service): attempts alone bound.
   */
  deadline?: Deadline
  /** Told when a unary call starts waiting, about each attempt and retry, and when it is over (the terminal status line). */
  onWait?: (wait: ApiWait) => WaitHandle
}

/** What a unary call is waiting for, for a status line ("waiting for app.ona.com (ListEnvironments, attempt 2 of 4)"). */
export interface ApiWait {
  host: string
  rpc: string
  /** 1-based. */
  attempt: number
  attempts: number
  /** Set while sleeping before the next attempt. */
  retryInMs?: number
}

export interface WaitHandle {
  update(wait: ApiWait): void
  done(): void
}

export interface CallOptions {
  signal?: AbortSignal
  /** Retries of this call (default: the client's). Watch mode passes 0: it has one shared retry of its own. */
  retries?: number
  /** Overrides the client's deadline for this call (the start wait of `ona ssh` has its own, `--start-timeout`). */
  deadline?: Deadline
  /** No onWait reports for this call (a progress display of its own already shows the wait). */
  quiet?: boolean
}

export const SERVICE = 'gitpod.v1'

export type ProxyAgents = {http?: HttpAgent; https?: HttpsAgent; proxy: string}

type Http = typeof import('./http.js')
type Schema = typeof import('./schema.js')

/** What a service family needs from the transport (see identity.ts, environments.ts, events.ts). */
export interface Transport {
  readonly baseUrl: string
  readonly host: string
  readonly options: ApiClientOptions
  readonly timeoutMs: number
  readonly secrets: string[]
  readonly http: Http
  readonly schema: Schema
  /** One unary call (`Service/Method`) with bounded, jittered retries; resolves to the parsed JSON body. */
  call(method: string, body: unknown, query?: Record<string, string>, callOptions?: CallOptions): Promise<unknown>
  agentsFor(url: URL): Promise<ProxyAgents | undefined>
  headers(contentType: string, accept?: string): Record<string, string>
  describeFailure(rpc: string, error: unknown, viaProxy: ProxyAgents | undefined): OnaError
  debug?: (line: string) => void
}

/** Builds the transport; nothing is sent until the first call. */
export async function createTransport(options: ApiClientOptions): Promise<Transport> {
  const baseUrl = normalizeApiUrl(options.baseUrl)
  // Checked before anything is resolved or sent: a token over plain http is readable by anyone on the path.
  const refusal = insecureHttpRefusal(baseUrl, options.env ?? process.env)
  if (refusal) throw refusal
  if (options.token === '' || /[\r\n]/.test(options.token)) {
    throw new OnaError('ERR_TOKEN_EMPTY', 'the token is empty or spans several lines')
  }
  const [http, schema] = await Promise.all([import('./http.js'), import('./schema.js')])
  const env = options.env ?? process.env
  const timeoutMs = options.timeoutMs ?? 30_000
  const retries = Math.max(0, options.retries ?? 3)
  const backoff: BackoffOptions = {baseMs: 500, maxMs: 8000, jitter: 0.5, ...options.backoff}
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000
  const random = options.random ?? Math.random
  const userAgent = options.userAgent ?? defaultUserAgent()
  const secrets = [options.token]
  const host = new URL(baseUrl).host
  const origin = new URL(baseUrl).origin

  const debug = options.debug ? (line: string) => options.debug?.(redactBearer(redact(line, secrets))) : undefined

  const agentsByProxy = new Map<string, ProxyAgents>()
  async function agentsFor(url: URL): Promise<ProxyAgents | undefined> {
    const proxy = proxyForUrl(url, env)
    if (proxy === undefined) return undefined
    let agents = agentsByProxy.get(proxy)
    if (!agents) {
      let proxyUrl: URL
      try {
        proxyUrl = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`)
      } catch {
        throw new OnaError('ERR_PROXY', `the proxy setting is not a URL: ${safeProxy(proxy)}`)
      }
      const {HttpProxyAgent, HttpsProxyAgent} = await import('hpagent')
      // hpagent tunnels with CONNECT for both schemes, so the proxy never sees the request or its token.
      const common = {proxy: proxyUrl, keepAlive: true, timeout: timeoutMs}
      agents = {http: new HttpProxyAgent(common), https: new HttpsProxyAgent(common), proxy: safeProxy(proxy)}
      agentsByProxy.set(proxy, agents)
    }
    return agents
  }

  function headers(contentType: string, accept?: string): Record<string, string> {
    return {
      authorization: `Bearer ${options.token}`,
      'content-type': contentType,
      ...(accept ? {accept} : {}),
      'user-agent': userAgent,
    }
  }

  function describeFailure(rpc: string, error: unknown, viaProxy: ProxyAgents | undefined): OnaError {
    if (isOnaError(error)) {
      // Stream errors carry the server's own message (end-of-stream frames): it may echo the token.
      const message = redact(error.message, secrets)
      return message === error.message ? error : new OnaError(error.code, message, {hint: error.hint, details: error.details})
    }
    const message = String((error as Error)?.message ?? '')
    const proxyStatus = /Bad response: (\d{3})/.exec(message)
    if (viaProxy && proxyStatus) {
      const status = Number(proxyStatus[1])
      return new OnaError(
        'ERR_PROXY',
        `the proxy ${viaProxy.proxy} refused the tunnel to ${host} with HTTP ${status}${status === 407 ? ' (proxy authentication required)' : ''}`,
        {details: {rpc, host, proxy: viaProxy.proxy, proxyStatus: status}},
      )
    }
    const failure = networkError(rpc, host, error, Boolean(viaProxy))
    if (viaProxy && failure.code !== 'ERR_API_TIMEOUT' && failure.code !== 'ERR_API_TLS') {
      return new OnaError('ERR_PROXY', `${redact(failure.message, secrets)} via proxy ${viaProxy.proxy}`, {details: {...failure.details, proxy: viaProxy.proxy}})
    }
    return failure
  }

  /** One unary call with bounded, jittered retries on network errors, 408, 429 and 5xx. */
  async function call(method: string, body: unknown, query?: Record<string, string>, callOptions: CallOptions = {}): Promise<unknown> {
    const rpc = method.split('/')[1] ?? method
    const url = new URL(`${baseUrl}/${SERVICE}.${method}`)
    for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value)
    const agents = await agentsFor(url)
    let lastError: OnaError | undefined
    const via = agents ? ` via ${agents.proxy}` : ''
    const limit = Math.max(0, callOptions.retries ?? retries)
    const deadline = callOptions.deadline ?? options.deadline
    const waitInfo = (attempt: number, retryInMs?: number): ApiWait => ({host, rpc, attempt: attempt + 1, attempts: limit + 1, ...(retryInMs === undefined ? {} : {retryInMs})})
    let wait: WaitHandle | undefined
    try {
      return await attempts()
    } finally {
      wait?.done()
    }

    /** The typed error for a call the deadline cut short; an earlier, different failure is kept in the message. */
    function deadlineError(d: Deadline, attempt: number): OnaError {
      const error = d.error(`${rpc} on ${origin} did not answer`, {rpc, origin, attempt: attempt + 1, attempts: limit + 1, ...(lastError ? {previous: lastError.code} : {})})
      if (!lastError || lastError.code === 'ERR_API_TIMEOUT') return error
      return new OnaError(error.code, `${error.message}; the attempt before failed: ${lastError.message}`, {hint: error.hint, details: error.details})
    }

    async function attempts(): Promise<unknown> {
      for (let attempt = 0; attempt <= limit; attempt++) {
        callOptions.signal?.throwIfAborted()
        let retryDelay: number | undefined
        const started = Date.now()
        const left = deadline ? deadline.remaining() : Number.POSITIVE_INFINITY
        if (deadline && left <= 0) throw deadlineError(deadline, attempt)
        // The attempt ends with the deadline at the latest; its timeout then means the deadline, not the attempt.
        const attemptMs = Math.min(timeoutMs, left)
        if (wait) wait.update(waitInfo(attempt))
        else if (!callOptions.quiet) wait = options.onWait?.(waitInfo(attempt))
        try {
          const response = await http.postText(url, {
            body: JSON.stringify(body),
            headers: headers('application/json', 'application/json'),
            timeoutMs: attemptMs,
            ...(agents ? {agent: agentFor(url, agents)} : {}),
            ...(callOptions.signal ? {signal: callOptions.signal} : {}),
          })
          const status = response.statusCode
          debug?.(`POST ${url.pathname} -> ${status} in ${Date.now() - started} ms${via} (attempt ${attempt + 1})`)
          if (status >= 200 && status < 300) {
            try {
              return JSON.parse(response.text)
            } catch {
              const type = String(response.headers['content-type'] ?? 'none')
              throw new OnaError('ERR_API_BAD_RESPONSE', `${rpc} answered HTTP ${status} with a body that is not JSON (content-type ${redact(type, secrets)})`, {
                details: {rpc, status},
              })
            }
          }
          if (status >= 300 && status < 400) {
            throw new OnaError('ERR_API_BAD_RESPONSE', `${rpc} answered with a redirect (HTTP ${status}); ona does not follow redirects with a token`, {
              details: {rpc, status},
            })
          }
          const parsed = parseConnectErrorBody(response.text)
          lastError = connectError(rpc, parsed.code ?? connectCodeForStatus(status), parsed.message && redact(parsed.message, secrets), status)
          if (!isRetryableStatus(status)) throw lastError
          const retryAfter = parseRetryAfter(response.headers['retry-after'], Date.now())
          if (retryAfter !== undefined) {
            if (retryAfter > maxRetryAfterMs) {
              throw connectError(rpc, parsed.code ?? connectCodeForStatus(status), `asked to retry after ${Math.ceil(retryAfter / 1000)} s`, status)
            }
            retryDelay = retryAfter
          }
        } catch (error) {
          if (callOptions.signal?.aborted) throw callOptions.signal.reason
          if (isOnaError(error)) {
            // Not retried: a reply over the cap is not a passing fault. The message names the call.
            if (error.code === 'ERR_API_RESPONSE_TOO_LARGE') throw new OnaError(error.code, `${rpc} on ${host}: ${error.message}`, {details: {...error.details, rpc}})
            throw error
          }
          const failure = describeFailure(rpc, error, agents)
          debug?.(`POST ${url.pathname} failed after ${Date.now() - started} ms${via} (attempt ${attempt + 1}): ${failure.code}`)
          if (deadline && attemptMs < timeoutMs && failure.code === 'ERR_API_TIMEOUT') throw deadlineError(deadline, attempt)
          lastError = failure
          // A proxy that refuses the tunnel will refuse it again; an untrusted certificate stays untrusted.
          if (lastError.code === 'ERR_PROXY' && lastError.details?.proxyStatus !== undefined) throw lastError
          if (lastError.code === 'ERR_API_TLS') throw lastError
        }
        if (attempt === limit) break
        const delayMs = retryDelay ?? backoffDelay(attempt + 1, backoff, random)
        if (deadline && delayMs >= deadline.remaining()) {
          // Sleeping would end past the deadline: no attempt could follow it. That is the deadline's doing
          // (ERR_DEADLINE_EXCEEDED, as --timeout promises, and what stops a sync before it writes), with what
          // went wrong on the last attempt in the message and as `previous`.
          const final = lastError ?? new OnaError('ERR_INTERNAL', `${rpc} failed without an error`)
          const tried = `${attempt + 1} attempt${attempt === 0 ? '' : 's'}`
          const cut = deadline.error(`${rpc} on ${origin} did not succeed`, {rpc, origin, attempt: attempt + 1, attempts: limit + 1, previous: final.code})
          throw new OnaError(cut.code, `${final.message} (gave up after ${tried}: ${deadline.source} ${formatDuration(deadline.budgetMs)} leaves no time for another)`, {
            hint: cut.hint,
            details: {...final.details, ...cut.details},
          })
        }
        options.onRetry?.({rpc, attempt: attempt + 1, delayMs, reason: lastError?.message ?? 'unknown'})
        wait?.update(waitInfo(attempt + 1, delayMs))
        await sleep(delayMs, callOptions.signal)
      }
      const final = lastError ?? new OnaError('ERR_INTERNAL', `${rpc} failed without an error`)
      throw new OnaError(final.code, `${final.message} (gave up after ${limit + 1} attempt${limit === 0 ? '' : 's'})`, {hint: final.hint, details: final.details})
    }
  }

  return {baseUrl, host, options, timeoutMs, secrets, http, schema, call, agentsFor, headers, describeFailure, ...(debug ? {debug} : {})}
}

/** The proxy agent for the URL's scheme (both tunnel with CONNECT). */
export function agentFor(url: URL, agents: ProxyAgents): HttpAgent | undefined {
  return url.protocol === 'https:' ? agents.https : agents.http
}

/** A proxy URL fit for messages: credentials removed. */
function safeProxy(proxy: string): string {
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`)
    url.username = ''
    url.password = ''
    return url.origin
  } catch {
    return '(unreadable proxy setting)'
  }
}
