/**
 * The overall deadline of a one-shot command (`--timeout`, `ONA_TIMEOUT`, default 60 s): one clock that
 * every wait of the command reads (API attempts and their backoff, the keychain helper, the quick
 * preflight), so that a stalled management plane ends the command on time with a typed error instead of
 * four 30 s attempts in silence. Watch mode and the service never get one.
 *
 * Pure arithmetic on a clock: no timer, nothing to unref, nothing loaded (the fast path builds one on every
 * `ona ssh-sync`). A wait that is bounded by something else (the user typing at a prompt, an environment
 * starting under `--start-timeout`) runs `paused()`: the clock stops meanwhile.
 */
import {looksSecret, printable} from './cli/usage.js'
import {OnaError} from './errors.js'

/** The default budget of a one-shot command. */
export const DEFAULT_TIMEOUT_MS = 60_000
/** The variable read when the flag is not given. */
export const TIMEOUT_ENV = 'ONA_TIMEOUT'

export interface Deadline {
  /** The budget as given, in ms (for messages: "within 60s"). */
  readonly budgetMs: number
  /** The flag that sets it, named in hints (`--timeout`, `--start-timeout`). */
  readonly flag: string
  /** Where the budget came from, named in messages: the flag, `ONA_TIMEOUT`, or `default --timeout`. */
  readonly source: string
  /** Milliseconds left (never negative); the budget while paused. */
  remaining(): number
  expired(): boolean
  /** Runs `fn` with the clock stopped: its time does not count against the budget. */
  paused<T>(fn: () => Promise<T>): Promise<T>
  /**
   * The typed error for a wait that hit the deadline: `what` says what was waited for, e.g.
   * "ListEnvironments on https://app.ona.com did not answer".
   */
  error(what: string, details?: Record<string, unknown>): OnaError
}

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/**
 * Reads a duration: `30s`, `2m`, `1m30s`, `1500ms`, `1.5h`, or a plain number of seconds (`90`).
 * `0`, `none`, `off` and `never` mean no deadline (undefined). Anything else, negative numbers included,
 * is a usage error naming `source` (the flag or variable).
 */
export function parseDuration(text: string, source = '--timeout'): number | undefined {
  const value = text.trim().toLowerCase()
  if (value === 'none' || value === 'off' || value === 'never') return undefined
  let ms: number | undefined
  if (/^\d+(\.\d+)?$/.test(value)) ms = Number(value) * 1000
  else if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(value)) {
    ms = 0
    for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(amount) * UNITS[unit!]!
  }
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new OnaError('ERR_USAGE', `${source} must be a duration such as 30s, 2m or 90 (seconds), got "${text.slice(0, 40)}"`, {
      hint: 'Give a duration like 30s, 2m, 1m30s or a number of seconds; 0 or none means no deadline.',
    })
  }
  // Node timers hold at most 2^31-1 ms (about 24.8 days); a longer one fires at once. Longer is "never" in
  // practice for a one-shot command, so it is capped rather than refused.
  return ms === 0 ? undefined : Math.min(MAX_TIMER_MS, Math.max(1, Math.round(ms)))
}

/** A time flag's value in milliseconds, and a note to print when it was given in an old form. */
export interface TimeFlagValue {
  ms: number
  note?: string
}

/**
 * Reads a time flag in the one syntax every flag shares: a number with `ms`, `s` or `m` (`500ms`, `3s`,
 * `2m`, `1m30s`), or a plain number of seconds. `legacyMs` is for the flags that took plain milliseconds
 * before (`ona preflight --timeout`, `ona ssh --preflight-timeout`): there a plain number of 100 or more can
 * only be the old form (100 s and more per check is no timeout anyone meant), so it is still read as
 * milliseconds, with a deprecation note; below 100 it is seconds. Out of `[minMs, maxMs]`, or not a
 * duration: a usage error naming the flag.
 */
