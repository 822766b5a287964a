/** EventService: the WatchEvents stream (JSON lines or Connect streaming, decided by the reply's type). */
import {OnaError} from '../errors.js'
import {redact} from '../redact.js'
import {parseRetryAfter} from './backoff.js'
import {connectCodeForStatus, connectError, parseConnectErrorBody} from './errors.js'
import {MAX_ERROR_BODY_BYTES, readText} from './http.js'
import {decodeConnectEnvelopes, decodeJsonLines, encodeConnectEnvelope} from './stream.js'
import {SERVICE, agentFor, type Transport} from './transport.js'
import type {WatchEvent} from './types.js'

export interface WatchEventsOptions {
  signal: AbortSignal
  /** Watch the whole organisation (default when no environmentId is given). */
  organization?: boolean
  environmentId?: string
  /** A stream silent for this long is treated as stalled and ends with ERR_API_TIMEOUT. Default 5 min. */
  idleTimeoutMs?: number
}

export interface EventCalls {
  /** One WatchEvents connection; ends (or throws) when it does. See watchEventsWithReconnect for the loop. */
  watchEvents(options: WatchEventsOptions): AsyncIterable<WatchEvent>
  /** As watchEvents, but first yields `'open'` once the server accepted the stream (resync point). */
  watchStream(options: WatchEventsOptions): AsyncIterable<WatchEvent | 'open'>
}

export function eventCalls(t: Transport): EventCalls {
  return {
    async *watchEvents(watchOptions) {
      for await (const item of watchStream(t, watchOptions)) if (item !== 'open') yield item
    },
    watchStream: (watchOptions) => watchStream(t, watchOptions),
  }
}

async function* watchStream(t: Transport, watchOptions: WatchEventsOptions): AsyncGenerator<WatchEvent | 'open'> {
  const rpc = 'WatchEvents'
  const url = new URL(`${t.baseUrl}/${SERVICE}.EventService/WatchEvents`)
  const agents = await t.agentsFor(url)
  const request = watchOptions.environmentId ? {environmentId: watchOptions.environmentId} : {organization: watchOptions.organization ?? true}
  const connect = t.options.streamFormat === 'connect'
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
    // Only the response headers are bounded by the request timeout; the idle timer watches the body.
    const response = await t.http.post(url, {
      body: connect ? encodeConnectEnvelope(request) : JSON.stringify(request),
      headers: connect ? {...t.headers('application/connect+json'), 'connect-protocol-version': '1'} : t.headers('application/jsonl', 'application/jsonl'),
      timeoutMs: t.timeoutMs,
      signal: local.signal,
      ...(agents ? {agent: agentFor(url, agents)} : {}),
    })
    const stream = response.body
    armIdle()
    const status = response.statusCode
    if (status < 200 || status >= 300) {
      // The start of an error reply is the Connect error object; the rest is not read (the socket closes).
      const text = await readText(stream, MAX_ERROR_BODY_BYTES, 'truncate')
      const parsed = parseConnectErrorBody(text)
      const failure = connectError(rpc, parsed.code ?? connectCodeForStatus(status), parsed.message && redact(parsed.message, t.secrets), status)
      const retryAfterMs = parseRetryAfter(response.headers['retry-after'], Date.now())
      if (retryAfterMs !== undefined && failure.details) failure.details.retryAfterMs = retryAfterMs
      throw failure
    }
    t.debug?.(`POST ${url.pathname} -> stream open (${connect ? 'connect' : 'jsonl'})${agents ? ` via ${agents.proxy}` : ''}`)
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
      const event = t.schema.parseEvent(value)
      if (event) yield event
    }
  } catch (error) {
    if (stalled) {
      throw new OnaError('ERR_API_TIMEOUT', `the ${rpc} stream from ${t.host} was silent for ${Math.round(idleTimeoutMs / 1000)} s (stalled)`, {
        details: {rpc, host: t.host},
      })
    }
    if (watchOptions.signal.aborted) throw watchOptions.signal.reason
    throw t.describeFailure(rpc, error, agents)
  } finally {
    clearTimeout(idleTimer)
    watchOptions.signal.removeEventListener('abort', onOuterAbort)
    local.abort()
  }
}
