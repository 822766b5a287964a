/**
 * The management-plane client: Connect RPC over JSON (`POST {base}/gitpod.v1.<Service>/<Method>`),
 * built on got with the project's own retry loop, proxy choice and response validation.
 *
 * got, hpagent and zod are loaded on first use so that importing this module costs nothing at start-up.
 * No got error, request option or header is ever passed on: errors are rebuilt from the status, the
 * Connect code and the errno, so the bearer token cannot reach a message, a `cause` or a crash report.
 */
import type {Agent as HttpAgent} from 'node:http'
import type {Agent as HttpsAgent} from 'node:https'

import {OnaError, isOnaError} from '../errors.js'
import {proxyForUrl} from '../net/no-proxy.js'
import {redact, redactBearer} from '../redact.js'
import {defaultUserAgent} from '../version.js'
import {normalizeApiUrl} from './base-url.js'
import {backoffDelay, parseRetryAfter, sleep, type BackoffOptions} from './backoff.js'
import {connectCodeForStatus, connectError, isRetryableStatus, networkError, parseConnectErrorBody} from './errors.js'
import {decodeConnectEnvelopes, decodeJsonLines, encodeConnectEnvelope} from './stream.js'
import type {Environment, EnvironmentProblem, Identity, ListEnvironmentsResult, WatchEvent} from './types.js'

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
}

export interface CallOptions {
  signal?: AbortSignal
}

export interface WatchEventsOptions {
  signal: AbortSignal
  /** Watch the whole organisation (default when no environmentId is given). */
  organization?: boolean
  environmentId?: string
  /** A stream silent for this long is treated as stalled and ends with ERR_API_TIMEOUT. Default 5 min. */
  idleTimeoutMs?: number
}

export interface ApiClient {
  readonly baseUrl: string
  getAuthenticatedIdentity(options?: CallOptions): Promise<Identity>
  /**
   * All pages of the caller's own environments (`creatorId` defaults to the authenticated subject).
   * An environment whose SSH url does not parse is returned without `ssh` and named in `problems`; one
   * that cannot be read at all is left out and named in `problems`.
   */
  listEnvironments(options?: CallOptions & {creatorId?: string; pageSize?: number}): Promise<ListEnvironmentsResult>
  getEnvironment(environmentId: string, options?: CallOptions): Promise<{environment: Environment; problems: EnvironmentProblem[]}>
  /** One WatchEvents connection; ends (or throws) when it does. See watchEventsWithReconnect for the loop. */
  watchEvents(options: WatchEventsOptions): AsyncIterable<WatchEvent>
  /** As watchEvents, but first yields `'open'` once the server accepted the stream (resync point). */
  watchStream(options: WatchEventsOptions): AsyncIterable<WatchEvent | 'open'>
}

const SERVICE = 'gitpod.v1'
/** Pages are fetched until nextToken is empty; this bounds a server that keeps handing out tokens. */
const MAX_PAGES = 1000

type ProxyAgents = {http?: HttpAgent; https?: HttpsAgent; proxy: string}

