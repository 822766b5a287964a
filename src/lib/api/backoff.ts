/** Pure timing rules for retries, shared by unary calls and the WatchEvents reconnect loop. */

export interface BackoffOptions {
  baseMs: number
  maxMs: number
  /** 0..1, the fraction of the delay that is random ("equal jitter" when 0.5). */
  jitter: number
}

/** Delay before attempt `attempt` (1 = first retry): exponential, capped, with jitter so clients spread out. */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1))
  const fixed = exp * (1 - options.jitter)
  return Math.round(fixed + exp * options.jitter * random())
}

/**
 * Reads a `Retry-After` header (delta seconds or an HTTP date) as milliseconds from `now`; undefined
 * when absent or unreadable. Negative results (dates in the past) become 0.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value
  if (text === undefined || text.trim() === '') return undefined
  const trimmed = text.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  // An HTTP date always names a weekday or month; Date.parse alone would read "-5" as a year.
  if (!/[A-Za-z]{3}/.test(trimmed)) return undefined
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}

/**
 * Sleeps `ms`, or rejects with the signal's reason as soon as it aborts. A delay beyond what a Node timer
 * holds (about 24.8 days), negative or NaN is capped instead of firing at once (with a TimeoutOverflowWarning,
 * which a loop around it would turn into a spin).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  ms = timerDelay(ms)
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}

/** The longest delay a Node timer keeps; setTimeout fires after 1 ms (and warns) beyond it. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** A computed delay made safe for setTimeout: 0 for negative or NaN, at most MAX_TIMER_MS. */
export function timerDelay(ms: number): number {
  return ms > 0 ? Math.min(ms, MAX_TIMER_MS) : 0
}
