/**
 * The one HTTP POST the API client needs, on Node's own http/https modules (got took longer to load than
 * a bare node start, which the start-up budget cannot afford; see the CHANGELOG and issue 11). It keeps
 * what the transport relied on from got: proxy agents (hpagent) plug in as `agent`, no redirects are
 * followed, network errors arrive as Node's own (code ECONNREFUSED, a certificate code, ...), and a
 * deadline fails with `name: 'TimeoutError', code: 'ETIMEDOUT'`, which errors.ts maps as before.
 *
 * node:https (and with it tls) is loaded only for an https URL. Both come from process.getBuiltinModule,
 * not import(): an ES import of node:http reads every export to build its namespace, and one of them (the
 * WebSocket getter) loads all of undici, about 20 ms.
 */
import type {Agent, IncomingHttpHeaders, IncomingMessage} from 'node:http'

export interface PostOptions {
  body: string | Uint8Array
  headers: Record<string, string>
  agent?: Agent
  signal?: AbortSignal
  /** Until the response headers have arrived; the caller owns any deadline after that. */
  timeoutMs: number
}

export interface HttpResponse {
  statusCode: number
  headers: IncomingHttpHeaders
  /** The body as it arrives; destroying it ends the request. */
  body: IncomingMessage
}

/** Sends one POST and resolves once the response headers are in. */
export async function post(url: URL, options: PostOptions): Promise<HttpResponse> {
  const transport = url.protocol === 'https:' ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http')
  options.signal?.throwIfAborted()
  const payload = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body
  return new Promise((resolve, reject) => {
    const request = transport.request(url, {
      method: 'POST',
      headers: {...options.headers, 'content-length': String(payload.byteLength)},
      ...(options.agent ? {agent: options.agent} : {}),
    })
    const timer = setTimeout(() => {
      request.destroy(Object.assign(new Error(`Timeout awaiting response for ${options.timeoutMs}ms`), {name: 'TimeoutError', code: 'ETIMEDOUT'}))
    }, options.timeoutMs)
    const onAbort = () => request.destroy(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'))
    options.signal?.addEventListener('abort', onAbort, {once: true})
    // Whatever happens later to the response (an abort, a reset), the request's listeners are let go.
    request.once('close', () => {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
    })
    request.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    request.once('response', (response) => {
      clearTimeout(timer)
      resolve({statusCode: response.statusCode ?? 0, headers: response.headers, body: response})
    })
    request.end(payload)
  })
}

/** Reads a whole (small) body as UTF-8 text; at most `limit` bytes are kept. */
export async function readText(body: IncomingMessage, limit = Number.POSITIVE_INFINITY): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size >= limit) continue
    chunks.push(chunk)
    size += chunk.byteLength
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** A timeout as errors.ts recognises it (got's shape: TimeoutError / ETIMEDOUT). */
export function timeoutError(ms: number): Error {
  return Object.assign(new Error(`Timeout awaiting request for ${ms}ms`), {name: 'TimeoutError', code: 'ETIMEDOUT'})
}

/**
 * One POST read to the end as text, the whole exchange bounded by `timeoutMs` (got's `timeout.request`).
 * An abort of `signal` rejects with the signal's reason; the deadline rejects with timeoutError().
 */
export async function postText(url: URL, options: PostOptions): Promise<{statusCode: number; headers: IncomingHttpHeaders; text: string}> {
  const local = new AbortController()
  const deadline = timeoutError(options.timeoutMs)
  const timer = setTimeout(() => local.abort(deadline), options.timeoutMs)
  const onOuterAbort = () => local.abort(options.signal?.reason)
  options.signal?.addEventListener('abort', onOuterAbort, {once: true})
  try {
    options.signal?.throwIfAborted()
    const response = await post(url, {...options, signal: local.signal})
    const text = await readText(response.body)
    return {statusCode: response.statusCode, headers: response.headers, text}
  } catch (error) {
    // The request was torn down by one of the two signals: say which, not how the socket died.
    if (options.signal?.aborted) throw options.signal.reason
    if (local.signal.aborted) throw deadline
    throw error
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onOuterAbort)
  }
}
