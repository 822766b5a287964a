import {describe, expect, it} from 'vitest'

// @ts-expect-error plain ESM script without type declarations
import {formatTable, formatValue, quantile, ratio, runsFor, summarize} from '../../scripts/bench/stats.mjs'

describe('bench statistics', () => {
  it.each([
    ['odd count takes the middle value', [5, 1, 3], {median: 3, min: 1, max: 5, n: 3}],
    ['even count averages the two middle values', [4, 1, 3, 2], {median: 2.5, min: 1, max: 4, n: 4}],
    ['a single sample is its own median', [7], {median: 7, min: 7, max: 7, n: 1}],
    ['non-finite samples (failed runs) are ignored', [2, Number.NaN, 4, Number.POSITIVE_INFINITY], {median: 3, min: 2, max: 4, n: 2}],
  ])('summarize: %s', (_name, samples, expected) => {
    expect(summarize(samples)).toEqual(expected)
  })

  it('summarize of no samples is NaN with n = 0, so a skipped figure cannot pass for zero', () => {
    const s = summarize([])
    expect(s.n).toBe(0)
    expect(Number.isNaN(s.median)).toBe(true)
  })

  it('summarize does not reorder the caller’s samples', () => {
    const samples = [3, 1, 2]
    summarize(samples)
    expect(samples).toEqual([3, 1, 2])
  })

  it.each([
    [0.5, 50.5],
    [0.95, 95.05],
    [0, 1],
    [1, 100],
  ])('quantile %s of 1..100 interpolates between ranks', (q, expected) => {
    const samples = Array.from({length: 100}, (_, i) => 100 - i)
    expect(quantile(samples, q)).toBeCloseTo(expected, 10)
  })

  it('ratio divides by the baseline and refuses a zero or missing baseline', () => {
    expect(ratio(250, 100)).toBe(2.5)
    expect(Number.isNaN(ratio(1, 0))).toBe(true)
    expect(Number.isNaN(ratio(1, Number.NaN))).toBe(true)
    expect(Number.isNaN(ratio(undefined as unknown as number, 1))).toBe(true)
  })

  it.each([
    ['slow runs hit the minimum', 2000, 3],
    ['fast runs hit the maximum', 0.1, 25],
    ['in between, as many as the budget holds', 100, 15],
  ])('runsFor: %s', (_name, oneRunMs, expected) => {
    expect(runsFor(oneRunMs, {budgetMs: 1500, min: 3, max: 25})).toBe(expected)
  })

  it.each([
    [1234.5, 'ms', '1235 ms'],
    [12.345, 'ms', '12.3 ms'],
    [1.2345, 'ms', '1.23 ms'],
    [2.5, 'x', '2.50x'],
    [Number.NaN, 'x', '-'],
    [undefined, 'MiB', '-'],
    [10.26, 'MiB', '10.3 MiB'],
  ])('formatValue(%s, %s) is %s', (value, unit, expected) => {
    expect(formatValue(value, unit)).toBe(expected)
  })

  it('formatTable pads columns to the widest cell and right-aligns numeric columns', () => {
    const table = formatTable(
      ['name', 'ms'],
      [
        ['a', '1.5'],
        ['longer', '12.25'],
      ],
    )
    expect(table.split('\n')).toEqual(['name       ms', '------  -----', 'a         1.5', 'longer  12.25'])
  })
})
