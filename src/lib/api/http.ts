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

import {OnaError} from '../errors.js'

/**
 * The most a unary reply may hold: 8 MiB. The largest reply the CLI asks for is one ListEnvironments
 * page of at most 100 environments; even at a generous 20 KB each that is 2 MB, so 8 MiB leaves 4x room
 * while keeping the worst case (the text, then its parsed JSON) to some tens of MB, where an 800 MB
 * reply once took 2.6 GB. Larger is not a reply of this API: the read stops and the socket is closed.
 */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024

/** Of an error reply (non-2xx) only this much is read: the Connect error object is small. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024

function mib(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`
}

/** The typed error for a reply over `limit` bytes (`what` names the reply: `the reply`, `a stream line`). */
export function responseTooLarge(limit: number, what = 'the reply', details: Record<string, unknown> = {}): OnaError {
  return new OnaError('ERR_API_RESPONSE_TOO_LARGE', `${what} is larger than ${mib(limit)}; ona stopped reading it`, {details: {limitBytes: limit, ...details}})
}

export interface PostOptions {
  body: string | Uint8Array
  headers: Record<string, string>
  agent?: Agent
  signal?: AbortSignal
  /** Until the response headers have arrived; the caller owns any deadline after that. */
  timeoutMs: number
  /** postText: the most a 2xx body may hold (default MAX_RESPONSE_BYTES). */
  maxBodyBytes?: number
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

/**
 * Reads a whole body as UTF-8 text, at most `limit` bytes. Past the limit (or when Content-Length
 * announces more) the body is destroyed, which closes the socket, and nothing more is read:
 * `overflow: 'throw'` (the default) then fails with ERR_API_RESPONSE_TOO_LARGE, `'truncate'` returns
 * the first `limit` bytes (for error replies, where the start is what matters).
 */
export async function readText(body: IncomingMessage, limit = MAX_RESPONSE_BYTES, overflow: 'throw' | 'truncate' = 'throw'): Promise<string> {
  const announced = Number(body.headers?.['content-length'])
  if (overflow === 'throw' && Number.isFinite(announced) && announced > limit) {
    body.destroy()
    throw responseTooLarge(limit, 'the reply', {announcedBytes: announced})
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size + chunk.byteLength > limit) {
      // Leaving the loop destroys the body (and with it the socket): the rest is never read.
      if (overflow === 'throw') {
        body.destroy()
        throw responseTooLarge(limit)
      }
      chunks.push(chunk.subarray(0, limit - size))
      size = limit
      break
    }
    chunks.push(chunk)
    size += chunk.byteLength
  }
  body.destroy()
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
    const ok = response.statusCode >= 200 && response.statusCode < 300
    const text = ok ? await readText(response.body, options.maxBodyBytes ?? MAX_RESPONSE_BYTES) : await readText(response.body, MAX_ERROR_BODY_BYTES, 'truncate')
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