/** Creates a client; nothing is sent until the first call. */
export async function createApiClient(options: ApiClientOptions): Promise<ApiClient> {
  const baseUrl = normalizeApiUrl(options.baseUrl)
  if (options.token === '' || /[\r\n]/.test(options.token)) {
    throw new OnaError('ERR_TOKEN_EMPTY', 'the token is empty or spans several lines')
  }
  const [{default: got}, schema] = await Promise.all([import('got'), import('./schema.js')])
  const env = options.env ?? process.env
  const timeoutMs = options.timeoutMs ?? 30_000
  const retries = Math.max(0, options.retries ?? 3)
  const backoff: BackoffOptions = {baseMs: 500, maxMs: 8000, jitter: 0.5, ...options.backoff}
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000
  const random = options.random ?? Math.random
  const userAgent = options.userAgent ?? defaultUserAgent()
  const secrets = [options.token]
  const host = new URL(baseUrl).host

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
  async function call(method: string, body: unknown, query: Record<string, string> | undefined, callOptions: CallOptions = {}): Promise<unknown> {
    const rpc = method.split('/')[1] ?? method
    const url = new URL(`${baseUrl}/${SERVICE}.${method}`)
    for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value)
    const agents = await agentsFor(url)
    let lastError: OnaError | undefined
    const via = agents ? ` via ${agents.proxy}` : ''
    for (let attempt = 0; attempt <= retries; attempt++) {
      callOptions.signal?.throwIfAborted()
      let retryDelay: number | undefined
      const started = Date.now()
      try {
        const response = await got.post(url, {
          body: JSON.stringify(body),
          headers: headers('application/json', 'application/json'),
          responseType: 'text',
          throwHttpErrors: false,
          followRedirect: false,
          retry: {limit: 0},
          timeout: {request: timeoutMs},
          ...(agents ? {agent: {http: agents.http, https: agents.https}} : {}),
          ...(callOptions.signal ? {signal: callOptions.signal} : {}),
        })
        const status = response.statusCode
        debug?.(`POST ${url.pathname} -> ${status} in ${Date.now() - started} ms${via} (attempt ${attempt + 1})`)
        if (status >= 200 && status < 300) {
          try {
            return JSON.parse(response.body)
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
        const parsed = parseConnectErrorBody(response.body)
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
        if (isOnaError(error)) throw error
        lastError = describeFailure(rpc, error, agents)
        debug?.(`POST ${url.pathname} failed after ${Date.now() - started} ms${via} (attempt ${attempt + 1}): ${lastError.code}`)
        // A proxy that refuses the tunnel will refuse it again; an untrusted certificate stays untrusted.
        if (lastError.code === 'ERR_PROXY' && lastError.details?.proxyStatus !== undefined) throw lastError
        if (lastError.code === 'ERR_API_TLS') throw lastError
      }
      if (attempt === retries) break
      const delayMs = retryDelay ?? backoffDelay(attempt + 1, backoff, random)
      options.onRetry?.({rpc, attempt: attempt + 1, delayMs, reason: lastError?.message ?? 'unknown'})
      await sleep(delayMs, callOptions.signal)
    }
    const final = lastError ?? new OnaError('ERR_INTERNAL', `${rpc} failed without an error`)
    throw new OnaError(final.code, `${final.message} (gave up after ${retries + 1} attempts)`, {hint: final.hint, details: final.details})
  }

  async function getAuthenticatedIdentity(callOptions: CallOptions = {}): Promise<Identity> {
    const rpc = 'IdentityService/GetAuthenticatedIdentity'
    return schema.parseIdentity('GetAuthenticatedIdentity', await call(rpc, {}, undefined, callOptions))
  }

  async function listEnvironments(callOptions: CallOptions & {creatorId?: string; pageSize?: number} = {}): Promise<ListEnvironmentsResult> {
    const creatorId = callOptions.creatorId ?? (await getAuthenticatedIdentity(callOptions)).subjectId
    const pageSize = callOptions.pageSize ?? 100
    const environments: Environment[] = []
    const problems: EnvironmentProblem[] = []
    const seenTokens = new Set<string>()
    let token = ''
    let index = 0
    for (let page = 0; page < MAX_PAGES; page++) {
      // The body carries the pagination as the Connect API defines it; the query repeats it as the Stainless SDKs send it.
      const body = {pagination: {pageSize, token}, filter: {creatorIds: [creatorId]}}
      const raw = await call('EnvironmentService/ListEnvironments', body, {pageSize: String(pageSize), token}, callOptions)
      const {nextToken, rawEnvironments} = schema.parseListPage('ListEnvironments', raw)
      for (const item of rawEnvironments) {
        const parsed = schema.parseEnvironment(item, `environments[${index++}]`)
        problems.push(...parsed.problems)
        // The server filters by creator already; checking again keeps a misbehaving filter from adding others' hosts.
        if (parsed.environment && (parsed.environment.creatorId === undefined || parsed.environment.creatorId === creatorId)) {
          environments.push(parsed.environment)
        }
      }
      if (nextToken === '') return {environments, problems}
      if (seenTokens.has(nextToken)) {
        throw new OnaError('ERR_API_BAD_RESPONSE', 'ListEnvironments returned the same page token twice (pagination loop)', {details: {rpc: 'ListEnvironments'}})
      }
      seenTokens.add(nextToken)
      token = nextToken
    }
    throw new OnaError('ERR_API_BAD_RESPONSE', `ListEnvironments did not finish within ${MAX_PAGES} pages`, {details: {rpc: 'ListEnvironments'}})
  }

  async function getEnvironment(environmentId: string, callOptions: CallOptions = {}) {
    const raw = await call('EnvironmentService/GetEnvironment', {environmentId}, undefined, callOptions)
    const {problems, ...environment} = schema.parseGetEnvironment('GetEnvironment', raw)
    return {environment, problems}
  }

  async function* watchEvents(watchOptions: WatchEventsOptions): AsyncGenerator<WatchEvent> {
    for await (const item of watchStream(watchOptions)) if (item !== 'open') yield item
  }

  async function* watchStream(watchOptions: WatchEventsOptions): AsyncGenerator<WatchEvent | 'open'> {
    const rpc = 'WatchEvents'
    const url = new URL(`${baseUrl}/${SERVICE}.EventService/WatchEvents`)
    const agents = await agentsFor(url)
    const request = watchOptions.environmentId ? {environmentId: watchOptions.environmentId} : {organization: watchOptions.organization ?? true}
    const connect = options.streamFormat === 'connect'
    const idleTimeoutMs = watchOptions.idleTimeoutMs ?? 300_000
    const local = new AbortController()
    const onOuterAbort = () => local.abort(watchOptions.signal.reason)
    watchOptions.signal.addEventListener('abort', onOuterAbort, {once: true})
    if (watchOptions.signal.aborted) local.abort(watchOptions.signal.reason)
    let stalled = false
    let idleTimer: NodeJS.Timeout | undefined
    const armIdle = () => {
      clearTimeout(idleTimer)
      idleTimer = setTimeout(() => {
        stalled = true
        local.abort(new Error('stalled'))
      }, idleTimeoutMs)
    }
    try {
      const stream = got.stream.post(url, {
        body: connect ? encodeConnectEnvelope(request) : JSON.stringify(request),
        headers: connect ? {...headers('application/connect+json'), 'connect-protocol-version': '1'} : headers('application/jsonl', 'application/jsonl'),
        throwHttpErrors: false,
        followRedirect: false,
        retry: {limit: 0},
        timeout: {response: timeoutMs},
        signal: local.signal,
        ...(agents ? {agent: {http: agents.http, https: agents.https}} : {}),
      })
      // got.stream reports HTTP failures through 'response'; read the status before trusting the body.
      const response = await new Promise<{statusCode: number; headers: Record<string, string | string[] | undefined>}>((resolve, reject) => {
        stream.once('response', resolve)
        stream.once('error', reject)
      })
      armIdle()
      const status = response.statusCode
      if (status < 200 || status >= 300) {
        let text = ''
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (text.length < 65_536) text += chunk.toString('utf8')
        }
        const parsed = parseConnectErrorBody(text)
        const failure = connectError(rpc, parsed.code ?? connectCodeForStatus(status), parsed.message && redact(parsed.message, secrets), status)
        const retryAfterMs = parseRetryAfter(response.headers['retry-after'], Date.now())
        if (retryAfterMs !== undefined && failure.details) failure.details.retryAfterMs = retryAfterMs
        throw failure
      }
      debug?.(`POST ${url.pathname} -> stream open (${connect ? 'connect' : 'jsonl'})${agents ? ` via ${agents.proxy}` : ''}`)
      yield 'open'
      const type = String(response.headers['content-type'] ?? '')
      const chunks = (async function* () {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          armIdle()
          yield chunk
        }
      })()
      const values = type.startsWith('application/connect+json') ? decodeConnectEnvelopes(chunks, rpc) : decodeJsonLines(chunks, rpc)
      for await (const value of values) {
        // An empty object is a keep-alive some servers send; an event without an id tells nothing.
        const event = schema.parseEvent(value)
        if (event) yield event
      }
    } catch (error) {
      if (stalled) {
        throw new OnaError('ERR_API_TIMEOUT', `the ${rpc} stream from ${host} was silent for ${Math.round(idleTimeoutMs / 1000)} s (stalled)`, {
          details: {rpc, host},
        })
      }
      if (watchOptions.signal.aborted) throw watchOptions.signal.reason
      throw describeFailure(rpc, error, agents)
    } finally {
      clearTimeout(idleTimer)
      watchOptions.signal.removeEventListener('abort', onOuterAbort)
      local.abort()
    }
  }

  return {baseUrl, getAuthenticatedIdentity, listEnvironments, getEnvironment, watchEvents, watchStream}
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
