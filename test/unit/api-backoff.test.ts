import {describe, expect, it} from 'vitest'

import {backoffDelay, parseRetryAfter} from '../../src/lib/api/backoff.js'

describe('backoffDelay', () => {
  const options = {baseMs: 1000, maxMs: 32_000, jitter: 0.5}

  it.each([
    [1, 500, 1000],
    [2, 1000, 2000],
    [3, 2000, 4000],
    [6, 16_000, 32_000],
    [7, 16_000, 32_000],
    [50, 16_000, 32_000],
  ])('keeps attempt %i between %i and %i ms', (attempt, low, high) => {
    expect(backoffDelay(attempt, options, () => 0)).toBe(low)
    expect(backoffDelay(attempt, options, () => 0.999_999)).toBeLessThanOrEqual(high)
    expect(backoffDelay(attempt, options, () => 0.999_999)).toBeGreaterThan(high - 2)
  })

  it('spreads clients apart with jitter', () => {
    const seen = new Set(Array.from({length: 20}, (_, i) => backoffDelay(3, options, () => i / 20)))
    expect(seen.size).toBe(20)
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')

  it.each([
    ['delta seconds', '3', 3000],
    ['fractional seconds', '1.5', 1500],
    ['zero', '0', 0],
    ['an HTTP date', 'Thu, 01 Jan 2026 00:00:10 GMT', 10_000],
    ['a date in the past', 'Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['an array (first wins)', ['2', '9'], 2000],
  ])('reads %s', (_, value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected)
  })

  it.each([[undefined], [''], ['soon'], ['-5']])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined()
  })
})
