/** The overall deadline's pure parts: reading durations, naming them, and a clock that can be paused. */
import {describe, expect, it} from 'vitest'

import {DEFAULT_TIMEOUT_MS, createDeadline, formatDuration, parseDuration, parseTimeFlag, resolveTimeout} from '../../src/lib/deadline.js'
import {OnaError} from '../../src/lib/errors.js'

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['1500ms', 1500],
    ['1.5s', 1500],
    ['1h', 3_600_000],
    ['90', 90_000],
    ['0.5', 500],
    [' 45S ', 45_000],
    ['0', undefined],
    ['0s', undefined],
    ['none', undefined],
    ['off', undefined],
    ['never', undefined],
  ])('reads %j as %j ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each(['', 'soon', '-5', '5x', '1m-2s', 's', '1e3', 'Infinity', '10 s'])('refuses %j as a usage error naming the source', (text) => {
    const error = (() => {
      try {
        parseDuration(text, 'ONA_TIMEOUT')
      } catch (e) {
        return e
      }
      return undefined
    })()
    expect(error).toBeInstanceOf(OnaError)
    expect((error as OnaError).code).toBe('ERR_USAGE')
    expect((error as OnaError).exitCode).toBe(2)
    expect((error as OnaError).message).toMatch(/^ONA_TIMEOUT must be a duration/)
  })

  it('regression: a duration past what a Node timer holds is capped, not a timer that fires at once', () => {
    expect(parseDuration('1000h')).toBe(2 ** 31 - 1)
    expect(createDeadline(parseDuration('1000h')!).remaining()).toBeGreaterThan(24 * 86_400_000)
  })

  it('never reads a tiny duration as none (1ms stays a deadline)', () => {
    expect(parseDuration('0.0001')).toBe(1)
  })
})

describe('resolveTimeout', () => {
  it.each([
    ['the flag wins over the variable', '5s', {ONA_TIMEOUT: '9s'}, {budgetMs: 5000, source: '--timeout'}],
    ['the variable without the flag', undefined, {ONA_TIMEOUT: '9s'}, {budgetMs: 9000, source: 'ONA_TIMEOUT'}],
    ['an empty variable is no variable', undefined, {ONA_TIMEOUT: ' '}, {budgetMs: DEFAULT_TIMEOUT_MS, source: 'default --timeout'}],
    ['the default', undefined, {}, {budgetMs: 60_000, source: 'default --timeout'}],
    ['0 means no deadline', '0', {}, {budgetMs: undefined, source: '--timeout'}],
  ])('%s', (_name, flag, env, expected) => {
    expect(resolveTimeout(flag, env)).toEqual(expected)
  })

  it('names the variable, not a flag it does not have, for the ProxyCommand', () => {
    expect(resolveTimeout(undefined, {}, {hasFlag: false})).toEqual({budgetMs: 60_000, source: 'default ONA_TIMEOUT'})
  })
})

describe('formatDuration', () => {
  it.each([
    [500, '500ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [600_000, '10m'],
    [61_500, '61.5s'],
  ])('%d ms is %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })
})

describe('createDeadline', () => {
  function fakeClock(start = 1000) {
    let t = start
    return {now: () => t, advance: (ms: number) => void (t += ms)}
  }

  it('counts down on its clock and never goes below zero', () => {
    const clock = fakeClock()
    const d = createDeadline(2000, {now: clock.now})
    expect(d.remaining()).toBe(2000)
    clock.advance(1500)
    expect(d.remaining()).toBe(500)
    expect(d.expired()).toBe(false)
    clock.advance(600)
    expect(d.remaining()).toBe(0)
    expect(d.expired()).toBe(true)
  })

  it('stops counting while paused (nested pauses count once) and goes on after', async () => {
    const clock = fakeClock()
    const d = createDeadline(2000, {now: clock.now})
    clock.advance(500)
    await d.paused(async () => {
      clock.advance(10_000)
      expect(d.remaining()).toBe(1500)
      await d.paused(async () => clock.advance(5000))
      expect(d.remaining()).toBe(1500)
    })
    expect(d.remaining()).toBe(1500)
    clock.advance(1000)
    expect(d.remaining()).toBe(500)
  })

  it('resumes the clock when the paused work fails', async () => {
    const clock = fakeClock()
    const d = createDeadline(1000, {now: clock.now})
    await expect(
      d.paused(async () => {
        clock.advance(5000)
        throw new Error('typed wrong')
      }),
    ).rejects.toThrow('typed wrong')
    clock.advance(400)
    expect(d.remaining()).toBe(600)
  })

  it('builds ERR_DEADLINE_EXCEEDED naming what was waited for, the budget and where it came from', () => {
    const error = createDeadline(60_000, {source: 'ONA_TIMEOUT'}).error('ListEnvironments on https://app.ona.com did not answer', {rpc: 'ListEnvironments'})
    expect(error.code).toBe('ERR_DEADLINE_EXCEEDED')
    expect(error.exitCode).toBe(1)
    expect(error.message).toBe('ListEnvironments on https://app.ona.com did not answer within 1m (ONA_TIMEOUT)')
    expect(error.hint).toContain('--timeout')
    expect(error.toJSON().details).toEqual({rpc: 'ListEnvironments', timeoutMs: 60_000})
  })

  it('points the hint at its own flag (the start wait of ona ssh)', () => {
    expect(createDeadline(1000, {flag: '--start-timeout'}).error('x').hint).toMatch(/^Raise --start-timeout/)
  })
})

describe('parseTimeFlag: the one syntax of every time flag', () => {
  it.each([
    ['90', 90_000],
    ['90s', 90_000],
    ['1500ms', 1500],
    ['2m', 120_000],
    ['1m30s', 90_000],
    [' 10M ', 600_000],
  ])('reads %j as %d ms (a plain number is seconds)', (text, ms) => {
    expect(parseTimeFlag(text, '--start-timeout')).toEqual({ms})
  })

  it('reads an old plain-milliseconds value as milliseconds with a note, where the flag took milliseconds', () => {
    expect(parseTimeFlag('3000', '--preflight-timeout', {legacyMs: true})).toEqual({ms: 3000, note: expect.stringMatching(/^--preflight-timeout 3000: a plain number means seconds now.*read as 3000ms as before \(write 3000ms or 3s\)$/)})
    expect(parseTimeFlag('3', '--preflight-timeout', {legacyMs: true})).toEqual({ms: 3000})
    // Without legacyMs, 3000 is seconds.
    expect(parseTimeFlag('3000', '--start-timeout')).toEqual({ms: 3_000_000})
  })

  it.each([
    ['soon', '--interval', {minMs: 10_000}, /^--interval soon: give a duration of at least 10s/],
    ['5', '--interval', {minMs: 10_000}, /^--interval 5: give a duration of at least 10s/],
    ['11m', '--timeout', {maxMs: 600_000}, /^--timeout 11m: give a duration between 1ms and 10m/],
    ['1h', '--timeout', {}, /^--timeout 1h: give a duration/],
    ['-1', '--timeout', {}, /^--timeout -1: give a duration/],
    ['ona_pat_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA', '--interval', {}, /^--interval: give a duration/],
  ])('refuses %j for %s as a usage error (exit 2), never echoing a secret-looking value', (text, flag, options, message) => {
    let error: unknown
    try {
      parseTimeFlag(text, flag, options)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(OnaError)
    expect((error as OnaError).code).toBe('ERR_USAGE')
    expect((error as OnaError).exitCode).toBe(2)
    expect((error as OnaError).message).toMatch(message)
    expect((error as OnaError).message).not.toContain('ona_pat_')
  })
})
