/**
 * The WatchEvents loop the vendor SDK runs: keep one stream open, reconnect with backoff (1 s doubling
 * to 32 s, jittered) when it drops or stalls, and tell the caller each time a stream opens so it can
 * re-fetch: events that happened while disconnected are not replayed.
 */
import {OnaError, isOnaError} from '../errors.js'
import {backoffDelay, sleep, type BackoffOptions} from './backoff.js'
import type {ApiClient, WatchEventsOptions} from './client.js'
import type {WatchEvent} from './types.js'

export type WatchUpdate =
  /** A stream is open: re-list now (first connection and every reconnection). */
  | {type: 'open'; reconnect: boolean}
  | {type: 'event'; event: WatchEvent}

export interface WatchWithReconnectOptions extends WatchEventsOptions {
  backoff?: Partial<BackoffOptions>
  /** Give up (throw the last error) after this many failed connections in a row. Default: never. */
  maxConsecutiveFailures?: number
  /**
   * A stream that stayed open this long was healthy: its drop starts the backoff again from the bottom
   * (an 'open' alone proves little: a Connect stream answers 200 and may fail in its first frame).
   * Default: the backoff cap.
   */
  healthyAfterMs?: number
  /** Told about each disconnection and the wait before the next attempt (for status lines). */
  onDisconnect?: (info: {error: OnaError; delayMs: number; failures: number}) => void
  random?: () => number
}

/** Errors a reconnect cannot fix: the user has to act. */
function isFatal(error: OnaError): boolean {
  if (error.code === 'ERR_PROXY') return error.details?.proxyStatus !== undefined // e.g. 407: credentials needed
  return ['ERR_AUTH_EXPIRED', 'ERR_PERMISSION_DENIED', 'ERR_NOT_LOGGED_IN', 'ERR_API_URL', 'ERR_API_TLS', 'ERR_API_REQUEST'].includes(error.code)
}

/**
 * Yields `open` for every (re)connection and each event in between, until `signal` aborts (then it
 * returns quietly). Auth errors end the loop by throwing; everything else is retried with backoff.
 */
export async function* watchEventsWithReconnect(client: ApiClient, options: WatchWithReconnectOptions): AsyncGenerator<WatchUpdate> {
  const backoff: BackoffOptions = {baseMs: 1000, maxMs: 32_000, jitter: 0.5, ...options.backoff}
  let failures = 0
  let connections = 0
  while (!options.signal.aborted) {
    let error: OnaError
    // A Connect stream answers 200 and reports its error in the last frame, so 'open' alone does not prove
    // health: the failure count is reset only by an event, or by a stream that stayed up a full backoff cap.
    let openedAt: number | undefined
    let sawEvent = false
    try {
      for await (const item of client.watchStream(options)) {
        if (item === 'open') {
          openedAt = Date.now()
          yield {type: 'open', reconnect: connections++ > 0}
        } else {
          sawEvent = true
          failures = 0
          yield {type: 'event', event: item}
        }
      }
      error = new OnaError('ERR_API_UNAVAILABLE', 'the WatchEvents stream was closed by the server')
    } catch (caught) {
      if (options.signal.aborted) return
      error = isOnaError(caught) ? caught : new OnaError('ERR_API_UNAVAILABLE', `the WatchEvents stream failed: ${String((caught as Error)?.message ?? caught)}`)
    }
    if (isFatal(error)) throw error
    if (!sawEvent && openedAt !== undefined && Date.now() - openedAt >= (options.healthyAfterMs ?? backoff.maxMs)) failures = 0
    failures++
    if (options.maxConsecutiveFailures !== undefined && failures > options.maxConsecutiveFailures) throw error
    // A server that said when to come back (429/503 with Retry-After) is believed, up to the backoff cap.
    const retryAfter = typeof error.details?.retryAfterMs === 'number' ? Math.min(error.details.retryAfterMs, backoff.maxMs) : 0
    const delayMs = Math.max(backoffDelay(failures, backoff, options.random), retryAfter)
    options.onDisconnect?.({error, delayMs, failures})
    try {
      await sleep(delayMs, options.signal)
    } catch {
      return
    }
  }
}
