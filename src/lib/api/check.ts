/**
 * A small validator for JSON response bodies, in place of zod on the hot path (zod cost about as much as
 * a bare node start to load, for five response shapes). It reproduces zod 4's behaviour for every value
 * JSON.parse can produce: the same accepted values, unknown keys stripped, and the same issues (path and
 * message) in the same order, so error messages did not change with the swap. test/unit/api-check.test.ts
 * checks that against zod itself on generated input.
 *
 * Semantics copied from zod 4 (v4/core/schemas.js, checks.js): an object or array collects the issues of all
 * its members; a type mismatch ends the checks of that value ("aborts"), except length checks, which zod
 * runs on anything with a length; a failed refinement (too short, pattern, too big) does not abort; a union
 * that fails returns the issues of its only non-aborted option, else one "Invalid input".
 */

export type PathKey = string | number

export interface Issue {
  path: PathKey[]
  message: string
  /** A type mismatch: nothing else was checked about this value. */
  aborted: boolean
}

/** Checks `value` at `path`, pushing issues; returns the value to keep (unknown keys stripped). */
export type Check<T> = (value: unknown, path: PathKey[], issues: Issue[]) => T

const OPTIONAL = Symbol('optional')
type Optional<T> = Check<T | undefined> & {[OPTIONAL]: true}

/** zod's name for the type of a JSON value in "received ..." messages. */
function received(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  // Infinity is what JSON.parse makes of 1e400; zod names it by value.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  return typeof value
}

function typeIssue(issues: Issue[], path: PathKey[], expected: string, value: unknown): void {
  issues.push({path, message: `Invalid input: expected ${expected}, received ${received(value)}`, aborted: true})
}

export function string(options: {min?: number; pattern?: RegExp; patternMessage?: string} = {}): Check<string> {
  return (value, path, issues) => {
    if (typeof value !== 'string') {
      typeIssue(issues, path, 'string', value)
      // zod runs its length checks on anything that has a length, even after the type failed.
      // zod runs them on anything whose `length` is not undefined, as `!(length >= min)`: a JSON object with a
      // `length` member ({"length": null}) fails it too, named "unknown".
      if (options.min !== undefined && value !== null && typeof value === 'object') {
        const length = (value as {length?: unknown}).length
        if (length !== undefined && !((length as number) >= options.min)) {
          const message = Array.isArray(value) ? `Too small: expected array to have >=${options.min} items` : `Too small: expected unknown to be >=${options.min}`
          issues.push({path, message, aborted: false})
        }
      }
      return value as string
    }
    if (options.min !== undefined && value.length < options.min) {
      issues.push({path, message: `Too small: expected string to have >=${options.min} characters`, aborted: false})
    }
    if (options.pattern && !options.pattern.test(value)) {
      issues.push({path, message: options.patternMessage ?? `Invalid string: must match pattern ${options.pattern}`, aborted: false})
    }
    return value
  }
}

/** zod's `z.number().int().nonnegative()`. */
export function nonNegativeInteger(): Check<number> {
  return (value, path, issues) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      typeIssue(issues, path, 'number', value)
      return value as number
    }
    if (!Number.isInteger(value)) {
      issues.push({path, message: `Invalid input: expected int, received number`, aborted: true})
      return value
    }
    if (value > Number.MAX_SAFE_INTEGER) issues.push({path, message: `Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}`, aborted: false})
    if (value < Number.MIN_SAFE_INTEGER) issues.push({path, message: `Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}`, aborted: false})
    if (value < 0) issues.push({path, message: 'Too small: expected number to be >=0', aborted: false})
    return value
  }
}

export function union<A, B>(a: Check<A>, b: Check<B>): Check<A | B> {
  return (value, path, issues) => {
    const results = [a, b].map((option) => {
      const own: Issue[] = []
      const kept = option(value, path, own)
      return {kept, own}
    })
    const passed = results.find((r) => r.own.length === 0)
    if (passed) return passed.kept
    const open = results.filter((r) => !r.own.some((issue) => issue.aborted))
    if (open.length === 1) {
      issues.push(...open[0]!.own)
      return open[0]!.kept
    }
    issues.push({path, message: 'Invalid input', aborted: false})
    return value as A | B
  }
}

export function optional<T>(check: Check<T>): Optional<T> {
  const wrapped = ((value, path, issues) => (value === undefined ? undefined : check(value, path, issues))) as Optional<T>
  wrapped[OPTIONAL] = true
  return wrapped
}

export function nullable<T>(check: Check<T>): Check<T | null> {
  return (value, path, issues) => (value === null ? null : check(value, path, issues))
}

const ANY = Symbol('any')

/** Any value, but present: zod 4's `z.unknown()` as an object member is required. */
export function unknown(): Check<unknown> {
  const check = ((value: unknown) => value) as unknown as Check<unknown> & {[ANY]: true}
  check[ANY] = true
  return check
}

export function array<T>(item: Check<T>): Check<T[]> {
  return (value, path, issues) => {
    if (!Array.isArray(value)) {
      typeIssue(issues, path, 'array', value)
      return value as T[]
    }
    return value.map((element, index) => item(element, [...path, index], issues))
  }
}

type Shape = Record<string, Check<unknown>>
type Output<S extends Shape> = {[K in keyof S as S[K] extends Optional<unknown> ? never : K]: S[K] extends Check<infer T> ? T : never} & {
  [K in keyof S as S[K] extends Optional<unknown> ? K : never]?: S[K] extends Check<infer T> ? Exclude<T, undefined> : never
}

export function object<S extends Shape>(shape: S): Check<Output<S>> {
  const keys = Object.keys(shape)
  return (value, path, issues) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      typeIssue(issues, path, 'object', value)
      return value as Output<S>
    }
    const input = value as Record<string, unknown>
    const kept: Record<string, unknown> = {}
    for (const key of keys) {
      const check = shape[key]!
      if (!Object.hasOwn(input, key)) {
        if (OPTIONAL in check) continue
        // A missing member is checked as undefined ("expected string, received undefined"), except that
        // zod names a missing unknown() "nonoptional".
        if (ANY in check) issues.push({path: [...path, key], message: 'Invalid input: expected nonoptional, received undefined', aborted: true})
        else check(undefined, [...path, key], issues)
        continue
      }
      kept[key] = check(input[key], [...path, key], issues)
    }
    return kept as Output<S>
  }
}

/** Runs a check; the value (stripped) when there were no issues. */
export function safeParse<T>(check: Check<T>, value: unknown): {success: true; data: T} | {success: false; issues: Issue[]} {
  const issues: Issue[] = []
  const data = check(value, [], issues)
  return issues.length === 0 ? {success: true, data} : {success: false, issues}
}