export function parseTimeFlag(text: string, flag: string, options: {minMs?: number; maxMs?: number; legacyMs?: boolean} = {}): TimeFlagValue {
  const minMs = options.minMs ?? 1
  const maxMs = options.maxMs ?? MAX_TIMER_MS
  const value = text.trim().toLowerCase()
  const range = maxMs === MAX_TIMER_MS ? `of at least ${formatDuration(minMs)}` : `between ${formatDuration(minMs)} and ${formatDuration(maxMs)}`
  // The value is named only when it cannot be a token typed in the wrong place.
  const shown = text.length <= 16 && !looksSecret(text) ? ` ${printable(text)}` : ''
  const refused = new OnaError('ERR_USAGE', `${flag}${shown}: give a duration ${range}, such as 3s, 500ms or 2m (a plain number is seconds)`, {
    hint: `Write the unit: \`${flag} 30s\`, \`${flag} 500ms\`, \`${flag} 2m\`.`,
  })
  let ms: number | undefined
  let note: string | undefined
  if (/^\d+(\.\d+)?$/.test(value)) {
    const number = Number(value)
    if (options.legacyMs && number >= 100) {
      ms = number
      const rounded = Math.round(number)
      note = `${flag} ${value}: a plain number means seconds now, as on every time flag; read as ${rounded}ms as before (write ${rounded}ms or ${formatDuration(rounded)})`
    } else {
      ms = number * 1000
    }
  } else if (/^(\d+(\.\d+)?(ms|s|m))+$/.test(value)) {
    ms = 0
    for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m)/g)) ms += Number(amount) * UNITS[unit!]!
  }
  if (ms === undefined || !Number.isFinite(ms)) throw refused
  const rounded = Math.round(ms)
  if (rounded < minMs || rounded > maxMs) throw refused
  return {ms: rounded, ...(note ? {note} : {})}
}

/** The longest delay a Node timer keeps (setTimeout fires after 1 ms beyond it). */
export const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * The budget of a one-shot command: the flag when given, else `ONA_TIMEOUT`, else 60 s, and where it came
 * from. An undefined budget means no deadline (`0` or `none`).
 */
export function resolveTimeout(flag: string | undefined, env: NodeJS.ProcessEnv, options: {hasFlag?: boolean} = {}): {budgetMs: number | undefined; source: string} {
  if (flag !== undefined) return {budgetMs: parseDuration(flag, '--timeout'), source: '--timeout'}
  const fromEnv = env[TIMEOUT_ENV]
  if (fromEnv !== undefined && fromEnv.trim() !== '') return {budgetMs: parseDuration(fromEnv, TIMEOUT_ENV), source: TIMEOUT_ENV}
  // A command without the flag (the ProxyCommand) names the variable that would change it.
  return {budgetMs: DEFAULT_TIMEOUT_MS, source: options.hasFlag === false ? `default ${TIMEOUT_ENV}` : 'default --timeout'}
}

/** `60s`, `1m30s`, `1.5s`: how a budget is named in messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`
  if (ms < 60_000 || ms % 1000 !== 0) return `${Math.round(ms / 100) / 10}s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.round((ms % 60_000) / 1000)
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`
}

/** A deadline `budgetMs` from now on `now` (Date.now by default). */
export function createDeadline(budgetMs: number, options: {flag?: string; source?: string; now?: () => number} = {}): Deadline {
  const now = options.now ?? Date.now
  const flag = options.flag ?? '--timeout'
  const source = options.source ?? flag
  let at = now() + budgetMs
  let pauses = 0
  let pausedAt = 0
  const remaining = () => Math.max(0, at - (pauses > 0 ? pausedAt : now()))
  return {
    budgetMs,
    flag,
    source,
    remaining,
    expired: () => remaining() <= 0,
    async paused<T>(fn: () => Promise<T>): Promise<T> {
      if (pauses++ === 0) pausedAt = now()
      try {
        return await fn()
      } finally {
        // The clock goes on from where it stopped: the paused time is added to the end.
        if (--pauses === 0) at += now() - pausedAt
      }
    },
    error(what, details = {}) {
      const hint =
        flag === '--timeout'
          ? 'Raise --timeout (or ONA_TIMEOUT; 0 means no deadline), check the network and proxy with `ona preflight`, or try again later.'
          : `Raise ${flag}, check the network and proxy with \`ona preflight\`, or try again later.`
      return new OnaError('ERR_DEADLINE_EXCEEDED', `${what} within ${formatDuration(budgetMs)} (${source})`, {
        hint,
        details: {...details, timeoutMs: budgetMs},
      })
    },
  }
}
